package dev.eestream.processor.generation;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses a sequence's next id from its logits: the argmax when the temperature is 0, else a draw
 * at that temperature among the top-k ids and the top-p nucleus. Every rule depends only on the
 * multiset of logits, never on the order of the vocabulary, so in an EE model's ciphertext space it
 * draws from the plaintext model's distribution. One sampler per request, seeded: the same request
 * draws the same ids, whatever it is batched with.
 *
 * <p>A model with homophones gives each token several ids with bit-identical logits, and its manifest says how many
 * ids share each id's token (the multiplicities m). The sampler then draws tokens, not ids: an id weighs
 * exp(l/T)/m, so a token's ids together weigh what the token does in the plaintext model; top-k counts an id as 1/m
 * of a token; a top-p cut takes the last token's ids whole; greedy picks one of the top token's ids at random. The
 * only departure from plaintext: distinct tokens with bit-equal logits are not told apart (both kept at a top-k or
 * top-p cut; either drawn at the top of a greedy step).
 */
final class TokenSampler {
    private final DecodingParams params;
    private final SplittableRandom random;
    private final int[] multiplicities;
    private final int maxMultiplicity;

    TokenSampler(DecodingParams params) {
        this(params, null);
    }

    /** @param multiplicities per id, how many ids share its token (a model with homophones); null for one each */
    TokenSampler(DecodingParams params, int[] multiplicities) {
        this.params = params;
        this.multiplicities = multiplicities;
        this.maxMultiplicity = multiplicities == null ? 1 : java.util.Arrays.stream(multiplicities).max().orElse(1);
        // Not java.util.Random: its first draws for nearby seeds (1, 2, 3 …) are nearly equal, so requests
        // with consecutive seeds would all draw alike. SplittableRandom mixes the seed first.
        this.random = new SplittableRandom(params.seed());
    }

    long next(float[] logits) {
        if (params.greedy()) {
            return multiplicities != null ? anyArgmax(logits) : argmax(logits);
        }
        return sample(logits);
    }

    /** One of the ids with the largest logit, at random: the top token, by one of its homophones. */
    private long anyArgmax(float[] logits) {
        float max = logits[argmax(logits)];
        int ties = 0;
        for (float l : logits) {
            ties += l == max ? 1 : 0;
        }
        int pick = ties == 1 ? 0 : random.nextInt(ties);
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] == max && pick-- == 0) {
                return i;
            }
        }
        throw new IllegalStateException("no maximum among " + logits.length + " logits");
    }

    /** {@code kept} extended over the ids with the same logit as the last kept one: a token's ids go together. */
    private static int completeToken(float[] logits, int[] order, int kept) {
        int end = kept;
        while (end > 0 && end < order.length && logits[order[end]] == logits[order[kept - 1]]) {
            end++;
        }
        return end;
    }

    /** The first of equal maxima, as {@code DecoderState.argmax} picks. */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** A draw at the temperature among the top-k and top-p; with homophones over tokens (see the class comment). */
    private long sample(float[] logits) {
        int topK = params.topK();
        boolean tokens = multiplicities != null;
        int[] order = mostLikelyFirst(logits, tokens && topK > 0 ? (int) Math.min(logits.length, (long) topK * maxMultiplicity)
                : topK);
        int kept = order.length;
        if (tokens && topK > 0) {
            double counted = 0;
            int r = 0;
            while (r < order.length && counted < topK - 1e-9) {
                counted += 1.0 / multiplicities[order[r++]];
            }
            kept = completeToken(logits, order, r);
        }
        double max = logits[order[0]];
        double[] weights = new double[kept];
        double total = 0;
        for (int r = 0; r < kept; r++) {
            weights[r] = Math.exp((logits[order[r]] - max) / params.temperature()) / (tokens ? multiplicities[order[r]] : 1);
            total += weights[r];
        }
        if (params.topP() < 1f) {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < kept && cumulative < params.topP() * total) {
                cumulative += weights[nucleus++];
            }
            int end = tokens ? Math.min(kept, completeToken(logits, order, Math.max(1, nucleus))) : Math.max(1, nucleus);
            for (int r = nucleus; r < end; r++) {
                cumulative += weights[r];
            }
            kept = end;
            total = cumulative > 0 ? cumulative : weights[0];
        }
        double u = random.nextDouble() * total;
        for (int r = 0; r < kept; r++) {
            u -= weights[r];
            if (u < 0) {
                return order[r];
            }
        }
        return order[kept - 1];
    }

    /**
     * Ids by falling logit, equal logits in id order, so the draw is repeatable; only the first {@code topK}
     * when it is set. The order is that of a sort on (−logit, id), computed on primitive keys: a vocabulary of
     * 128k ids sorts in milliseconds, and a top-k keeps only k in a heap.
     */
    static int[] mostLikelyFirst(float[] logits, int topK) {
        int n = logits.length;
        int k = topK > 0 ? Math.min(topK, n) : n;
        long[] keys;
        if (k < n / 4) {
            // A max-heap of the k smallest keys seen so far (the most likely ids).
            keys = new long[k];
            int size = 0;
            for (int id = 0; id < n; id++) {
                long key = key(logits[id], id);
                if (size < k) {
                    keys[size] = key;
                    siftUp(keys, size++);
                } else if (key < keys[0]) {
                    keys[0] = key;
                    siftDown(keys, k);
                }
            }
        } else {
            keys = new long[n];
            for (int id = 0; id < n; id++) {
                keys[id] = key(logits[id], id);
            }
        }
        Arrays.sort(keys);
        int[] order = new int[k];
        for (int r = 0; r < k; r++) {
            order[r] = (int) keys[r];
        }
        return order;
    }

    /** Orders as (−logit, id): the float's bits made sortable, then inverted, above the id. */
    private static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ascending << 32) | id;
    }

    private static void siftUp(long[] heap, int index) {
        int child = index;
        while (child > 0) {
            int parent = (child - 1) / 2;
            if (heap[parent] >= heap[child]) {
                return;
            }
            swap(heap, parent, child);
            child = parent;
        }
    }

    private static void siftDown(long[] heap, int size) {
        int parent = 0;
        while (true) {
            int largest = parent;
            int left = 2 * parent + 1;
            int right = left + 1;
            if (left < size && heap[left] > heap[largest]) {
                largest = left;
            }
            if (right < size && heap[right] > heap[largest]) {
                largest = right;
            }
            if (largest == parent) {
                return;
            }
            swap(heap, parent, largest);
            parent = largest;
        }
    }

    private static void swap(long[] heap, int first, int second) {
        long held = heap[first];
        heap[first] = heap[second];
        heap[second] = held;
    }
}
