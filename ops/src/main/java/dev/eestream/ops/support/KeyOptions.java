package dev.eestream.ops.support;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --key} and {@code --passphrase-env}, shared by every command that reads a key. */
public final class KeyOptions {
    @Option(names = "--key", required = true, paramLabel = "KEY", description = "Key file (made by 'eestream keygen').")
    Path key;

    @Option(names = "--passphrase-env", paramLabel = "VAR",
            description = "Name of the environment variable holding the key file's passphrase (never the passphrase itself).")
    String passphraseEnv;

    public EeKey load() throws IOException {
        return KeyFiles.read(key, Passphrases.fromEnv(passphraseEnv));
    }

    public Path path() {
        return key;
    }
}
