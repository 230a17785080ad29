package dev.eestream.processor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/** Avro binary without a registry: for topology tests, where the wire format is not under test. */
public final class PlainAvro {
    static {
        dev.eestream.schemas.serde.AvroTrust.declare(dev.eestream.schemas.InferenceRequest.class);
        dev.eestream.schemas.serde.AvroTrust.declare(dev.eestream.schemas.InferenceResponse.class);
    }

    private PlainAvro() {
    }

    public static <T extends SpecificRecord> Serializer<T> serializer(Class<T> type) {
        SpecificDatumWriter<T> writer = new SpecificDatumWriter<>(type);
        return (topic, value) -> {
            try {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
                writer.write(value, enc);
                enc.flush();
                return out.toByteArray();
            } catch (IOException e) {
                throw new SerializationException(e);
            }
        };
    }

    public static <T extends SpecificRecord> Deserializer<T> deserializer(Class<T> type) {
        SpecificDatumReader<T> reader = new SpecificDatumReader<>(type);
        return (topic, bytes) -> {
            try {
                return reader.read(null, DecoderFactory.get().binaryDecoder(bytes, null));
            } catch (IOException | RuntimeException e) {
                throw new SerializationException("not an Avro " + type.getSimpleName() + ": " + e.getMessage(), e);
            }
        };
    }
}
