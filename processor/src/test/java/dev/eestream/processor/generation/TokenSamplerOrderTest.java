package dev.eestream.processor.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The sampler's order (most likely first, ties by id) on primitive keys equals a plain sort on
 * (−logit, id), with ties, signed zeros and infinities, for top-k of every size; and prints what it
 * saves on a Llama-3-sized vocabulary.
 */
class TokenSamplerOrderTest {
    private static int[] reference(float[] logits, int topK) {
        Integer[] order = IntStream.range(0, logits.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i));
        int kept = topK > 0 ? Math.min(topK, order.length) : order.length;
        return Arrays.stream(order, 0, kept).mapToInt(Integer::intValue).toArray();
    }

    @Test
    void theOrderIsASortOnFallingLogitThenIdForEveryTopK() {
        Random random = new Random(3);
        for (int trial = 0; trial < 40; trial++) {
            int vocab = 1 + random.nextInt(3000);
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                // Few distinct values, so ties are common; some signed zeros and infinities.
                logits[i] = switch (random.nextInt(12)) {
                    case 0 -> 0.0f;
                    case 1 -> -0.0f;
                    case 2 -> Float.NEGATIVE_INFINITY;
                    case 3 -> Float.POSITIVE_INFINITY;
                    default -> (random.nextInt(40) - 20) / 4f;
                };
            }
            for (int topK : new int[] {0, 1, 2, 50, vocab / 4 - 1, vocab / 4 + 1, vocab, vocab + 7}) {
                assertArrayEquals(reference(logits, topK), TokenSampler.mostLikelyFirst(logits, topK),
                        "vocabulary " + vocab + ", top-k " + topK);
            }
        }
    }

    @Test
    void printsTheTimeOfOneOrderOnA128kVocabulary() {
        Random random = new Random(5);
        float[] logits = new float[128_256];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) random.nextGaussian() * 4;
        }
        int rounds = 20;
        long boxed = 0;
        long primitive = 0;
        long heap = 0;
        for (int round = 0; round < rounds + 3; round++) {
            long t0 = System.nanoTime();
            int[] expected = reference(logits, 0);
            long t1 = System.nanoTime();
            int[] got = TokenSampler.mostLikelyFirst(logits, 0);
            long t2 = System.nanoTime();
            TokenSampler.mostLikelyFirst(logits, 50);
            long t3 = System.nanoTime();
            assertArrayEquals(expected, got);
            if (round >= 3) {
                boxed += t1 - t0;
                primitive += t2 - t1;
                heap += t3 - t2;
            }
        }
        System.out.printf("sampling order over 128,256 logits: boxed sort %.1f ms, primitive keys %.1f ms, top-k 50 heap %.2f ms%n",
                boxed / 1e6 / rounds, primitive / 1e6 / rounds, heap / 1e6 / rounds);
    }
}
