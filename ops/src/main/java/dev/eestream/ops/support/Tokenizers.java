package dev.eestream.ops.support;

import dev.eestream.core.model.BundledModel;
import dev.eestream.core.tokenizer.TokenizerJson;
import java.io.IOException;
import java.nio.file.Path;

/** A {@code --tokenizer} value: the name of a bundled model, or the path of a tokenizer.json. */
public final class Tokenizers {
    public static final String DEFAULT = "all-minilm-l6-v2";

    private Tokenizers() {
    }

    public static TokenizerJson load(String value) throws IOException {
        var bundled = BundledModel.byId(value);
        return bundled.isPresent() ? bundled.get().tokenizer() : TokenizerJson.read(Path.of(value));
    }
}
