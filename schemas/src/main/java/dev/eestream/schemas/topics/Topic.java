package dev.eestream.schemas.topics;

import dev.eestream.schemas.serde.AvroDeserializer;
import dev.eestream.schemas.serde.AvroSerde;
import dev.eestream.schemas.serde.AvroSerializer;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A topic's name with the serdes of its records: keys are request ids (strings), values are Avro in
 * the Confluent wire format or raw bytes. Immutable; {@link #named(String)} gives the same kind of
 * topic under a configured name.
 */
public final class Topic<V> {
    private final String name;
    private final Format<V> format;

    /** Unconfigured value serdes; each configured one owns its registry client and closes it. */
    private record Format<V>(Supplier<Serde<V>> serde, Supplier<Serializer<V>> serializer, Supplier<Deserializer<V>> deserializer) {
    }

    private Topic(String name, Format<V> format) {
        this.name = Objects.requireNonNull(name, "name");
        this.format = format;
    }

    /** A topic of Avro records of {@code type}, registered under {@code <topic>-value}. */
    public static <V extends SpecificRecord> Topic<V> avro(String name, Class<V> type) {
        return new Topic<>(name, new Format<>(() -> new AvroSerde<>(type), AvroSerializer::new, () -> new AvroDeserializer<>(type)));
    }

    /** A topic of raw bytes (dead letters keep the bytes that did not decode). */
    public static Topic<byte[]> bytes(String name) {
        return new Topic<>(name, new Format<>(Serdes::ByteArray, ByteArraySerializer::new, ByteArrayDeserializer::new));
    }

    public String name() {
        return name;
    }

    /** The same kind of topic under another name. */
    public Topic<V> named(String otherName) {
        return new Topic<>(otherName, format);
    }

    public Serde<String> keySerde() {
        return Serdes.String();
    }

    /** A new value serde configured from Kafka-style settings (the schema registry's among them). */
    public Serde<V> valueSerde(Map<String, ?> config) {
        Serde<V> serde = format.serde().get();
        serde.configure(config, false);
        return serde;
    }

    public Serializer<V> valueSerializer(Map<String, ?> config) {
        Serializer<V> serializer = format.serializer().get();
        serializer.configure(config, false);
        return serializer;
    }

    public Deserializer<V> valueDeserializer(Map<String, ?> config) {
        Deserializer<V> deserializer = format.deserializer().get();
        deserializer.configure(config, false);
        return deserializer;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Topic<?> t && t.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
