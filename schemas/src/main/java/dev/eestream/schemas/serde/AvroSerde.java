package dev.eestream.schemas.serde;

import dev.eestream.schemas.registry.SchemaRegistryClient;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.util.Map;
import java.util.Objects;

/**
 * {@link AvroSerializer} and {@link AvroDeserializer} together, sharing one registry client.
 * Either built ready with {@link #forClass(Class, SchemaRegistryClient)}, or configured from
 * properties (e.g. as Kafka Streams' {@code default.value.serde}, with
 * {@value AvroDeserializer#VALUE_TYPE_CONFIG} naming the class).
 */
public class AvroSerde<T extends SpecificRecord> implements Serde<T> {

    private final Class<T> type;
    private SchemaRegistryClient client;
    private boolean ownsClient;
    private AvroSerializer<T> serializer;
    private AvroDeserializer<T> deserializer;

    /** For reflective construction: {@link #configure} supplies the class and the registry. */
    public AvroSerde() {
        this.type = null;
    }

    /** {@link #configure} supplies the registry. */
    public AvroSerde(Class<T> type) {
        this.type = Objects.requireNonNull(type, "type");
    }

    private AvroSerde(Class<T> type, SchemaRegistryClient client) {
        this.type = type;
        useClient(client, false);
    }

    /** A ready serde for {@code type} through {@code client}, which it does not close. */
    public static <T extends SpecificRecord> AvroSerde<T> forClass(Class<T> type, SchemaRegistryClient client) {
        return new AvroSerde<>(Objects.requireNonNull(type, "type"), Objects.requireNonNull(client, "client"));
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (client == null) {
            useClient(SchemaRegistryClient.fromConfig(configs), true);
        }
        serializer.configure(configs, isKey);
        deserializer.configure(configs, isKey);
    }

    @Override
    public Serializer<T> serializer() {
        requireClient();
        return serializer;
    }

    @Override
    public Deserializer<T> deserializer() {
        requireClient();
        return deserializer;
    }

    @Override
    public void close() {
        if (ownsClient) {
            client.close();
        }
    }

    private void useClient(SchemaRegistryClient client, boolean owned) {
        this.client = client;
        this.ownsClient = owned;
        this.serializer = new AvroSerializer<>(client);
        this.deserializer = AvroDeserializer.sharing(client, type);
    }

    private void requireClient() {
        if (client == null) {
            throw new IllegalStateException("AvroSerde has no schema registry: call configure() or use forClass(type, client)");
        }
    }
}
