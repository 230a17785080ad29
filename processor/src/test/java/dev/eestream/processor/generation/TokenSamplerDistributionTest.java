package dev.eestream.processor.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.TinyDecoderBundle;
import dev.eestream.runtime.session.DecoderSession;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Sampling in ciphertext space draws from the plaintext model's distribution: the EE decoder's
 * draws, decrypted, and the plaintext decoder's draws pass a chi-square test of homogeneity over
 * thousands of draws at one step; and because the sampler depends only on the multiset of logits,
 * the same seed draws the ciphertext of the token the plaintext sampler draws.
 */
class TokenSamplerDistributionTest {
    private static final int DRAWS = 4000;
    private static final long[] PROMPT = {3, 14, 15, 9, 26, 5};

    @Test
    void eeDrawsDecryptToThePlaintextDistribution() {
        int[] pi = TinyDecoderBundle.pi();
        int[] piInverse = new int[pi.length];
        for (int t = 0; t < pi.length; t++) {
            piInverse[pi[t]] = t;
        }
        long[] cipherPrompt = new long[PROMPT.length];
        for (int i = 0; i < PROMPT.length; i++) {
            cipherPrompt[i] = pi[(int) PROMPT[i]];
        }
        float[] plainLogits;
        float[] eeLogits;
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest());
             DecoderSession ee = DecoderSession.open(TinyDecoderBundle.modelBytes(), TinyDecoderBundle.manifest())) {
            plainLogits = plain.prefill(List.of(PROMPT)).get(0).nextLogits();
            eeLogits = ee.prefill(List.of(cipherPrompt)).get(0).nextLogits();
        }
        int vocab = pi.length;
        long[] plainCounts = new long[vocab];
        long[] eeCounts = new long[vocab];
        long[] eeCountsUndecrypted = new long[vocab];
        int sameToken = 0;
        for (int d = 0; d < DRAWS; d++) {
            // Independent seeds on the two sides: two samples of one distribution, not one sample twice.
            int p = (int) sampler(d).next(plainLogits);
            int c = (int) sampler(DRAWS + d).next(eeLogits);
            plainCounts[p]++;
            eeCounts[piInverse[c]]++;
            eeCountsUndecrypted[c]++;
            if (sampler(d).next(eeLogits) == pi[p]) {
                sameToken++;
            }
        }
        double statistic = ChiSquare.statistic(plainCounts, eeCounts);
        int bins = ChiSquare.bins(plainCounts, eeCounts);
        double critical = ChiSquare.quantile999(bins - 1);
        double undecrypted = ChiSquare.statistic(plainCounts, eeCountsUndecrypted);
        System.out.printf("sampling: %d draws per side over %d ids (%d bins): chi-square %.1f, critical (p = 0.001) %.1f; "
                + "undecrypted %.1f; same seed, same token after π: %d of %d%n", DRAWS, vocab, bins, statistic, critical,
                undecrypted, sameToken, DRAWS);
        assertTrue(bins >= 5, "the step's distribution is spread over enough ids to test: " + bins);
        assertTrue(statistic < critical, "EE draws decrypted follow the plaintext distribution: chi-square " + statistic);
        // The test has power: the same draws left in ciphertext space are told apart at once.
        assertTrue(undecrypted > 10 * critical, "undecrypted draws must differ: " + undecrypted);
        assertEquals(DRAWS, sameToken, "the same seed draws the ciphertext of the plaintext draw");
    }

    private static TokenSampler sampler(long seed) {
        return new TokenSampler(new DecodingParams(16, 1.0f, 0.95f, 40, seed, Set.of(), false));
    }
}
