package dev.eestream.core.model.synthetic;

import dev.eestream.runtime.EeException;
import java.util.Locale;

/**
 * The shape of a synthetic decoder: its family, sizes, head tying and the seed of its random weights.
 * Immutable; {@link #builder(Family)} starts from a benchmark-size model (vocabulary 32000, hidden
 * 512, 4 layers, 8 heads) of the family.
 */
public final class SyntheticDecoderSpec {
    /** The architecture, as the two export families eestream supports build their graphs. */
    public enum Family {
        /** RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU; head untied by default. */
        LLAMA,
        /** LayerNormalization, learned positions, fused QKV, Erf-GELU; head tied to the token embeddings. */
        GPT2;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Family parse(String s) {
            for (Family f : values()) {
                if (f.id().equalsIgnoreCase(s)) {
                    return f;
                }
            }
            throw new EeException("unknown decoder family '" + s + "': llama or gpt2");
        }
    }

    private final Family family;
    private final int vocabSize;
    private final int hiddenSize;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int intermediateSize;
    private final int contextLength;
    private final boolean tiedHead;
    private final boolean computedRotary;
    private final long seed;

    private SyntheticDecoderSpec(Builder b) {
        this.family = b.family;
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.layers = b.layers;
        this.heads = b.heads;
        this.kvHeads = b.kvHeads != null ? b.kvHeads : family == Family.LLAMA && heads % 2 == 0 ? heads / 2 : heads;
        this.intermediateSize = b.intermediateSize != null ? b.intermediateSize : (family == Family.LLAMA ? 3 : 4) * hiddenSize;
        this.contextLength = b.contextLength;
        this.tiedHead = b.tiedHead != null ? b.tiedHead : family == Family.GPT2;
        this.computedRotary = b.computedRotary;
        this.seed = b.seed;
        validate();
    }

    public static Builder builder(Family family) {
        return new Builder(family);
    }

    public Family family() {
        return family;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int layers() {
        return layers;
    }

    public int heads() {
        return heads;
    }

    /** Key/value heads: fewer than {@link #heads()} for grouped-query attention (Llama only). */
    public int kvHeads() {
        return kvHeads;
    }

    public int headSize() {
        return hiddenSize / heads;
    }

    /** Width of the feed-forward layer (Llama's gate and up projections, GPT-2's c_fc). */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** Rows of the rotary tables or of GPT-2's position table. */
    public int contextLength() {
        return contextLength;
    }

    public boolean tiedHead() {
        return tiedHead;
    }

    /**
     * Llama only: cos and sin computed in the graph from the position ids, KV heads repeated to
     * shapes computed at run time, as recent exports make them. Such a graph has no table to read the
     * context length from, so the transform must be given it.
     */
    public boolean computedRotary() {
        return computedRotary;
    }

    public long seed() {
        return seed;
    }

    /** Matrix weights (norms and biases aside), the head counted only when untied; about 4 bytes each in the file. */
    public long parameterCount() {
        long d = hiddenSize;
        long kv = (long) kvHeads * headSize();
        long attention = d * d + 2 * d * kv + d * d;
        long feedForward = (family == Family.LLAMA ? 3 : 2) * d * intermediateSize;
        long positions = family == Family.GPT2 ? (long) contextLength * d : 0;
        return vocabSize * d + positions + layers * (attention + feedForward) + (tiedHead ? 0 : d * vocabSize);
    }

    /** One line for a reader: family and sizes. */
    public String describe() {
        return String.format(Locale.ROOT, "synthetic %s decoder (random weights): vocabulary %d, hidden %d, %d layers, "
                + "%d heads / %d KV heads, feed-forward %d, context %d, %s head, %.1fM parameters", family.id(), vocabSize,
                hiddenSize, layers, heads, kvHeads, intermediateSize, contextLength, tiedHead ? "tied" : "untied",
                parameterCount() / 1e6);
    }

    private void validate() {
        require(vocabSize >= 2, "the vocabulary needs at least 2 ids, got " + vocabSize);
        require(hiddenSize >= 1 && layers >= 1 && heads >= 1 && kvHeads >= 1 && intermediateSize >= 1 && contextLength >= 1,
                "sizes must be positive: hidden " + hiddenSize + ", layers " + layers + ", heads " + heads + ", KV heads "
                        + kvHeads + ", feed-forward " + intermediateSize + ", context " + contextLength);
        require(hiddenSize % heads == 0, "the hidden size " + hiddenSize + " must be a multiple of the heads " + heads);
        require(heads % kvHeads == 0, "the heads " + heads + " must be a multiple of the KV heads " + kvHeads);
        if (family == Family.LLAMA) {
            require(headSize() % 2 == 0, "rotary embeddings need an even head size, got " + headSize());
        } else {
            require(kvHeads == heads, "GPT-2 has no grouped-query attention: KV heads must equal heads " + heads);
            require(tiedHead, "GPT-2's head is tied to its token embeddings");
            require(!computedRotary, "GPT-2 has learned positions, no rotary embeddings");
        }
    }

    private static void require(boolean ok, String problem) {
        if (!ok) {
            throw new EeException(problem);
        }
    }

    /** Starts from the benchmark size; unset KV heads, feed-forward width and tying take the family's default. */
    public static final class Builder {
        private final Family family;
        private int vocabSize = 32000;
        private int hiddenSize = 512;
        private int layers = 4;
        private int heads = 8;
        private Integer kvHeads;
        private Integer intermediateSize;
        private int contextLength = 512;
        private Boolean tiedHead;
        private boolean computedRotary;
        private long seed = 1;

        private Builder(Family family) {
            this.family = java.util.Objects.requireNonNull(family, "family");
        }

        public Builder vocabSize(int n) {
            this.vocabSize = n;
            return this;
        }

        public Builder hiddenSize(int n) {
            this.hiddenSize = n;
            return this;
        }

        public Builder layers(int n) {
            this.layers = n;
            return this;
        }

        public Builder heads(int n) {
            this.heads = n;
            return this;
        }

        /** Default: half the heads for Llama (all when odd), all of them for GPT-2. */
        public Builder kvHeads(int n) {
            this.kvHeads = n;
            return this;
        }

        /** Default: 3 × hidden for Llama, 4 × hidden for GPT-2. */
        public Builder intermediateSize(int n) {
            this.intermediateSize = n;
            return this;
        }

        public Builder contextLength(int n) {
            this.contextLength = n;
            return this;
        }

        /** Default: untied for Llama, tied for GPT-2 (which has no untied form). */
        public Builder tiedHead(boolean tied) {
            this.tiedHead = tied;
            return this;
        }

        public Builder computedRotary(boolean computed) {
            this.computedRotary = computed;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public SyntheticDecoderSpec build() {
            return new SyntheticDecoderSpec(this);
        }
    }
}
