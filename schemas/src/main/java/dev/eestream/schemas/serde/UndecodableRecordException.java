package dev.eestream.schemas.serde;

import java.util.Objects;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Bytes that are not a record of the expected class, with what kind of wrong they are, so a reader can
 * report or route them without parsing the message. Its message is the precise reason.
 */
public final class UndecodableRecordException extends SerializationException {

    /** What is wrong with the bytes. */
    public enum Kind {
        /** Empty, shorter than the 5-byte header, or a first byte other than the magic byte 0. */
        NOT_WIRE_FORMAT,
        /** The registry knows no schema by the id in the header. */
        UNKNOWN_SCHEMA_ID,
        /** The writer's schema cannot be read into the expected class. */
        INCOMPATIBLE_SCHEMA,
        /** The Avro body ends early, has bytes left over, or does not match its schema. */
        MALFORMED_AVRO
    }

    private final Kind kind;

    public UndecodableRecordException(Kind kind, String message) {
        this(kind, message, null);
    }

    public UndecodableRecordException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public Kind kind() {
        return kind;
    }
}
