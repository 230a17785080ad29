package dev.eestream.kafka.local.registry;

import java.util.Objects;

/**
 * One registry write: {@code schema} became version {@code version} of {@code subject}, under the global
 * schema id {@code id}. The registry's whole state is the sequence of these, so it is what a
 * {@link SchemaLog} keeps.
 *
 * @param schema the schema's canonical text (Avro's {@code Schema.toString()})
 */
public record Registration(String subject, int version, int id, String schema) {
    public Registration {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        if (version < 1) {
            throw new IllegalArgumentException("version must be at least 1, got " + version);
        }
        if (id < 1) {
            throw new IllegalArgumentException("id must be at least 1, got " + id);
        }
    }
}
