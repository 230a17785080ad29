package dev.eestream.client.producer;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How to generate: the decoding settings the processor honours, plus stops beyond the model's own. Immutable;
 * build with {@link #builder()}; {@link #defaults()} is greedy decoding of at most 64 tokens, not streamed.
 *
 * @param maxNewTokens     most tokens to generate (fewer at a stop or the model's context length)
 * @param temperature      0: greedy (the plaintext model's argmax); above 0: sampling at this temperature
 * @param topP             nucleus sampling: the smallest set of tokens whose probability reaches it; 1: all
 * @param topK             sample among the topK most likely tokens; 0: all
 * @param seed             the sampler's seed, for repeatable samples; empty: the processor derives one
 * @param stopStrings      texts that end the generation besides the model's stop tokens; each must be one token
 * @param stopTokenIds     plaintext ids that end the generation besides the model's stop tokens
 * @param stream           whether the processor sends tokens in chunks as they are generated
 */
public record GenerationOptions(int maxNewTokens, float temperature, float topP, int topK, Optional<Long> seed,
        List<String> stopStrings, List<Long> stopTokenIds, boolean stream) {

    public GenerationOptions {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
        }
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be 0 (greedy) or a positive number, got " + temperature);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be 0 (off) or positive, got " + topK);
        }
        seed = seed == null ? Optional.empty() : seed;
        stopStrings = List.copyOf(stopStrings);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("a stop string must not be empty");
            }
        }
        stopTokenIds = List.copyOf(stopTokenIds);
        for (long id : stopTokenIds) {
            if (id < 0) {
                throw new IllegalArgumentException("stop token ids are not negative, got " + id);
            }
        }
    }

    public static GenerationOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder().maxNewTokens(maxNewTokens).temperature(temperature).topP(topP).topK(topK).stream(stream);
        b.seed = seed.orElse(null);
        b.stopStrings.addAll(stopStrings);
        b.stopTokenIds.addAll(stopTokenIds);
        return b;
    }

    /** Options of a generation; {@link #build()} checks them. */
    public static final class Builder {
        private int maxNewTokens = 64;
        private float temperature = 0f;
        private float topP = 1f;
        private int topK = 0;
        private Long seed;
        private final List<String> stopStrings = new ArrayList<>();
        private final List<Long> stopTokenIds = new ArrayList<>();
        private boolean stream;

        private Builder() {
        }

        public Builder maxNewTokens(int n) {
            this.maxNewTokens = n;
            return this;
        }

        public Builder temperature(float t) {
            this.temperature = t;
            return this;
        }

        public Builder topP(float p) {
            this.topP = p;
            return this;
        }

        public Builder topK(int k) {
            this.topK = k;
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** A text that ends the generation; it must be a single token of the model's tokenizer. */
        public Builder stopString(String s) {
            stopStrings.add(java.util.Objects.requireNonNull(s, "stop string"));
            return this;
        }

        /** A plaintext token id that ends the generation. */
        public Builder stopTokenId(long id) {
            stopTokenIds.add(id);
            return this;
        }

        public Builder stream(boolean s) {
            this.stream = s;
            return this;
        }

        /** @throws IllegalArgumentException for a setting the processor would refuse */
        public GenerationOptions build() {
            return new GenerationOptions(maxNewTokens, temperature, topP, topK, Optional.ofNullable(seed), stopStrings,
                    stopTokenIds, stream);
        }
    }
}
