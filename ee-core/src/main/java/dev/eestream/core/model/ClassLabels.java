package dev.eestream.core.model;

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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A classifier's label names in class order: from a list, or from the {@code id2label} of the model's
 * Hugging Face {@code config.json} (class index → name, e.g. {@code {"0": "NEGATIVE", "1": "POSITIVE"}}).
 */
public final class ClassLabels {
    private ClassLabels() {
    }

    /** Names separated by commas, trimmed. */
    public static List<String> fromList(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).map(String::trim).toList();
    }

    /** The {@code id2label} names of a Hugging Face config.json, in class order. */
    public static List<String> fromConfig(Path configJson) throws IOException {
        try {
            return fromConfigText(Files.readString(configJson, StandardCharsets.UTF_8), configJson.toString());
        } catch (NoSuchFileException e) {
            throw new EeException("model config " + configJson + " does not exist");
        }
    }

    /** @param source where the text came from, for messages */
    static List<String> fromConfigText(String json, String source) {
        JsonObject config;
        try {
            JsonElement parsed = JsonParser.parseString(json);
            if (!parsed.isJsonObject()) {
                throw new EeException(source + " is not a model config (not a JSON object)");
            }
            config = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new EeException(source + " is not a model config: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!config.has("id2label") || !config.get("id2label").isJsonObject()) {
            throw new EeException(source + " has no \"id2label\" object naming the classes");
        }
        Map<Integer, String> byIndex = new TreeMap<>();
        for (Map.Entry<String, JsonElement> entry : config.getAsJsonObject("id2label").entrySet()) {
            int index;
            try {
                index = Integer.parseInt(entry.getKey().trim());
            } catch (NumberFormatException e) {
                throw new EeException(source + ": id2label key '" + entry.getKey() + "' is not a class index");
            }
            if (!entry.getValue().isJsonPrimitive()) {
                throw new EeException(source + ": id2label[" + entry.getKey() + "] is not a name");
            }
            if (byIndex.put(index, entry.getValue().getAsString()) != null) {
                throw new EeException(source + ": id2label names class " + index + " twice");
            }
        }
        List<String> names = new ArrayList<>();
        for (Map.Entry<Integer, String> entry : byIndex.entrySet()) {
            if (entry.getKey() != names.size()) {
                throw new EeException(source + ": id2label names classes " + byIndex.keySet()
                        + "; it must name every class from 0 on, each once");
            }
            names.add(entry.getValue());
        }
        return List.copyOf(names);
    }
}
