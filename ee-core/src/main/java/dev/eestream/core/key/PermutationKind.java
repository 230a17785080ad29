package dev.eestream.core.key;

/**
 * The transforms of Equivariant Encryption, each drawn from the key with its own domain: π, ρ and σ,
 * and ρₑ for a model whose token embeddings are narrower than its residual stream.
 */
public enum PermutationKind {
    /** π over the vocabulary [0, V): token ids, embedding rows, vocabulary output heads. */
    VOCAB("vocab", "π"),
    /** ρ over the hidden width [0, d): every tensor on the residual stream along its hidden axis. */
    HIDDEN("hidden", "ρ"),
    /**
     * ρₑ over a factorised embedding's width [0, e) (ALBERT: e &lt; d): the embedding tables' columns up to
     * the projection into the residual stream, whose columns then get ρ. Clients never undo it.
     */
    EMBEDDING("embedding", "ρₑ"),
    /** σ over the classes [0, C): the classifier's output columns. */
    LABELS("labels", "σ");

    private final String domain;
    private final String symbol;

    PermutationKind(String domain, String symbol) {
        this.domain = domain;
        this.symbol = symbol;
    }

    /** The domain-separation string mixed into the DRBG for this kind. */
    public String domain() {
        return domain;
    }

    public String symbol() {
        return symbol;
    }
}
