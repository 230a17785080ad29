package dev.eestream.ops.commands;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.TokenizerOption;
import dev.eestream.ops.support.Tokenizers;
import dev.eestream.runtime.EeException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "decrypt", mixinStandardHelpOptions = true,
        description = {"Print the text of ciphertext token ids given as a JSON array (special tokens skipped).",
            "--profile takes the tokenizer and the model's vocabulary (its homophones too) from a model's client profile "
                + "(OUT.client.json) and checks the key; a model encrypted with --homophones needs it."})
public final class DecryptCommand implements Callable<Integer> {
    @Mixin
    KeyOptions key;

    @Mixin
    TokenizerOption tokenizer;

    @Option(names = "--profile", paramLabel = "FILE",
            description = "A model's client profile (OUT.client.json): its tokenizer and vocabulary; instead of --tokenizer.")
    Path profile;

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
        if (profile != null && spec.commandLine().getParseResult().hasMatchedOption("--tokenizer")) {
            throw new EeException("give either --tokenizer or --profile, not both: the profile names the model's tokenizer");
        }
        EeKey k = key.load();
        PrivateTokenizer opened;
        if (profile == null) {
            opened = PrivateTokenizer.open(tokenizer.load(), k, null, null);
        } else {
            ClientProfile p = ClientProfile.read(profile);
            opened = p.openTokenizer(Tokenizers.load(p.tokenizer()), k);
        }
        try (PrivateTokenizer tok = opened) {
            spec.commandLine().getOut().println(tok.decrypt(cipher));
        }
        return 0;
    }
}
