package dev.eestream.core.key;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A client's secret: 256 random bits from which π, ρ and σ are derived, plus a public key id.
 * The secret never leaves the trusted side: it is never logged and never written to a server artifact.
 */
public final class EeKey {
    public static final int SECRET_BYTES = 32;

    private final byte[] secret;
    private final String keyId;

    private EeKey(byte[] secret) {
        if (secret.length != SECRET_BYTES) {
            throw new IllegalArgumentException("an eestream secret is " + SECRET_BYTES + " bytes, got " + secret.length);
        }
        this.secret = secret.clone();
        this.keyId = deriveKeyId(this.secret);
    }

    /** A fresh key from {@link SecureRandom}. */
    public static EeKey generate() {
        byte[] secret = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(secret);
        return new EeKey(secret);
    }

    /** Wraps existing secret bytes (a copy is kept). */
    public static EeKey fromSecret(byte[] secret) {
        return new EeKey(secret);
    }

    /** The public identifier of this key: safe to put in manifests and logs. */
    public String keyId() {
        return keyId;
    }

    /** The permutation of the given kind over {@code [0, size)}; the same on every machine. */
    public Permutation permutation(PermutationKind kind, int size) {
        return new KeyedDrbg(secret, kind.domain(), size).permutation(size);
    }

    public Permutation vocabPermutation(int vocabSize) {
        return permutation(PermutationKind.VOCAB, vocabSize);
    }

    public Permutation hiddenPermutation(int hiddenSize) {
        return permutation(PermutationKind.HIDDEN, hiddenSize);
    }

    /**
     * The map between tokens and ciphertext ids: Π over the {@link Homophones#slotCount()} slots. Without
     * homophones (one slot per token) Π is {@link #vocabPermutation}, so such models and clients keep their ids.
     */
    public CipherVocabulary vocabulary(Homophones homophones) {
        return new CipherVocabulary(vocabPermutation(homophones.slotCount()), homophones, new SecureRandom());
    }

    public Permutation labelPermutation(int labelCount) {
        return permutation(PermutationKind.LABELS, labelCount);
    }

    /** A copy of the secret, for the key file writer only. */
    byte[] secretBytes() {
        return secret.clone();
    }

    boolean sameSecret(EeKey other) {
        return MessageDigest.isEqual(secret, other.secret);
    }

    private static String deriveKeyId(byte[] secret) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            byte[] digest = mac.doFinal("eestream/key-id/v1".getBytes(StandardCharsets.US_ASCII));
            return "eek-" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EeKey k && sameSecret(k);
    }

    @Override
    public int hashCode() {
        return keyId.hashCode();
    }

    @Override
    public String toString() {
        return "EeKey[" + keyId + "]";
    }
}
