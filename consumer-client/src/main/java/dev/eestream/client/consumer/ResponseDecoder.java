package dev.eestream.client.consumer;

import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.serde.UndecodableRecordException;
import dev.eestream.schemas.topics.Topics;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Decodes the raw bytes of response-topic records, telling each kind of bad record apart instead of throwing, so
 * a reader that consumes bytes can report a bad record and go on past it. Thread-safe.
 */
public final class ResponseDecoder implements AutoCloseable {
    private final Deserializer<InferenceResponse> deserializer;

    /** @param config the schema registry settings (and any others, ignored) */
    public ResponseDecoder(Map<String, ?> config) {
        this.deserializer = Topics.RESPONSES.valueDeserializer(config);
    }

    /**
     * @param key the record's key (the request id the processor wrote), kept for the report when the value does not decode
     * @throws SchemaRegistryException when the registry cannot be asked for the record's schema: the registry, not
     *                                 the record, is at fault, so the record should be read again later
     */
    public DecodedResponse decode(RecordPosition position, String key, byte[] value) {
        if (value == null) {
            return unreadable(position, key, BadRecordKind.NO_VALUE, "record has no value (null)");
        }
        try {
            InferenceResponse response = deserializer.deserialize(position.topic(), value);
            return new DecodedResponse.Readable(position, response);
        } catch (UndecodableRecordException e) {
            return unreadable(position, key, BadRecordKind.of(e.kind()), e.getMessage());
        }
    }

    @Override
    public void close() {
        deserializer.close();
    }

    private static DecodedResponse unreadable(RecordPosition position, String key, BadRecordKind kind, String reason) {
        return new DecodedResponse.Unreadable(new DecryptedResult.BadRecord(position, key, null, kind, reason));
    }
}
