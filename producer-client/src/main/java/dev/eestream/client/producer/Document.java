package dev.eestream.client.producer;

import java.util.Map;
import java.util.Objects;

/** A document to send: its id travels in the request's attributes ("id") and comes back unchanged. */
public record Document(String id, String text, Map<String, String> attributes) {
    public Document {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    public Document(String id, String text) {
        this(id, text, Map.of());
    }
}
