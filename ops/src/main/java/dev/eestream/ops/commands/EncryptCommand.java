package dev.eestream.ops.commands;

import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.TokenizerOption;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encrypt", mixinStandardHelpOptions = true,
        description = "Print the ciphertext token ids of a text as one JSON array (special tokens included).")
public final class EncryptCommand implements Callable<Integer> {
    @Mixin
    KeyOptions key;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The plaintext.")
    String text;

    @Option(names = "--max-length", paramLabel = "N", description = "Truncate to N tokens (default: the tokenizer's own setting).")
    Integer maxLength;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer.load(), key.load(), null, maxLength)) {
            long[] ids = tok.encrypt(text);
            spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Long::toString).collect(Collectors.joining(",", "[", "]")));
        }
        return 0;
    }
}
