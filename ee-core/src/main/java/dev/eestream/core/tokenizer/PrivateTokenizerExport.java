package dev.eestream.core.tokenizer;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.eestream.core.key.Permutation;
import dev.eestream.runtime.EeException;
import java.util.Map;

/**
 * Writes a tokenizer.json whose vocabulary itself is permuted by π, so any Hugging Face-compatible
 * tokenizer produces ciphertext ids directly: every place an id appears (the model's vocabulary,
 * added tokens, post-processor special tokens, padding and unknown ids) is mapped through π.
 * The result is key material: whoever holds it can encrypt and decrypt ids.
 */
public final class PrivateTokenizerExport {
    private PrivateTokenizerExport() {
    }

    public static String export(TokenizerJson json, Permutation vocab) {
        if (json.vocabSize() > vocab.size()) {
            throw new EeException("the tokenizer has " + json.vocabSize() + " ids but π covers " + vocab.size());
        }
        JsonObject root = json.root();
        JsonObject model = root.getAsJsonObject("model");
        String type = json.modelType();
        switch (type) {
            case "WordPiece", "BPE", "WordLevel" -> {
                JsonObject permuted = new JsonObject();
                for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
                    permuted.addProperty(e.getKey(), vocab.apply(e.getValue().getAsInt()));
                }
                model.add("vocab", permuted);
            }
            case "Unigram" -> {
                // Unigram's vocabulary is a list indexed by id: entry t moves to index π(t).
                JsonArray list = model.getAsJsonArray("vocab");
                JsonElement[] moved = new JsonElement[vocab.size()];
                for (int t = 0; t < list.size(); t++) {
                    moved[vocab.apply(t)] = list.get(t);
                }
                JsonArray out = new JsonArray();
                for (int i = 0; i < list.size(); i++) {
                    if (moved[i] == null) {
                        throw new EeException("a Unigram tokenizer needs π over exactly its own vocabulary size " + list.size());
                    }
                    out.add(moved[i]);
                }
                model.add("vocab", out);
                mapInt(model, "unk_id", vocab);
            }
            default -> throw new EeException("cannot export a private tokenizer for a '" + type + "' tokenizer model");
        }
        if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
            for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                mapInt(t.getAsJsonObject(), "id", vocab);
            }
        }
        if (root.has("padding") && root.get("padding").isJsonObject()) {
            mapInt(root.getAsJsonObject("padding"), "pad_id", vocab);
        }
        if (root.has("post_processor") && root.get("post_processor").isJsonObject()) {
            mapPostProcessor(root.getAsJsonObject("post_processor"), vocab);
        }
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
    }

    private static void mapPostProcessor(JsonObject pp, Permutation vocab) {
        String type = pp.has("type") ? pp.get("type").getAsString() : "";
        switch (type) {
            case "TemplateProcessing" -> {
                if (pp.has("special_tokens")) {
                    for (Map.Entry<String, JsonElement> e : pp.getAsJsonObject("special_tokens").entrySet()) {
                        JsonObject tok = e.getValue().getAsJsonObject();
                        JsonArray ids = new JsonArray();
                        for (JsonElement id : tok.getAsJsonArray("ids")) {
                            ids.add(vocab.apply(id.getAsInt()));
                        }
                        tok.add("ids", ids);
                    }
                }
            }
            case "BertProcessing", "RobertaProcessing" -> {
                for (String field : new String[] {"sep", "cls"}) {
                    JsonArray pair = pp.getAsJsonArray(field);
                    pair.set(1, new JsonPrimitive(vocab.apply(pair.get(1).getAsInt())));
                }
            }
            case "Sequence" -> {
                for (JsonElement p : pp.getAsJsonArray("processors")) {
                    mapPostProcessor(p.getAsJsonObject(), vocab);
                }
            }
            case "ByteLevel", "" -> {
            }
            default -> throw new EeException("cannot export a private tokenizer with a '" + type + "' post-processor");
        }
    }

    private static void mapInt(JsonObject o, String field, Permutation vocab) {
        if (o.has(field) && o.get(field).isJsonPrimitive()) {
            o.addProperty(field, vocab.apply(o.get(field).getAsInt()));
        }
    }
}
