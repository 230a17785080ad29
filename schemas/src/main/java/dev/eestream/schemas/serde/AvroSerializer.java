package dev.eestream.schemas.serde;

import dev.eestream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;

/**
 * Writes Avro specific records in the Confluent wire format. The record's schema is registered
 * under {@code <topic>-value} ({@code <topic>-key} for keys) on first use; the id is cached by the
 * client, so later records make no registry call.
 *
 * <p>Configuration ({@link #configure}): the registry properties of
 * {@link dev.eestream.schemas.registry.RegistrySettings#fromConfig}, unless built with a client,
 * and {@value #AUTO_REGISTER_SCHEMAS_CONFIG} (default true; when false the schema must already be
 * registered and is only looked up).
 */
public class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {

    public static final String AUTO_REGISTER_SCHEMAS_CONFIG = "auto.register.schemas";

    private SchemaRegistryClient client;
    private boolean ownsClient;
    private boolean isKey;
    private boolean autoRegister = true;

    /** For Kafka's reflective construction; {@link #configure} creates the registry client. */
    public AvroSerializer() {
    }

    /** Uses {@code client} (not closed by {@link #close()}); ready without {@link #configure}. */
    public AvroSerializer(SchemaRegistryClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        this.isKey = isKey;
        this.autoRegister = SerdeConfigs.bool(configs, AUTO_REGISTER_SCHEMAS_CONFIG, true);
        if (client == null) {
            client = SchemaRegistryClient.fromConfig(configs);
            ownsClient = true;
        }
    }

    @Override
    public byte[] serialize(String topic, T record) {
        if (record == null) {
            return null;
        }
        if (client == null) {
            throw new IllegalStateException("AvroSerializer has no schema registry: call configure() or pass a client");
        }
        Schema schema = record.getSchema();
        String subject = SerdeConfigs.subject(topic, isKey);
        int id = autoRegister ? client.register(subject, schema) : client.lookup(subject, schema);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            out.write(WireFormat.header(id));
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
            // A writer per call: cheap, and it carries the class's own model (logical-type conversions).
            new SpecificDatumWriter<T>(schema, modelOf(record)).write(record, encoder);
            encoder.flush();
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot serialize " + schema.getName() + " for topic " + topic + ": " + e, e);
        }
    }

    @Override
    public void close() {
        if (ownsClient) {
            client.close();
        }
    }

    private static SpecificData modelOf(SpecificRecord record) {
        return record instanceof SpecificRecordBase base ? base.getSpecificData() : SpecificData.getForClass(record.getClass());
    }
}
