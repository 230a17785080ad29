package dev.eestream.ops.bench;

import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.runtime.EeException;
import java.util.Objects;

/** What {@link GenerateBenchmark} measures and for how long. Immutable; checked when built. */
public final class GeneratePlan {
    private final SyntheticDecoderSpec model;
    private final boolean hiddenPermutation;
    private final int promptLength;
    private final int newTokens;
    private final int minPairs;
    private final double secondsPerPoint;
    private final boolean control;

    private GeneratePlan(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.hiddenPermutation = b.hiddenPermutation;
        this.promptLength = b.promptLength;
        this.newTokens = b.newTokens;
        this.minPairs = b.minPairs;
        this.secondsPerPoint = b.secondsPerPoint;
        this.control = b.control;
        if (promptLength < 1 || newTokens < 1) {
            throw new EeException("--prompt-length and --new-tokens must be at least 1");
        }
        // Every sequence must run its full budget, or batches would shrink and tokens/s mislead.
        if (promptLength + newTokens > model.contextLength()) {
            throw new EeException("a prompt of " + promptLength + " tokens and " + newTokens + " new tokens exceed the context length "
                    + model.contextLength());
        }
        if (minPairs < 1 || secondsPerPoint < 0) {
            throw new EeException("--pairs must be at least 1 and --seconds not negative");
        }
    }

    public static Builder builder(SyntheticDecoderSpec model) {
        return new Builder(model);
    }

    public SyntheticDecoderSpec model() {
        return model;
    }

    /** Whether the EE model also permutes the residual stream (ρ), not only the vocabulary (π). */
    public boolean hiddenPermutation() {
        return hiddenPermutation;
    }

    public int promptLength() {
        return promptLength;
    }

    public int newTokens() {
        return newTokens;
    }

    public int minPairs() {
        return minPairs;
    }

    public double secondsPerPoint() {
        return secondsPerPoint;
    }

    /** A/A: a second plaintext session stands in for the EE model, showing the harness's own bias and noise. */
    public boolean control() {
        return control;
    }

    public static final class Builder {
        private final SyntheticDecoderSpec model;
        private boolean hiddenPermutation = true;
        private int promptLength = 32;
        private int newTokens = 32;
        private int minPairs = 31;
        private double secondsPerPoint = 40;
        private boolean control;

        private Builder(SyntheticDecoderSpec model) {
            this.model = model;
        }

        public Builder hiddenPermutation(boolean on) {
            this.hiddenPermutation = on;
            return this;
        }

        public Builder promptLength(int n) {
            this.promptLength = n;
            return this;
        }

        public Builder newTokens(int n) {
            this.newTokens = n;
            return this;
        }

        public Builder minPairs(int n) {
            this.minPairs = n;
            return this;
        }

        public Builder secondsPerPoint(double s) {
            this.secondsPerPoint = s;
            return this;
        }

        public Builder control(boolean on) {
            this.control = on;
            return this;
        }

        public GeneratePlan build() {
            return new GeneratePlan(this);
        }
    }
}
