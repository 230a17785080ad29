package dev.eestream.ops.support;

import dev.eestream.core.tokenizer.TokenizerJson;
import java.io.IOException;
import picocli.CommandLine.Option;

/** {@code --tokenizer}, for the commands that tokenize on the client side. */
public final class TokenizerOption {
    @Option(names = "--tokenizer", paramLabel = "TOKENIZER", defaultValue = Tokenizers.DEFAULT,
            description = "A tokenizer.json path, or the name of a bundled model (default: ${DEFAULT-VALUE}).")
    String tokenizer;

    public TokenizerJson load() throws IOException {
        return Tokenizers.load(tokenizer);
    }
}
