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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What generation needs from a Hugging Face {@code tokenizer_config.json}, with the special tokens resolved to
 * plaintext ids through the model's tokenizer.json.
 *
 * <p>Stop ids: the EOS id, then every {@link #END_OF_TURN_TOKENS end-of-turn marker} that the tokenizer has as an
 * added token, in that list's order, without repeats. Chat models end a reply with such a marker rather than with
 * EOS (Llama 3's {@code <|eot_id|>}, ChatML's {@code <|im_end|>}), and their generation_config lists it as EOS too.
 *
 * @param bosToken           the BOS token's text, as the chat template sees it
 * @param eosToken           the EOS token's text, as the chat template sees it
 * @param bosId              the BOS token's plaintext id
 * @param eosId              the EOS token's plaintext id
 * @param stopIds            plaintext ids that end generation
 * @param addBosToken        the file's {@code add_bos_token}, when it has one
 * @param chatTemplate       the default chat template (a string, or the one named {@code default} in a list)
 * @param namedChatTemplates every template of a list by name, {@code default} included; empty for a single string
 */
public record TokenizerConfig(
        Optional<String> bosToken,
        Optional<String> eosToken,
        OptionalLong bosId,
        OptionalLong eosId,
        List<Long> stopIds,
        Optional<Boolean> addBosToken,
        Optional<String> chatTemplate,
        Map<String, String> namedChatTemplates) {

    /** Markers that end a chat turn in common model families, checked against the tokenizer's added tokens. */
    public static final List<String> END_OF_TURN_TOKENS = List.of(
            "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<|end|>", "<end_of_turn>");

    // Keys every tokenizer_config.json written by transformers has at least one of.
    private static final List<String> CONFIG_KEYS = List.of("tokenizer_class", "added_tokens_decoder", "model_max_length",
            "bos_token", "eos_token", "chat_template");

    public TokenizerConfig {
        stopIds = List.copyOf(stopIds);
        namedChatTemplates = Map.copyOf(namedChatTemplates);
    }

    public static TokenizerConfig read(Path file, TokenizerJson tokenizer) throws IOException {
        try {
            return of(Files.readString(file, StandardCharsets.UTF_8), file.toString(), tokenizer);
        } catch (NoSuchFileException e) {
            throw new EeException("tokenizer config " + file + " does not exist");
        }
    }

    /** @param source where the text came from, for messages */
    public static TokenizerConfig of(String text, String source, TokenizerJson tokenizer) {
        JsonObject root = parse(text, source);
        Optional<String> bos = tokenText(root, "bos_token", source);
        Optional<String> eos = tokenText(root, "eos_token", source);
        OptionalLong bosId = resolve(bos, "bos_token", source, tokenizer);
        OptionalLong eosId = resolve(eos, "eos_token", source, tokenizer);
        List<Long> stops = new ArrayList<>();
        eosId.ifPresent(stops::add);
        for (String marker : END_OF_TURN_TOKENS) {
            OptionalInt id = tokenizer.addedTokenId(marker);
            if (id.isPresent() && !stops.contains((long) id.getAsInt())) {
                stops.add((long) id.getAsInt());
            }
        }
        Optional<Boolean> addBos = root.has("add_bos_token") && root.get("add_bos_token").isJsonPrimitive()
                ? Optional.of(root.get("add_bos_token").getAsBoolean()) : Optional.empty();
        Map<String, String> named = namedTemplates(root, source);
        Optional<String> template = named.isEmpty() ? stringField(root, "chat_template") : Optional.ofNullable(named.get("default"));
        return new TokenizerConfig(bos, eos, bosId, eosId, stops, addBos, template, named);
    }

    /** The chat template with this name; {@code default} is also the template of a config with a single one. */
    public Optional<String> chatTemplate(String name) {
        if (namedChatTemplates.isEmpty()) {
            return "default".equals(name) ? chatTemplate : Optional.empty();
        }
        return Optional.ofNullable(namedChatTemplates.get(name));
    }

    /** Whether generating this plaintext id ends the reply. */
    public boolean isStop(long plainId) {
        return stopIds.contains(plainId);
    }

    private static JsonObject parse(String text, String source) {
        JsonElement e;
        try {
            e = JsonParser.parseString(text);
        } catch (JsonParseException ex) {
            throw new EeException(source + " is not a Hugging Face tokenizer_config.json (not JSON)", ex);
        }
        if (e == null || !e.isJsonObject()) {
            throw new EeException(source + " is not a Hugging Face tokenizer_config.json (not a JSON object)");
        }
        JsonObject root = e.getAsJsonObject();
        if (CONFIG_KEYS.stream().noneMatch(root::has)) {
            String hint = root.has("model") && root.has("added_tokens") ? "; it looks like a tokenizer.json" : "";
            throw new EeException(source + " is not a Hugging Face tokenizer_config.json (none of " + CONFIG_KEYS + hint + ")");
        }
        return root;
    }

    // A special token is a plain string or, in older files, an AddedToken object {"content": ...}.
    private static Optional<String> tokenText(JsonObject root, String field, String source) {
        JsonElement e = root.get(field);
        if (e == null || e.isJsonNull()) {
            return Optional.empty();
        }
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            return Optional.of(e.getAsString());
        }
        if (e.isJsonObject() && e.getAsJsonObject().has("content") && e.getAsJsonObject().get("content").isJsonPrimitive()) {
            return Optional.of(e.getAsJsonObject().get("content").getAsString());
        }
        throw new EeException(source + ": " + field + " must be a string or an object with \"content\", got " + e);
    }

    private static OptionalLong resolve(Optional<String> token, String field, String source, TokenizerJson tokenizer) {
        if (token.isEmpty()) {
            return OptionalLong.empty();
        }
        OptionalInt id = tokenizer.tokenId(token.get());
        if (id.isEmpty()) {
            throw new EeException(source + ": " + field + " " + token.get() + " is not a token of " + tokenizer.source()
                    + ": the config and the tokenizer do not belong together");
        }
        return OptionalLong.of(id.getAsInt());
    }

    private static Optional<String> stringField(JsonObject root, String field) {
        JsonElement e = root.get(field);
        return e != null && e.isJsonPrimitive() ? Optional.of(e.getAsString()) : Optional.empty();
    }

    private static Map<String, String> namedTemplates(JsonObject root, String source) {
        JsonElement e = root.get("chat_template");
        Map<String, String> named = new LinkedHashMap<>();
        if (e == null || !e.isJsonArray()) {
            return named;
        }
        for (JsonElement t : e.getAsJsonArray()) {
            if (!t.isJsonObject() || !t.getAsJsonObject().has("name") || !t.getAsJsonObject().has("template")) {
                throw new EeException(source + ": chat_template must be a string or a list of {\"name\", \"template\"}, got " + t);
            }
            named.put(t.getAsJsonObject().get("name").getAsString(), t.getAsJsonObject().get("template").getAsString());
        }
        return named;
    }
}
