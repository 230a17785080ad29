package dev.eestream.core.model.transform;

import dev.eestream.runtime.EeException;
import java.util.Arrays;
import java.util.Locale;

/**
 * How the embed and zero-shot classify heads pool an encoder's token states into one vector before L2
 * normalisation: as the model was trained to be used (its sentence-transformers pooling config).
 */
public enum Pooling {
    /** The masked mean over the sequence: sentence-transformers' default (all-MiniLM, e5, mpnet). */
    MEAN("mean"),
    /** The first token's state, [CLS]: BGE and other models trained on it. */
    CLS("cls");

    private final String id;

    Pooling(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Pooling parse(String value) {
        return Arrays.stream(values()).filter(p -> p.id.equals(value.toLowerCase(Locale.ROOT))).findFirst()
                .orElseThrow(() -> new EeException("unknown pooling '" + value + "': use mean or cls"));
    }
}
