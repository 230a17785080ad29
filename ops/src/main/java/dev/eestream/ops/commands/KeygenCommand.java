package dev.eestream.ops.commands;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.ops.support.Passphrases;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = {"Write a new key file: a public key id and a 256-bit secret from SecureRandom.",
            "The file is created owner-only (0600). π, ρ and σ are derived from the secret, so the file is all a client needs."})
public final class KeygenCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "KEY", description = "Where to write the key file.")
    Path out;

    @Option(names = "--force", description = "Replace an existing file at --out.")
    boolean force;

    @Option(names = "--passphrase-env", paramLabel = "VAR",
            description = "Seal the secret with the passphrase held in this environment variable (PBKDF2 + AES-256-GCM).")
    String passphraseEnv;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        EeKey key = EeKey.generate();
        KeyFiles.write(key, out, Passphrases.fromEnv(passphraseEnv), force);
        spec.commandLine().getOut().println("wrote key " + key.keyId() + " to " + out
                + (passphraseEnv != null ? " (sealed with the passphrase in $" + passphraseEnv + ")" : "") + "; keep it on the trusted side");
        return 0;
    }
}
