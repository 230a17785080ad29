package dev.eestream.client.consumer;

import dev.eestream.schemas.serde.UndecodableRecordException;

/** Why a record on a response topic is not an answer its reader can use. */
public enum BadRecordKind {
    /** The record has no value (a tombstone). */
    NO_VALUE,
    /** Not in the Confluent wire format: empty, shorter than its header, or without the magic byte 0. */
    NOT_WIRE_FORMAT,
    /** The schema registry knows no schema by the id in the record's header. */
    UNKNOWN_SCHEMA_ID,
    /** Written with a schema that cannot be read as an InferenceResponse. */
    INCOMPATIBLE_SCHEMA,
    /** The Avro body is truncated, has bytes left over, or does not match its schema. */
    MALFORMED_AVRO,
    /** A response from a model this reader holds no client profile for. */
    OTHER_MODEL,
    /** A response computed by a model encrypted with another key: its outputs would decrypt to garbage. */
    OTHER_KEY,
    /** A response whose outputs do not fit its model (missing, of the wrong width, ids outside the vocabulary). */
    UNDECRYPTABLE;

    /** The kind of bytes that did not decode. */
    static BadRecordKind of(UndecodableRecordException.Kind kind) {
        return switch (kind) {
            case NOT_WIRE_FORMAT -> NOT_WIRE_FORMAT;
            case UNKNOWN_SCHEMA_ID -> UNKNOWN_SCHEMA_ID;
            case INCOMPATIBLE_SCHEMA -> INCOMPATIBLE_SCHEMA;
            case MALFORMED_AVRO -> MALFORMED_AVRO;
        };
    }
}
