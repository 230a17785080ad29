package dev.eestream.ops.support;

import dev.eestream.runtime.EeException;
import java.util.Map;

/**
 * Says a library error in the command line's terms: the libraries name the setting that fixes an
 * error ({@link EeException#setting()}); the CLI turns it into the flag that sets it.
 */
public final class UserErrors {
    /** Library setting → what a CLI user does about it. */
    static final Map<String, String> ADVICE = Map.ofEntries(
            Map.entry("overwrite", "pass --force to replace it"),
            Map.entry("keyFile", "create one with: eestream keygen --out FILE"),
            Map.entry("passphrase", "pass --passphrase-env VAR naming the environment variable that holds the passphrase"),
            Map.entry("labels", "give them with --labels \"a,b,c\" (or, for a model with its own classifier head, with "
                    + "--config config.json naming them in id2label)"),
            Map.entry("profile", "name it with --profile"),
            Map.entry("hiddenPermutation", "keep --hidden-permutation on for embed"),
            Map.entry("attentionMaskInput", "name it with --mask-input"),
            Map.entry("idsInput", "name it with --ids-input"),
            Map.entry("maxSequenceLength", "give it with --max-length"),
            Map.entry("sourceOutput", "name it with --source-output"),
            Map.entry("externalData", "pass --external-data auto (or always)"),
            Map.entry("homophones", "give --key KEY with --homophones N"),
            Map.entry("apiKeys", "give --api-keys FILE, or keep --host 127.0.0.1"),
            Map.entry("lengthBuckets", "leave out --length-buckets for a generate model"),
            Map.entry("tokenizerConfig", "encrypt the model again with --tokenizer-config tokenizer_config.json"));

    private UserErrors() {
    }

    public static String describe(EeException e) {
        return e.setting().map(ADVICE::get).map(advice -> e.problem() + "; " + advice).orElse(e.getMessage());
    }
}
