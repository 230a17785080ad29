package dev.eestream.ops.commands;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.support.CiphertextLines;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.TokenizerOption;
import dev.eestream.ops.support.Tokenizers;
import dev.eestream.ops.support.Utf8Lines;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encrypt", mixinStandardHelpOptions = true,
        description = {"Print the ciphertext token ids of a text as one JSON array (special tokens included), or of every "
            + "line of a file, one JSON array per line, in order.",
            "An empty line encrypts as the empty text does (the special tokens alone). The file is read as a stream, one "
                + "line at a time, and must be UTF-8. A line that cannot be read stops the run with an error naming it; "
                + "the lines before it have been printed. --profile takes the tokenizer, vocabulary and maximum length "
                + "from a model's client profile (OUT.client.json, written by encrypt-model) and checks that the key is "
                + "the one the model was encrypted with; a model's homophones and length buckets apply (each text "
                + "encrypts differently each time, padded to its bucket)."})
public final class EncryptCommand implements Callable<Integer> {
    @Mixin
    KeyOptions key;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--profile", paramLabel = "FILE",
            description = "A model's client profile (OUT.client.json): its tokenizer and maximum length; instead of --tokenizer.")
    Path profile;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Plaintext plaintext;

    /** Where the plaintext comes from: exactly one of the two. */
    static final class Plaintext {
        @Option(names = "--text", required = true, paramLabel = "TEXT", description = "One plaintext.")
        String text;

        @Option(names = "--input", required = true, paramLabel = "FILE",
                description = "A UTF-8 file with one plaintext per line ('-' reads standard input).")
        String input;
    }

    @Option(names = "--max-length", paramLabel = "N",
            description = "Truncate to N tokens (default: the profile's maximum length, else the tokenizer's own setting).")
    Integer maxLength;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (profile != null && spec.commandLine().getParseResult().hasMatchedOption("--tokenizer")) {
            throw new EeException("give either --tokenizer or --profile, not both: the profile names the model's tokenizer");
        }
        EeKey k = key.load();
        try (PrivateTokenizer tok = open(k);
             Utf8Lines in = plaintext.input == null ? null : openInput(plaintext.input)) {
            if (in == null) {
                spec.commandLine().getOut().println(CiphertextLines.json(tok.encrypt(plaintext.text)));
            } else {
                new CiphertextLines(tok, spec.commandLine().getOut()).encryptAll(in);
            }
        }
        return 0;
    }

    private PrivateTokenizer open(EeKey k) throws IOException {
        if (profile == null) {
            return PrivateTokenizer.open(tokenizer.load(), k, null, maxLength);
        }
        ClientProfile p = ClientProfile.read(profile);
        p.requireKey(k);
        TokenizerJson json = Tokenizers.load(p.tokenizer());
        return PrivateTokenizer.open(json, k, p.vocabSize(), maxLength != null ? maxLength : p.requestLength(json),
                p.homophones(), p.lengthBucketArray());
    }

    /** The input, opened before anything is printed, so a missing or unreadable file prints nothing. */
    private static Utf8Lines openInput(String input) throws IOException {
        if (input.equals("-")) {
            return new Utf8Lines(System.in, "standard input");
        }
        Path file = Path.of(input);
        if (Files.isDirectory(file)) {
            throw new EeException("input " + file + " is a directory, not a file of texts");
        }
        try {
            return new Utf8Lines(Files.newInputStream(file), input);
        } catch (NoSuchFileException e) {
            throw new EeException("input file " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new EeException("cannot read input file " + file + ": permission denied");
        }
    }
}
