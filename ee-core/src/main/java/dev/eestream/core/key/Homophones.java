package dev.eestream.core.key;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * How many ciphertext ids ("homophones") each plaintext token has: token t owns k_t ≥ 1 slots, laid out in
 * token order, slot {@code offset(t) + j} for j &lt; k_t. A key's permutation Π over all slots turns a slot into a
 * ciphertext id (see {@link CipherVocabulary}). Frequent tokens get more slots, so that every ciphertext id
 * is about equally frequent in traffic and counting ids says little. One slot per token is plain π.
 *
 * <p>The counts are client-side material: they are written to the client profile, never to the server.
 */
public final class Homophones {
    private final int[] counts;
    private final int[] offsets;
    private final int slotCount;

    private Homophones(int[] counts) {
        this.counts = counts;
        this.offsets = new int[counts.length];
        long total = 0;
        for (int t = 0; t < counts.length; t++) {
            if (counts[t] < 1) {
                throw new IllegalArgumentException("token " + t + " has " + counts[t] + " homophones; every token needs at least 1");
            }
            offsets[t] = Math.toIntExact(total);
            total += counts[t];
        }
        if (total > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("too many homophones: " + total);
        }
        this.slotCount = (int) total;
    }

    /** The given counts, one per plaintext token (a copy is kept). */
    public static Homophones of(int[] counts) {
        if (counts.length == 0) {
            throw new IllegalArgumentException("a vocabulary has at least one token");
        }
        return new Homophones(counts.clone());
    }

    /** One slot per token: plain π. */
    public static Homophones none(int vocabSize) {
        int[] ones = new int[vocabSize];
        Arrays.fill(ones, 1);
        return new Homophones(ones);
    }

    /** {@code perToken} slots for every token. */
    public static Homophones uniform(int vocabSize, int perToken) {
        requirePerToken(perToken);
        int[] counts = new int[vocabSize];
        Arrays.fill(counts, perToken);
        return new Homophones(counts);
    }

    /**
     * About {@code perToken}·V slots in all, shared in proportion to {@code frequencies} (a token's count in a
     * corpus): k_t = 1 + floor(extra·f_t / Σf) with extra = (perToken − 1)·V, the remainder going to the
     * largest fractional parts. Every token keeps at least one slot; a token never seen keeps exactly one.
     */
    public static Homophones proportional(long[] frequencies, int perToken) {
        requirePerToken(perToken);
        int v = frequencies.length;
        long sum = 0;
        for (long f : frequencies) {
            if (f < 0) {
                throw new IllegalArgumentException("a frequency cannot be negative");
            }
            sum += f;
        }
        if (sum == 0) {
            return uniform(v, perToken);
        }
        long extra = (long) (perToken - 1) * v;
        int[] counts = new int[v];
        double[] remainder = new double[v];
        long given = 0;
        for (int t = 0; t < v; t++) {
            double share = (double) extra * frequencies[t] / sum;
            long whole = (long) Math.floor(share);
            counts[t] = Math.toIntExact(1 + whole);
            remainder[t] = share - whole;
            given += whole;
        }
        int[] byRemainder = IntStream.range(0, v).boxed()
                .sorted(Comparator.<Integer>comparingDouble(t -> -remainder[t]).thenComparingInt(t -> t))
                .mapToInt(Integer::intValue).toArray();
        for (int i = 0; given < extra && i < v; i++, given++) {
            counts[byRemainder[i]]++;
        }
        return new Homophones(counts);
    }

    private static void requirePerToken(int perToken) {
        if (perToken < 1 || perToken > 1024) {
            throw new IllegalArgumentException("homophones per token must be between 1 and 1024, got " + perToken);
        }
    }

    /** V: the plaintext vocabulary's size. */
    public int vocabSize() {
        return counts.length;
    }

    /** V′ = Σ k_t: the ciphertext vocabulary's size. */
    public int slotCount() {
        return slotCount;
    }

    public int count(int token) {
        return counts[token];
    }

    public int offset(int token) {
        return offsets[token];
    }

    /** Whether any token has more than one slot. */
    public boolean any() {
        return slotCount != counts.length;
    }

    public int[] counts() {
        return counts.clone();
    }

    /** The token of every slot, in slot order: what expands a table of V rows to V′. */
    public int[] tokenOfSlot() {
        int[] out = new int[slotCount];
        for (int t = 0; t < counts.length; t++) {
            Arrays.fill(out, offsets[t], offsets[t] + counts[t], t);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Homophones h && Arrays.equals(counts, h.counts);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
        // The counts follow a corpus's token frequencies: keep them out of logs.
        return "Homophones[vocab=" + counts.length + ", slots=" + slotCount + "]";
    }
}
