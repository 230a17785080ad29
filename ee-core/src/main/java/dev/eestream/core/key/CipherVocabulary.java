package dev.eestream.core.key;

import java.security.SecureRandom;
import java.util.random.RandomGenerator;

/**
 * A key's map between plaintext tokens and ciphertext ids. Token t owns the slots of {@link Homophones}; a
 * slot s is sent as ciphertext id Π(s), with Π the key's vocabulary permutation over all V′ slots. Encrypting
 * picks one of t's slots at random for each occurrence, so equal texts encrypt differently; decrypting maps any
 * of them back to t. With one slot per token, Π is the key's π and encryption is deterministic, as it always was.
 */
public final class CipherVocabulary {
    private final Permutation slots;
    private final Homophones homophones;
    private final int[] tokenOfSlot;
    private final RandomGenerator random;

    CipherVocabulary(Permutation slots, Homophones homophones, RandomGenerator random) {
        if (slots.size() != homophones.slotCount()) {
            throw new IllegalArgumentException("Π has " + slots.size() + " entries for " + homophones.slotCount() + " slots");
        }
        this.slots = slots;
        this.homophones = homophones;
        this.tokenOfSlot = homophones.tokenOfSlot();
        this.random = random;
    }

    /** Plaintext ids: no key, one slot per token. */
    public static CipherVocabulary identity(int vocabSize) {
        return new CipherVocabulary(Permutation.identity(vocabSize), Homophones.none(vocabSize), new SecureRandom());
    }

    /** V′: ids the model accepts and emits. */
    public int size() {
        return slots.size();
    }

    /** V: the plaintext tokenizer's ids. */
    public int plainSize() {
        return homophones.vocabSize();
    }

    public Homophones homophones() {
        return homophones;
    }

    /** A ciphertext id of token t: one of its homophones at random. */
    public long encrypt(int token) {
        int k = homophones.count(token);
        int j = k == 1 ? 0 : random.nextInt(k);
        return slots.apply(homophones.offset(token) + j);
    }

    /** The ciphertext id of token t's first slot: the same every time (padding, where the model needs one id). */
    public long encryptFirst(int token) {
        return slots.apply(homophones.offset(token));
    }

    /** Every ciphertext id of token t (its stop ids, for a generation). */
    public long[] cipherIdsOf(int token) {
        long[] out = new long[homophones.count(token)];
        for (int j = 0; j < out.length; j++) {
            out[j] = slots.apply(homophones.offset(token) + j);
        }
        return out;
    }

    /** The plaintext token of ciphertext id c; the caller checks that c is in [0, {@link #size()}). */
    public int decrypt(int cipherId) {
        return tokenOfSlot[slots.invert(cipherId)];
    }

    /** Π: the permutation of the slots. */
    public Permutation slotPermutation() {
        return slots;
    }

    @Override
    public String toString() {
        return "CipherVocabulary[size=" + size() + ", tokens=" + plainSize() + "]";
    }
}
