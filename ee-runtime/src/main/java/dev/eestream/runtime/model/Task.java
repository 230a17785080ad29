package dev.eestream.runtime.model;

import dev.eestream.runtime.EeException;
import java.util.Arrays;
import java.util.Locale;

/** What an encrypted model answers. */
public enum Task {
    /**
     * Classification, [batch, C] permuted by σ: a fine-tuned classifier's own logits (output {@code logits}),
     * or, for an embedding model, zero-shot cosine scores against label prototypes (output {@code scores}).
     */
    CLASSIFY,
    /** Sentence embedding: masked mean pooling and L2 normalisation, [batch, d], permuted by ρ. */
    EMBED,
    /**
     * Text generation with a KV cache (the Hugging Face optimum {@code text-generation-with-past} layout):
     * logits [batch, seq, V] permuted by π, so the server's argmax is the ciphertext of the plaintext
     * argmax; the {@code present.*} KV-cache outputs never leave the server.
     */
    GENERATE;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Task parse(String text) {
        for (Task t : values()) {
            if (t.id().equalsIgnoreCase(text.trim())) {
                return t;
            }
        }
        throw new EeException("unknown task '" + text + "'; expected one of "
                + Arrays.stream(values()).map(Task::id).toList());
    }

    /** The hidden permutation is on by default where the output would otherwise be in the plaintext basis. */
    public boolean hiddenPermutationByDefault() {
        return this == EMBED;
    }
}
