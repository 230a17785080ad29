package dev.eestream.ops.commands;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.TokenizerOption;
import dev.eestream.runtime.EeException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "decrypt", mixinStandardHelpOptions = true,
        description = "Print the text of ciphertext token ids given as a JSON array (special tokens skipped).")
public final class DecryptCommand implements Callable<Integer> {
    @Mixin
    KeyOptions key;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--ids", required = true, paramLabel = "JSON", description = "Ciphertext ids, e.g. [17380,42,13442].")
    String ids;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        long[] cipher;
        try {
            JsonArray array = JsonParser.parseString(ids).getAsJsonArray();
            cipher = new long[array.size()];
            int i = 0;
            for (JsonElement e : array) {
                cipher[i++] = e.getAsLong();
            }
        } catch (JsonParseException | IllegalStateException | NumberFormatException | UnsupportedOperationException e) {
            throw new EeException("--ids must be a JSON array of integers, got: " + ids);
        }
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer.load(), key.load(), null, null)) {
            spec.commandLine().getOut().println(tok.decrypt(cipher));
        }
        return 0;
    }
}
