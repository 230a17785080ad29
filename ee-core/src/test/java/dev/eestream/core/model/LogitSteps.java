package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.Permutation;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.DecoderState;
import dev.eestream.runtime.session.Generation;
import java.util.List;

/**
 * An EE decoder's logits, decrypted, against the plaintext decoder's, step by step along the plaintext generation:
 * bit-identical without ρ; with ρ the largest relative difference is returned.
 */
final class LogitSteps {
    /** What the walk found: the largest relative difference (0 without ρ) and the steps compared. */
    record Outcome(double worst, int steps) {
    }

    private LogitSteps() {
    }

    static Outcome compare(DecoderSession plainSession, DecoderSession eeSession, List<long[]> prompts, List<long[]> encrypted,
            List<Generation> expected, OutputDecryptor decryptor, Permutation pi, boolean hidden) {
        double worst = 0;
        int steps = 0;
        for (int p = 0; p < prompts.size(); p++) {
            long[] generated = expected.get(p).ids();
            DecoderState plainState = plainSession.prefill(List.of(prompts.get(p))).get(0);
            DecoderState eeState = eeSession.prefill(List.of(encrypted.get(p))).get(0);
            for (int t = 0; t < generated.length; t++) {
                float[] decrypted = decryptor.vocabLogits(eeState.nextLogits());
                if (hidden) {
                    worst = Math.max(worst, Compare.maxRelativeDifference(decrypted, plainState.nextLogits()));
                } else {
                    assertArrayEquals(plainState.nextLogits(), decrypted, 0f, "prompt " + p + " step " + t);
                }
                steps++;
                plainState = plainSession.step(List.of(plainState), new long[] {generated[t]}).get(0);
                eeState = eeSession.step(List.of(eeState), new long[] {pi.apply((int) generated[t])}).get(0);
            }
        }
        return new Outcome(worst, steps);
    }
}
