package dev.eestream.core.model.synthetic;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Tokenizers built in code for the decoders of {@link SyntheticDecoders}, which have no tokenizer of their
 * own: a Hugging Face {@code tokenizer.json} of the {@code WordLevel} kind, split at whitespace and
 * punctuation, decoded by joining words with spaces.
 */
public final class SyntheticTokenizers {
    /** The ids below the words: unknown word, begin and end of sequence (the last two special). */
    public static final int UNK_ID = 0;
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    public static final String UNK = "[UNK]";
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";

    // What the Whitespace pre-tokenizer keeps as one word (\w+); anything else would never be looked up whole.
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private SyntheticTokenizers() {
    }

    /**
     * A word-level tokenizer: {@value #UNK} = 0, {@value #BOS} = 1 and {@value #EOS} = 2, then {@code words} from
     * id 3 in order, so its vocabulary size is {@code words.size() + 3}.
     *
     * @param words distinct words of letters, digits or '_'
     */
    public static TokenizerJson wordLevel(List<String> words) {
        JsonObject vocab = new JsonObject();
        vocab.addProperty(UNK, UNK_ID);
        vocab.addProperty(BOS, BOS_ID);
        vocab.addProperty(EOS, EOS_ID);
        Set<String> seen = new HashSet<>();
        int id = EOS_ID + 1;
        for (String w : words) {
            if (!WORD.matcher(w).matches()) {
                throw new EeException("'" + w + "' is not a word of letters, digits or '_'");
            }
            if (!seen.add(w)) {
                throw new EeException("the word '" + w + "' is given twice");
            }
            vocab.addProperty(w, id++);
        }
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordLevel");
        model.add("vocab", vocab);
        model.addProperty("unk_token", UNK);
        JsonArray added = new JsonArray();
        added.add(special(BOS_ID, BOS));
        added.add(special(EOS_ID, EOS));
        JsonObject preTokenizer = new JsonObject();
        preTokenizer.addProperty("type", "Whitespace");
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        root.add("added_tokens", added);
        root.add("normalizer", JsonNull.INSTANCE);
        root.add("pre_tokenizer", preTokenizer);
        root.add("post_processor", JsonNull.INSTANCE);
        root.add("decoder", JsonNull.INSTANCE);
        root.add("model", model);
        return TokenizerJson.of(GSON.toJson(root), "word-level tokenizer of " + words.size() + " words");
    }

    /** {@link #wordLevel} over the words {@code w3} … {@code w<vocabSize - 1>}: word {@code wN} has id N. */
    public static TokenizerJson numberedWords(int vocabSize) {
        List<String> words = new ArrayList<>();
        for (int i = EOS_ID + 1; i < vocabSize; i++) {
            words.add("w" + i);
        }
        return wordLevel(words);
    }

    private static JsonObject special(int id, String content) {
        JsonObject t = new JsonObject();
        t.addProperty("id", id);
        t.addProperty("content", content);
        t.addProperty("single_word", false);
        t.addProperty("lstrip", false);
        t.addProperty("rstrip", false);
        t.addProperty("normalized", false);
        t.addProperty("special", true);
        return t;
    }
}
