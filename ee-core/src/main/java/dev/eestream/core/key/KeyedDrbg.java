package dev.eestream.core.key;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 in counter mode, keyed by the 256-bit secret and domain-separated by purpose and size.
 * Block {@code i} is {@code HMAC(secret, "eestream/drbg/v1" 0x00 purpose 0x00 size(8) i(8))}.
 * Deterministic: the same secret, purpose and size give the same stream on every machine.
 */
final class KeyedDrbg {
    private static final byte[] LABEL = "eestream/drbg/v1".getBytes(StandardCharsets.US_ASCII);

    private final Mac mac;
    private final byte[] prefix;
    private long counter;
    private byte[] block = new byte[0];
    private int offset;

    KeyedDrbg(byte[] secret, String purpose, long size) {
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
        byte[] purposeBytes = purpose.getBytes(StandardCharsets.UTF_8);
        prefix = ByteBuffer.allocate(LABEL.length + 1 + purposeBytes.length + 1 + Long.BYTES)
                .put(LABEL).put((byte) 0).put(purposeBytes).put((byte) 0).putLong(size).array();
    }

    /** A uniformly distributed int in {@code [0, bound)}, by rejection sampling of 32-bit words. */
    int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive");
        }
        long range = 1L << 32;
        long limit = range - (range % bound);
        while (true) {
            long word = nextWord();
            if (word < limit) {
                return (int) (word % bound);
            }
        }
    }

    /** Fisher–Yates over the identity, driven by this stream. */
    Permutation permutation(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return Permutation.trusted(a);
    }

    private long nextWord() {
        if (offset + 4 > block.length) {
            mac.update(prefix);
            mac.update(ByteBuffer.allocate(Long.BYTES).putLong(counter++).array());
            block = mac.doFinal();
            offset = 0;
        }
        long word = ((block[offset] & 0xFFL) << 24) | ((block[offset + 1] & 0xFFL) << 16)
                | ((block[offset + 2] & 0xFFL) << 8) | (block[offset + 3] & 0xFFL);
        offset += 4;
        return word;
    }
}
