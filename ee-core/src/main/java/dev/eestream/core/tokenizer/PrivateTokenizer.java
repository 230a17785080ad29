package dev.eestream.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.runtime.EeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A Hugging Face tokenizer composed with the key's vocabulary permutation π: {@link #encrypt} gives
 * ciphertext ids (special tokens included, truncated, never padded), {@link #decrypt} gives text back.
 * Holds a native tokenizer: close it.
 */
public final class PrivateTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final Permutation vocab;
    private final int maxLength;

    private PrivateTokenizer(HuggingFaceTokenizer tokenizer, Permutation vocab, int maxLength) {
        this.tokenizer = tokenizer;
        this.vocab = vocab;
        this.maxLength = maxLength;
    }

    /**
     * @param json      the plaintext tokenizer.json
     * @param key       the client's key; null gives plaintext ids (the identity permutation)
     * @param vocabSize the size of π: the model's embedding rows; null to use the tokenizer's own size
     * @param maxLength truncation length in tokens, special tokens included; null for the file's own, else 512
     */
    public static PrivateTokenizer open(TokenizerJson json, EeKey key, Integer vocabSize, Integer maxLength) throws IOException {
        int v = vocabSize != null ? vocabSize : json.vocabSize();
        if (json.vocabSize() > v) {
            throw new EeException("the tokenizer " + json.source() + " has " + json.vocabSize() + " token ids but the model's "
                    + "vocabulary has " + v + ": they do not belong together");
        }
        int max = maxLength != null ? maxLength : json.truncationLength() != null ? json.truncationLength() : 512;
        if (max < 2) {
            throw new EeException("maximum length must be at least 2 tokens, got " + max);
        }
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(json.text().getBytes(StandardCharsets.UTF_8)),
                Map.of("addSpecialTokens", "true", "truncation", "true", "padding", "false", "maxLength", Integer.toString(max)));
        return new PrivateTokenizer(tokenizer, key != null ? key.vocabPermutation(v) : Permutation.identity(v), max);
    }

    /** Ciphertext ids c = π(t) of the text's tokens. */
    public long[] encrypt(String text) {
        long[] ids = encodePlain(text);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.apply((int) ids[i]);
        }
        return ids;
    }

    /** Plaintext ids, for the reference computation on the trusted side. */
    public long[] encodePlain(String text) {
        if (text == null) {
            throw new EeException("text must not be null");
        }
        return tokenizer.encode(text).getIds();
    }

    /** Text of ciphertext ids (special tokens skipped). */
    public String decrypt(long[] cipherIds) {
        return tokenizer.decode(decryptIds(cipherIds), true);
    }

    /** Text of plaintext ids (special tokens skipped); an {@link IncrementalDetokenizer} streams with it. */
    public String decodePlain(long[] plainIds) {
        return tokenizer.decode(plainIds, true);
    }

    /** Plaintext ids t = π⁻¹(c); refuses ids outside the vocabulary. */
    public long[] decryptIds(long[] cipherIds) {
        long[] ids = new long[cipherIds.length];
        for (int i = 0; i < ids.length; i++) {
            long c = cipherIds[i];
            if (c < 0 || c >= vocab.size()) {
                throw new EeException("ciphertext id " + c + " at position " + i + " is outside the vocabulary [0, " + vocab.size() + ")");
            }
            ids[i] = vocab.invert((int) c);
        }
        return ids;
    }

    public int vocabSize() {
        return vocab.size();
    }

    public int maxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
