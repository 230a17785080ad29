package dev.eestream.schemas.serde;

import dev.eestream.schemas.registry.SchemaRegistryException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The Confluent wire format: magic byte 0, the schema id as 4 big-endian bytes, then the Avro
 * binary encoding of the record.
 */
public final class WireFormat {

    public static final byte MAGIC_BYTE = 0;
    public static final int HEADER_SIZE = 5;

    private WireFormat() {
    }

    /** Magic byte and schema id followed by {@code avroPayload}. */
    public static byte[] frame(int schemaId, byte[] avroPayload) {
        return ByteBuffer.allocate(HEADER_SIZE + avroPayload.length)
                .put(MAGIC_BYTE).putInt(schemaId).put(avroPayload).array();
    }

    /** The 5 header bytes for {@code schemaId}. */
    static byte[] header(int schemaId) {
        return ByteBuffer.allocate(HEADER_SIZE).put(MAGIC_BYTE).putInt(schemaId).array();
    }

    /**
     * The schema id in the header of {@code record}.
     *
     * @throws UndecodableRecordException ({@link UndecodableRecordException.Kind#NOT_WIRE_FORMAT}) with the reason
     *         when the record is not in the wire format
     */
    public static int schemaId(byte[] record) {
        Objects.requireNonNull(record, "record");
        if (record.length > 0 && record[0] != MAGIC_BYTE) {
            throw new UndecodableRecordException(UndecodableRecordException.Kind.NOT_WIRE_FORMAT, String.format(
                    "no magic byte 0 (got 0x%02x): not in the Confluent wire format", record[0] & 0xff));
        }
        if (record.length < HEADER_SIZE) {
            throw new UndecodableRecordException(UndecodableRecordException.Kind.NOT_WIRE_FORMAT,
                    "record of " + record.length + " bytes is too short for the wire-format header");
        }
        return ByteBuffer.wrap(record, 1, 4).getInt();
    }

    /**
     * Decodes {@code record} without throwing for bad data: the value (null for null bytes), or why
     * the bytes cannot be decoded, for a dead-letter topic. A {@link SchemaRegistryException}
     * (registry unreachable, unauthorised, …) still propagates: the record may be fine, so it must
     * not be dead-lettered.
     */
    public static <T> DecodeResult<T> tryDecode(Deserializer<T> deserializer, String topic, byte[] record) {
        try {
            return DecodeResult.success(deserializer.deserialize(topic, record));
        } catch (SchemaRegistryException e) {
            throw e;
        } catch (SerializationException e) {
            return DecodeResult.failure(e.getMessage());
        }
    }
}
