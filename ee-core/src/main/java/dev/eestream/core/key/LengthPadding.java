package dev.eestream.core.key;

import dev.eestream.runtime.EeException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

/**
 * Pads a ciphertext request to its length bucket with filler ids after its end token. The processor cuts a request
 * after its first end id, so the filler never reaches the model. The filler is drawn to look like the request:
 * a token with the weight its homophones give it beyond the first (proportional allotment follows the client's
 * corpus frequencies, so the filler's tokens follow them too; without homophones every token weighs the same), then
 * one of its ids at random. The start token ({@code [CLS]}), which only ever stands first, is never filler.
 */
public final class LengthPadding {
    private final CipherVocabulary vocab;
    private final int startToken;
    private final int endToken;
    private final int[] buckets;
    /** Cumulative token weights: token t is drawn when a uniform draw in [0, total) falls in [cumulative[t-1], cumulative[t]). */
    private final long[] cumulative;
    private final RandomGenerator random;

    /**
     * @param buckets    rising request lengths; a request longer than the last goes out unpadded
     * @param startToken the plaintext id the tokenizer puts first ({@code [CLS]})
     * @param endToken   the plaintext id it puts last ({@code [SEP]}), whose ciphertext ids end a request
     */
    public LengthPadding(CipherVocabulary vocab, int[] buckets, int startToken, int endToken) {
        this(vocab, buckets, startToken, endToken, new SecureRandom());
    }

    LengthPadding(CipherVocabulary vocab, int[] buckets, int startToken, int endToken, RandomGenerator random) {
        this.vocab = vocab;
        this.buckets = buckets.clone();
        this.startToken = startToken;
        this.endToken = endToken;
        this.random = random;
        Homophones h = vocab.homophones();
        boolean weighted = h.any();
        cumulative = new long[h.vocabSize()];
        long total = 0;
        for (int t = 0; t < cumulative.length; t++) {
            total += t == startToken ? 0 : weighted ? h.count(t) - 1 : 1;
            cumulative[t] = total;
        }
        if (total == 0) {
            throw new EeException("no token can be filler: every token but the start token has one id");
        }
    }

    /**
     * The request padded to its bucket.
     *
     * @param plainIds  the request's plaintext ids, to check that its end token stands only last
     * @param cipherIds their ciphertext ids
     */
    public long[] pad(long[] plainIds, long[] cipherIds) {
        int last = plainIds.length - 1;
        if (last < 0 || plainIds[last] != endToken) {
            throw new EeException("with length buckets a request must end with the tokenizer's end token (id " + endToken
                    + ")");
        }
        for (int i = 0; i < last; i++) {
            if (plainIds[i] == endToken) {
                throw new EeException("the text holds the end token (id " + endToken + ") at position " + i + ", before its "
                        + "end: with length buckets the processor would cut the request there; remove it from the text");
            }
        }
        int target = target(cipherIds.length);
        long[] out = Arrays.copyOf(cipherIds, target);
        for (int i = cipherIds.length; i < target; i++) {
            out[i] = vocab.encrypt(fillerToken());
        }
        return out;
    }

    /** The padded length of a request of {@code length} tokens. */
    public int target(int length) {
        return target(buckets, length);
    }

    /** The smallest of the rising {@code buckets} that holds {@code length} tokens, or {@code length} itself. */
    public static int target(int[] buckets, int length) {
        for (int size : buckets) {
            if (size >= length) {
                return size;
            }
        }
        return length;
    }

    /** The buckets a request of at most {@code maxLength} tokens can take: those under it, and the maximum itself. */
    public static int[] upTo(int[] buckets, int maxLength) {
        return IntStream.concat(Arrays.stream(buckets).filter(b -> b < maxLength), IntStream.of(maxLength)).toArray();
    }

    /** Plaintext ids without the filler: up to and including the first end token. */
    public long[] withoutFiller(long[] plainIds) {
        for (int i = 0; i < plainIds.length; i++) {
            if (plainIds[i] == endToken) {
                return Arrays.copyOf(plainIds, i + 1);
            }
        }
        return plainIds;
    }

    /** A filler token, drawn by weight. */
    int fillerToken() {
        long u = random.nextLong(cumulative[cumulative.length - 1]);
        int i = Arrays.binarySearch(cumulative, u);
        // The token whose range [cumulative[t-1], cumulative[t]) holds u: the first with cumulative[t] > u.
        int t = i >= 0 ? i : -i - 1;
        while (cumulative[t] <= u) {
            t++;
        }
        return t;
    }

    public int startToken() {
        return startToken;
    }

    public int endToken() {
        return endToken;
    }
}
