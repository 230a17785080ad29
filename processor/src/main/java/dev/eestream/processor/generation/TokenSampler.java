package dev.eestream.processor.generation;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Chooses a sequence's next id from its logits: the argmax when the temperature is 0, else a draw
 * at that temperature among the top-k ids and the top-p nucleus. Every rule depends only on the
 * multiset of logits, never on the order of the vocabulary, so in an EE model's ciphertext space it
 * draws from the plaintext model's distribution. One sampler per request, seeded: the same request
 * draws the same ids, whatever it is batched with.
 */
final class TokenSampler {
    private final DecodingParams params;
    private final SplittableRandom random;

    TokenSampler(DecodingParams params) {
        this.params = params;
        // Not java.util.Random: its first draws for nearby seeds (1, 2, 3 …) are nearly equal, so requests
        // with consecutive seeds would all draw alike. SplittableRandom mixes the seed first.
        this.random = new SplittableRandom(params.seed());
    }

    long next(float[] logits) {
        return params.greedy() ? argmax(logits) : sample(logits);
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

    private long sample(float[] logits) {
        // Most likely first; equal logits in id order, so the draw is repeatable.
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
        int kept = params.topK() > 0 ? Math.min(params.topK(), order.length) : order.length;
        double max = logits[order[0]];
        double[] weights = new double[kept];
        double total = 0;
        for (int r = 0; r < kept; r++) {
            weights[r] = Math.exp((logits[order[r]] - max) / params.temperature());
            total += weights[r];
        }
        if (params.topP() < 1f) {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < kept && cumulative < params.topP() * total) {
                cumulative += weights[nucleus++];
            }
            kept = Math.max(1, nucleus);
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
}
