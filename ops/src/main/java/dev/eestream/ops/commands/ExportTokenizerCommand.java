package dev.eestream.ops.commands;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.tokenizer.PrivateTokenizerExport;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.TokenizerOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export-tokenizer", mixinStandardHelpOptions = true,
        description = {"Write a private tokenizer.json: its vocabulary permuted by the key's π.",
            "Any Hugging Face-compatible tokenizer then yields ciphertext ids directly.",
            "The file is key material: it is written owner-only."})
public final class ExportTokenizerCommand implements Callable<Integer> {
    @Mixin
    KeyOptions key;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--out", required = true, paramLabel = "PRIVATE.json", description = "Where to write the private tokenizer.")
    Path out;

    @Option(names = "--force", description = "Replace an existing file at --out.")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        TokenizerJson json = tokenizer.load();
        EeKey k = key.load();
        String exported = PrivateTokenizerExport.export(json, k.vocabPermutation(json.vocabSize()));
        KeyFiles.writeOwnerOnly(out, exported.getBytes(StandardCharsets.UTF_8), force);
        spec.commandLine().getOut().println("wrote the private tokenizer for key " + k.keyId() + " to " + out
                + " (" + json.vocabSize() + " ids); treat it like the key");
        return 0;
    }
}
