package dev.eestream.core.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalInt;

/** A Hugging Face {@code tokenizer.json}, parsed once: its text and the facts eestream needs from it. */
public final class TokenizerJson {
    private final String text;
    private final JsonObject root;
    private final String source;

    private TokenizerJson(String text, String source) {
        this.text = text;
        this.source = source;
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject() || !e.getAsJsonObject().has("model")) {
                throw new EeException(source + " is not a Hugging Face tokenizer.json (no \"model\" section)");
            }
            this.root = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new EeException(source + " is not a Hugging Face tokenizer.json (not JSON)", e);
        }
    }

    public static TokenizerJson read(Path file) throws IOException {
        try {
            return new TokenizerJson(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (NoSuchFileException e) {
            throw new EeException("tokenizer file " + file + " does not exist");
        }
    }

    public static TokenizerJson of(String text, String source) {
        return new TokenizerJson(text, source);
    }

    public String text() {
        return text;
    }

    public String source() {
        return source;
    }

    /** A deep copy of the parsed document. */
    JsonObject root() {
        return root.deepCopy();
    }

    public String modelType() {
        JsonObject model = root.getAsJsonObject("model");
        return model.has("type") ? model.get("type").getAsString() : "Unknown";
    }

    /** One more than the largest token id the tokenizer can emit (model vocabulary and added tokens). */
    public int vocabSize() {
        JsonObject model = root.getAsJsonObject("model");
        int max = -1;
        JsonElement vocab = model.get("vocab");
        if (vocab != null && vocab.isJsonObject()) {
            for (var e : vocab.getAsJsonObject().entrySet()) {
                max = Math.max(max, e.getValue().getAsInt());
            }
        } else if (vocab != null && vocab.isJsonArray()) {
            max = vocab.getAsJsonArray().size() - 1;
        } else {
            throw new EeException(source + " has a tokenizer model without a vocabulary eestream can read");
        }
        if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
            for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                max = Math.max(max, t.getAsJsonObject().get("id").getAsInt());
            }
        }
        return max + 1;
    }

    /** The id of an added (special) token with exactly this content. */
    public OptionalInt addedTokenId(String content) {
        if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
            for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                JsonObject o = t.getAsJsonObject();
                if (o.has("content") && content.equals(o.get("content").getAsString())) {
                    return OptionalInt.of(o.get("id").getAsInt());
                }
            }
        }
        return OptionalInt.empty();
    }

    /** The id of a whole token: an added token first (as the tokenizer matches those first), else a vocabulary entry. */
    public OptionalInt tokenId(String token) {
        OptionalInt added = addedTokenId(token);
        if (added.isPresent()) {
            return added;
        }
        JsonElement vocab = root.getAsJsonObject("model").get("vocab");
        if (vocab != null && vocab.isJsonObject() && vocab.getAsJsonObject().has(token)) {
            return OptionalInt.of(vocab.getAsJsonObject().get(token).getAsInt());
        }
        if (vocab != null && vocab.isJsonArray()) {
            // Unigram: a list of [piece, score] indexed by id.
            var list = vocab.getAsJsonArray();
            for (int i = 0; i < list.size(); i++) {
                if (token.equals(list.get(i).getAsJsonArray().get(0).getAsString())) {
                    return OptionalInt.of(i);
                }
            }
        }
        return OptionalInt.empty();
    }

    /** The truncation length configured in the file, or null. */
    public Integer truncationLength() {
        JsonElement t = root.get("truncation");
        if (t == null || !t.isJsonObject() || !t.getAsJsonObject().has("max_length")) {
            return null;
        }
        return t.getAsJsonObject().get("max_length").getAsInt();
    }
}
