package dev.eestream.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A request's JSON object with typed reads that answer a wrong field with a 400 naming it. Absent and
 * {@code null} fields read as empty, as OpenAI treats them.
 */
public final class RequestBody {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ObjectNode node;

    private RequestBody(ObjectNode node) {
        this.node = node;
    }

    /** @throws OpenAiException 400 when the bytes are not one JSON object */
    public static RequestBody parse(byte[] bytes) {
        JsonNode n;
        try {
            n = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw OpenAiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw OpenAiException.invalid(null, "the request body must be a JSON object");
        }
        return new RequestBody((ObjectNode) n);
    }

    public static RequestBody of(ObjectNode node) {
        return new RequestBody(node);
    }

    private Optional<JsonNode> field(String name) {
        JsonNode v = node.get(name);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v);
    }

    public boolean has(String name) {
        return field(name).isPresent();
    }

    public String requiredString(String name) {
        return optionalString(name).orElseThrow(() -> OpenAiException.invalid(name, "'" + name + "' is required"));
    }

    public Optional<String> optionalString(String name) {
        return field(name).map(v -> {
            if (!v.isTextual()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be a string");
            }
            return v.asText();
        });
    }

    public Optional<Double> optionalNumber(String name) {
        return field(name).map(v -> {
            if (!v.isNumber()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be a number");
            }
            return v.asDouble();
        });
    }

    public Optional<Long> optionalInteger(String name) {
        return field(name).map(v -> {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be an integer");
            }
            return v.asLong();
        });
    }

    public Optional<Boolean> optionalBoolean(String name) {
        return field(name).map(v -> {
            if (!v.isBoolean()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be true or false");
            }
            return v.asBoolean();
        });
    }

    /** A string or an array of strings; absent or empty is a 400. */
    public List<String> stringOrStrings(String name) {
        JsonNode v = field(name).orElseThrow(() -> OpenAiException.invalid(name, "'" + name + "' is required"));
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            for (JsonNode item : v) {
                if (!item.isTextual()) {
                    throw OpenAiException.invalid(name, "'" + name + "' must be a string or an array of strings"
                            + " (token id arrays are not supported: the gateway tokenizes and encrypts the text itself)");
                }
                out.add(item.asText());
            }
        } else {
            throw OpenAiException.invalid(name, "'" + name + "' must be a string or an array of strings");
        }
        if (out.isEmpty()) {
            throw OpenAiException.invalid(name, "'" + name + "' must not be empty");
        }
        return out;
    }

    /** The field as an object, if present. */
    public Optional<RequestBody> optionalObject(String name) {
        return field(name).map(v -> {
            if (!v.isObject()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be an object");
            }
            return new RequestBody((ObjectNode) v);
        });
    }

    /** The field as an array, if present. */
    public Optional<List<JsonNode>> optionalArray(String name) {
        return field(name).map(v -> {
            if (!v.isArray()) {
                throw OpenAiException.invalid(name, "'" + name + "' must be an array");
            }
            List<JsonNode> out = new ArrayList<>();
            v.forEach(out::add);
            return out;
        });
    }

    /** A 400 when the field is present and means anything but its default ({@code null}, false, empty). */
    public void refuse(String name, String what) {
        field(name).ifPresent(v -> {
            boolean isDefault = (v.isBoolean() && !v.asBoolean()) || (v.isContainerNode() && v.isEmpty());
            if (!isDefault) {
                throw OpenAiException.unsupported(name, what);
            }
        });
    }
}
