package dev.eestream.processor.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.TinyDecoderBundle;
import dev.eestream.runtime.session.DecoderSession;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Sampling with homophones draws tokens with the plaintext model's probabilities: a step's plaintext logits are copied
 * to each token's ids (as an EE model with homophones computes them, bit-identical per token) in a shuffled order with
 * uneven multiplicities, and the draws mapped back to tokens pass a chi-square test of homogeneity against the plain
 * sampler's draws; drawn without the multiplicities they fail it (frequent tokens' ids would be drawn too often).
 * Greedy always gives the top token, spread over its ids. The slot layout is built here: the processor has no key code.
 */
class TokenSamplerHomophoneTest {
    private static final int DRAWS = 4000;
    private static final long[] PROMPT = {3, 14, 15, 9, 26, 5};

    /** Ciphertext-side logits: token t's logit at each of its ids; ids shuffled. */
    private record Expanded(float[] logits, int[] tokenOf, int[] multiplicities) {
    }

    private static Expanded expand(float[] plain, long seed) {
        Random r = new Random(seed);
        List<Integer> slots = new ArrayList<>();
        for (int t = 0; t < plain.length; t++) {
            // Uneven: some tokens 1 id, some up to 8, unrelated to their logits.
            int k = 1 + (r.nextInt(4) == 0 ? r.nextInt(8) : r.nextInt(2));
            for (int j = 0; j < k; j++) {
                slots.add(t);
            }
        }
        Collections.shuffle(slots, r);
        int n = slots.size();
        float[] logits = new float[n];
        int[] tokenOf = new int[n];
        int[] counts = new int[plain.length];
        slots.forEach(t -> counts[t]++);
        int[] multiplicities = new int[n];
        for (int c = 0; c < n; c++) {
            tokenOf[c] = slots.get(c);
            logits[c] = plain[tokenOf[c]];
            multiplicities[c] = counts[tokenOf[c]];
        }
        return new Expanded(logits, tokenOf, multiplicities);
    }

    @ParameterizedTest(name = "temperature {0}, top-p {1}, top-k {2}")
    @CsvSource({"1.0, 0.95, 40", "0.7, 1.0, 0", "1.3, 0.8, 0", "1.0, 1.0, 12"})
    void drawsMappedToTokensFollowThePlaintextDistribution(float temperature, float topP, int topK) {
        float[] plain;
        try (DecoderSession session = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            plain = session.prefill(List.of(PROMPT)).get(0).nextLogits();
        }
        Expanded ee = expand(plain, 17);
        long[] plainCounts = new long[plain.length];
        long[] eeCounts = new long[plain.length];
        long[] naiveCounts = new long[plain.length];
        Set<Long> idsDrawn = new HashSet<>();
        for (int d = 0; d < DRAWS; d++) {
            DecodingParams p = new DecodingParams(16, temperature, topP, topK, d, Set.of(), false);
            DecodingParams q = new DecodingParams(16, temperature, topP, topK, DRAWS + d, Set.of(), false);
            plainCounts[(int) new TokenSampler(p).next(plain)]++;
            long id = new TokenSampler(q, ee.multiplicities()).next(ee.logits());
            idsDrawn.add(id);
            eeCounts[ee.tokenOf()[(int) id]]++;
            naiveCounts[ee.tokenOf()[(int) new TokenSampler(q).next(ee.logits())]]++;
        }
        double statistic = ChiSquare.statistic(plainCounts, eeCounts);
        int bins = ChiSquare.bins(plainCounts, eeCounts);
        double critical = ChiSquare.quantile999(bins - 1);
        double naive = ChiSquare.statistic(plainCounts, naiveCounts);
        System.out.printf("homophone sampling T=%.1f top-p %.2f top-k %d: %d ids for %d tokens, %d bins, chi-square %.1f "
                + "(critical %.1f), without multiplicities %.1f, %d distinct ids drawn%n", temperature, topP, topK,
                ee.logits().length, plain.length, bins, statistic, critical, naive, idsDrawn.size());
        assertTrue(bins >= 5, "spread enough to test: " + bins);
        assertTrue(statistic < critical, "draws follow the plaintext distribution: chi-square " + statistic);
        assertTrue(naive > 2 * critical, "the test has power: drawing ids as tokens is told apart, " + naive);
    }

    @org.junit.jupiter.api.Test
    void greedyGivesTheTopTokenByAnyOfItsIds() {
        float[] plain;
        try (DecoderSession session = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            plain = session.prefill(List.of(PROMPT)).get(0).nextLogits();
        }
        int top = TokenSampler.argmax(plain);
        // Give the top token several ids.
        Expanded ee = null;
        for (long seed = 1; ee == null || ee.multiplicities()[indexOf(ee.tokenOf(), top)] < 3; seed++) {
            ee = expand(plain, seed);
        }
        Set<Long> ids = new HashSet<>();
        for (int d = 0; d < 200; d++) {
            long id = new TokenSampler(new DecodingParams(16, 0f, 1f, 0, d, Set.of(), false), ee.multiplicities()).next(ee.logits());
            assertEquals(top, ee.tokenOf()[(int) id]);
            ids.add(id);
        }
        assertEquals(ee.multiplicities()[indexOf(ee.tokenOf(), top)], ids.size(), "every id of the top token is used");
    }

    private static int indexOf(int[] tokenOf, int token) {
        for (int c = 0; c < tokenOf.length; c++) {
            if (tokenOf[c] == token) {
                return c;
            }
        }
        return -1;
    }
}
