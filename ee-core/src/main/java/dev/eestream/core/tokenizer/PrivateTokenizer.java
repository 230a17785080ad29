package dev.eestream.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.LengthPadding;
import dev.eestream.runtime.EeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face tokenizer composed with the key's {@link CipherVocabulary}: {@link #encrypt} gives ciphertext
 * ids (special tokens included, truncated, never padded; with homophones a random one of each token's ids),
 * {@link #decrypt} gives text back.
 * Holds a native tokenizer: close it.
 */
public final class PrivateTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final CipherVocabulary vocab;
    private final int maxLength;
    /** Pads each {@link #encrypt}ed request to its length bucket; null: requests go out at their own length. */
    private final LengthPadding padding;

    private PrivateTokenizer(HuggingFaceTokenizer tokenizer, CipherVocabulary vocab, int maxLength, int[] lengthBuckets) {
        this.tokenizer = tokenizer;
        this.vocab = vocab;
        this.maxLength = maxLength;
        if (lengthBuckets == null) {
            this.padding = null;
        } else {
            int[] framing;
            try {
                framing = framing(tokenizer);
            } catch (EeException e) {
                tokenizer.close();
                throw e;
            }
            this.padding = new LengthPadding(vocab, LengthPadding.upTo(lengthBuckets, maxLength), framing[0], framing[1]);
        }
    }

    /** The start and end tokens the tokenizer puts around every text ([CLS] … [SEP]), which length buckets need. */
    private static int[] framing(HuggingFaceTokenizer tokenizer) {
        long[] specials = tokenizer.encode("").getIds();
        if (specials.length < 2 || specials[0] == specials[specials.length - 1]) {
            throw new EeException("length buckets need a tokenizer that starts and ends each text with its own special "
                    + "token ([CLS] … [SEP]); this one adds " + Arrays.toString(specials) + " to an empty text");
        }
        return new int[] {Math.toIntExact(specials[0]), Math.toIntExact(specials[specials.length - 1])};
    }

    /** The end token ([SEP]) after which the processor cuts a padded request; refused for a tokenizer without one. */
    public int endToken() {
        return framing(tokenizer)[1];
    }

    /**
     * @param json      the plaintext tokenizer.json
     * @param key       the client's key; null gives plaintext ids (the identity permutation)
     * @param vocabSize the size of π: the model's embedding rows; null to use the tokenizer's own size
     * @param maxLength truncation length in tokens, special tokens included; null for the file's own, else 512
     */
    public static PrivateTokenizer open(TokenizerJson json, EeKey key, Integer vocabSize, Integer maxLength) throws IOException {
        return open(json, key, vocabSize, maxLength, null);
    }

    /**
     * @param vocabSize  with homophones, the model's ciphertext vocabulary V′ (checked against them); else as above
     * @param homophones the model's homophones (from the client profile); null for one id per token
     */
    public static PrivateTokenizer open(TokenizerJson json, EeKey key, Integer vocabSize, Integer maxLength,
            Homophones homophones) throws IOException {
        return open(json, key, vocabSize, maxLength, homophones, null);
    }

    /**
     * @param lengthBuckets the request lengths {@link #encrypt} pads to (the model's maximum length is always one), for a
     *                      model encrypted with length buckets (from the client profile); null for none
     */
    public static PrivateTokenizer open(TokenizerJson json, EeKey key, Integer vocabSize, Integer maxLength,
            Homophones homophones, int[] lengthBuckets) throws IOException {
        if (lengthBuckets != null && key == null) {
            throw new EeException("length buckets need a key");
        }
        if (homophones != null && homophones.any() && key == null) {
            throw new EeException("homophones need a key");
        }
        if (homophones != null && vocabSize != null && homophones.slotCount() != vocabSize) {
            throw new EeException("the model has " + vocabSize + " ciphertext ids, but its homophones make "
                    + homophones.slotCount() + ": the profile does not belong to this model");
        }
        int v = homophones != null ? homophones.vocabSize() : vocabSize != null ? vocabSize : json.vocabSize();
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
        return new PrivateTokenizer(tokenizer, key != null ? key.vocabulary(homophones != null ? homophones : Homophones.none(v))
                : CipherVocabulary.identity(v), max, lengthBuckets);
    }

    /**
     * Ciphertext ids of the text's tokens: c = π(t), or with homophones one of t's ids, drawn afresh each time; with
     * length buckets, padded to the request's bucket with filler after its end token.
     */
    public long[] encrypt(String text) {
        long[] plain = encodePlain(text);
        long[] cipher = encryptIds(plain);
        return padding == null ? cipher : padding.pad(plain, cipher);
    }

    /** Ciphertext ids of plaintext ids, drawn as {@link #encrypt} draws them. */
    public long[] encryptIds(long[] plainIds) {
        long[] ids = new long[plainIds.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.encrypt(Math.toIntExact(plainIds[i]));
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

    /** Text of ciphertext ids (special tokens skipped; with length buckets, the filler after the end token too). */
    public String decrypt(long[] cipherIds) {
        long[] plain = decryptIds(cipherIds);
        return tokenizer.decode(padding == null ? plain : padding.withoutFiller(plain), true);
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
            ids[i] = vocab.decrypt((int) c);
        }
        return ids;
    }

    /** The ciphertext vocabulary's size V′ (V without homophones). */
    public int vocabSize() {
        return vocab.size();
    }

    /** The key's map between tokens and ciphertext ids. */
    public CipherVocabulary vocabulary() {
        return vocab;
    }

    public int maxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
