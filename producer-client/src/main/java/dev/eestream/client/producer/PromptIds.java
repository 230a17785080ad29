package dev.eestream.client.producer;

import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.EeException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The plaintext ids a generation starts from and stops at, from what the tokenizer gives and what the model's
 * tokenizer config says: a BOS where the model expects one, the model's stop ids plus the caller's.
 */
public final class PromptIds {
    private PromptIds() {
    }

    /**
     * The prompt's ids with a BOS in front when the config asks for one ({@code add_bos_token}) and the tokenizer
     * did not already put it there. An empty prompt is the BOS alone, whatever the config says: a decoder needs
     * one token to start from.
     *
     * @param encoded    the tokenizer's plaintext ids of the prompt text
     * @param generation the profile's generation facts; null when encrypt-model was given no tokenizer config
     */
    public static long[] prompt(long[] encoded, ClientProfile.Generation generation) {
        Long bos = generation == null ? null : generation.bosId();
        if (encoded.length == 0) {
            if (bos == null) {
                throw EeException.fixedBy("tokenizerConfig", "the prompt is empty and the model's profile has no BOS token "
                        + "to start from (the profile takes it from the model's tokenizer_config.json when the model is encrypted)");
            }
            return new long[] {bos};
        }
        boolean wantsBos = bos != null && Boolean.TRUE.equals(generation.addBosToken());
        if (!wantsBos || encoded[0] == bos) {
            return encoded;
        }
        long[] out = new long[encoded.length + 1];
        out[0] = bos;
        System.arraycopy(encoded, 0, out, 1, encoded.length);
        return out;
    }

    /**
     * The id of a stop string: its encoding without the BOS/EOS the tokenizer adds around every text must be a
     * single token, since the processor stops at ids.
     */
    public static long stopStringId(String stop, long[] encoded, ClientProfile.Generation generation) {
        int from = 0;
        int to = encoded.length;
        if (generation != null && generation.bosId() != null && to > from && encoded[from] == generation.bosId()
                && !stop.equals(generation.bosToken())) {
            from++;
        }
        if (generation != null && generation.eosId() != null && to > from + 1 && encoded[to - 1] == generation.eosId()) {
            to--;
        }
        if (to - from != 1) {
            throw new EeException("stop string '" + stop + "' is " + (to - from) + " tokens; a stop string must be one token");
        }
        return encoded[from];
    }

    /** The model's stop ids and the caller's, each once, all checked against the vocabulary. */
    public static Set<Long> stops(ClientProfile.Generation generation, Iterable<Long> extra, int vocabSize) {
        Set<Long> out = new LinkedHashSet<>();
        if (generation != null) {
            out.addAll(generation.stopIds());
        }
        extra.forEach(out::add);
        for (long id : out) {
            if (id < 0 || id >= vocabSize) {
                throw new EeException("stop token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        return out;
    }
}
