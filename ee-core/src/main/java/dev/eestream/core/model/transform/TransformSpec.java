package dev.eestream.core.model.transform;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.runtime.model.Task;
import java.util.List;
import java.util.Objects;

/**
 * What to build from a source model. Immutable; use {@link #builder(Task)}.
 * A spec without a key builds the <em>plaintext reference</em>: the same graph and head with every
 * permutation the identity, for comparisons and for computing label prototypes.
 */
public final class TransformSpec {
    private final Task task;
    private final EeKey key;
    private final Boolean hiddenPermutation;
    private final String modelId;
    private final float[][] labelPrototypes;
    private final String idsInput;
    private final String attentionMaskInput;
    private final String sourceOutput;
    private final Integer maxSequenceLength;
    private final Integer tokenizerVocabSize;
    private final Integer fallbackMaxSequenceLength;
    private final Pooling pooling;
    private final Homophones homophones;

    private TransformSpec(Builder b) {
        this.task = b.task;
        this.key = b.key;
        this.hiddenPermutation = b.hiddenPermutation;
        this.modelId = b.modelId;
        this.labelPrototypes = b.labelPrototypes;
        this.idsInput = b.idsInput;
        this.attentionMaskInput = b.attentionMaskInput;
        this.sourceOutput = b.sourceOutput;
        this.maxSequenceLength = b.maxSequenceLength;
        this.tokenizerVocabSize = b.tokenizerVocabSize;
        this.fallbackMaxSequenceLength = b.fallbackMaxSequenceLength;
        this.pooling = b.pooling;
        this.homophones = b.homophones;
    }

    public static Builder builder(Task task) {
        return new Builder(task);
    }

    public Builder toBuilder() {
        Builder b = new Builder(task);
        b.key = key;
        b.hiddenPermutation = hiddenPermutation;
        b.modelId = modelId;
        b.labelPrototypes = labelPrototypes;
        b.idsInput = idsInput;
        b.attentionMaskInput = attentionMaskInput;
        b.sourceOutput = sourceOutput;
        b.maxSequenceLength = maxSequenceLength;
        b.tokenizerVocabSize = tokenizerVocabSize;
        b.fallbackMaxSequenceLength = fallbackMaxSequenceLength;
        b.pooling = pooling;
        b.homophones = homophones;
        return b;
    }

    /** How embed and zero-shot classify pool token states (default: the masked mean). */
    public Pooling pooling() {
        return pooling;
    }

    /** How many ciphertext ids each token gets; null for one each. */
    public Homophones homophones() {
        return homophones;
    }

    public Task task() {
        return task;
    }

    /** The key, or null for the plaintext reference. */
    public EeKey key() {
        return key;
    }

    public boolean hiddenPermutation() {
        return hiddenPermutation != null ? hiddenPermutation : task.hiddenPermutationByDefault();
    }

    public String modelId() {
        return modelId;
    }

    public float[][] labelPrototypes() {
        return labelPrototypes;
    }

    public String idsInput() {
        return idsInput;
    }

    public String attentionMaskInput() {
        return attentionMaskInput;
    }

    public String sourceOutput() {
        return sourceOutput;
    }

    public Integer maxSequenceLength() {
        return maxSequenceLength;
    }

    public Integer tokenizerVocabSize() {
        return tokenizerVocabSize;
    }

    public Integer fallbackMaxSequenceLength() {
        return fallbackMaxSequenceLength;
    }

    public static final class Builder {
        private final Task task;
        private EeKey key;
        private Pooling pooling = Pooling.MEAN;
        private Homophones homophones;
        private Boolean hiddenPermutation;
        private String modelId = "model";
        private float[][] labelPrototypes;
        private String idsInput;
        private String attentionMaskInput;
        private String sourceOutput;
        private Integer maxSequenceLength;
        private Integer tokenizerVocabSize;
        private Integer fallbackMaxSequenceLength;

        private Builder(Task task) {
            this.task = Objects.requireNonNull(task, "task");
        }

        /** The client's key; leave unset (or null) for the plaintext reference model. */
        public Builder key(EeKey key) {
            this.key = key;
            return this;
        }

        /** Apply ρ over the hidden width; defaults to on for embed, off otherwise. */
        /**
         * Gives token t {@code homophones.count(t)} ciphertext ids: the embedding rows (and a generation head's rows)
         * are copied to match, so every id of t computes exactly what t did. Needs a key; null for one id per token.
         */
        public Builder homophones(Homophones homophones) {
            this.homophones = homophones;
            return this;
        }

        public Builder pooling(Pooling pooling) {
            this.pooling = Objects.requireNonNull(pooling, "pooling");
            return this;
        }

        public Builder hiddenPermutation(Boolean on) {
            this.hiddenPermutation = on;
            return this;
        }

        public Builder modelId(String modelId) {
            this.modelId = Objects.requireNonNull(modelId, "modelId");
            return this;
        }

        /** Classify: one plaintext embedding per label, in label order (L2-normalised by the caller). */
        public Builder labelPrototypes(float[][] prototypes) {
            this.labelPrototypes = prototypes == null ? null : deepCopy(prototypes);
            return this;
        }

        /** The graph input holding token ids; found by analysis when unset. */
        public Builder idsInput(String name) {
            this.idsInput = name;
            return this;
        }

        /** The graph input holding the attention mask; {@code attention_mask} when unset. */
        public Builder attentionMaskInput(String name) {
            this.attentionMaskInput = name;
            return this;
        }

        /** The source graph output the head reads (hidden states, or the logits for generate); the first fitting one when unset. */
        public Builder sourceOutput(String name) {
            this.sourceOutput = name;
            return this;
        }

        /** The longest sequence the model takes (for generate: the context length); read from the graph when unset. */
        public Builder maxSequenceLength(Integer n) {
            this.maxSequenceLength = n;
            return this;
        }

        /** The tokenizer's vocabulary size, checked against the embedding table. */
        public Builder tokenizerVocabSize(Integer n) {
            this.tokenizerVocabSize = n;
            return this;
        }

        /** Used for the manifest when the model has no position table to read the maximum from. */
        public Builder fallbackMaxSequenceLength(Integer n) {
            this.fallbackMaxSequenceLength = n;
            return this;
        }

        public TransformSpec build() {
            return new TransformSpec(this);
        }
    }

    private static float[][] deepCopy(float[][] a) {
        float[][] out = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}
