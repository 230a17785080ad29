package dev.eestream.schemas.serde;

import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.registry.SchemaRegistryException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.utils.Utils;

import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Reads Confluent wire-format records into an Avro specific class. The writer's schema is fetched
 * by id (once; the client caches it) and resolved against the class's schema, so records written
 * with an older or newer compatible schema version are read, with defaults filling missing fields.
 *
 * <p>Every kind of bad input is an {@link UndecodableRecordException} (a {@link SerializationException})
 * whose message is the precise reason and whose {@link UndecodableRecordException#kind() kind} says
 * what is wrong (see {@link WireFormat#tryDecode} to get it without an exception). Registry failures
 * are {@link SchemaRegistryException}s.
 *
 * <p>Configuration ({@link #configure}): the registry properties, unless built with a client, and,
 * unless built with a class, {@value #VALUE_TYPE_CONFIG} (or {@value #KEY_TYPE_CONFIG} for keys):
 * the specific record class or its name.
 *
 * <p>Since Avro 1.12.2 generated classes must be declared trusted before Avro will instantiate
 * them by name; giving this deserializer a class declares that class and the named types of its
 * schema, globally (see {@link org.apache.avro.util.ClassSecurityValidator}).
 */
public class AvroDeserializer<T extends SpecificRecord> implements Deserializer<T> {

    public static final String VALUE_TYPE_CONFIG = "specific.avro.value.type";
    public static final String KEY_TYPE_CONFIG = "specific.avro.key.type";

    private Class<T> type;
    private Schema readerSchema;
    private SpecificData model;
    private SchemaRegistryClient client;
    private boolean ownsClient;
    /** Per writer schema id: its reader, or why that schema cannot be read into the class. */
    private final Map<Integer, Resolution<T>> resolutions = new ConcurrentHashMap<>();

    /** For Kafka's reflective construction; {@link #configure} supplies the class and the registry. */
    public AvroDeserializer() {
    }

    /** Reads {@code type}; {@link #configure} supplies the registry. */
    public AvroDeserializer(Class<T> type) {
        useType(Objects.requireNonNull(type, "type"));
    }

    /** Reads {@code type} through {@code client} (not closed by {@link #close()}); ready without {@link #configure}. */
    public AvroDeserializer(Class<T> type, SchemaRegistryClient client) {
        this(type);
        this.client = Objects.requireNonNull(client, "client");
    }

    /** For {@link AvroSerde}: a shared client it does not own; the class may come later from {@link #configure}. */
    static <T extends SpecificRecord> AvroDeserializer<T> sharing(SchemaRegistryClient client, Class<T> typeOrNull) {
        AvroDeserializer<T> deserializer = typeOrNull != null ? new AvroDeserializer<>(typeOrNull) : new AvroDeserializer<>();
        deserializer.client = client;
        return deserializer;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (type == null) {
            String name = isKey ? KEY_TYPE_CONFIG : VALUE_TYPE_CONFIG;
            Object value = configs.get(name);
            if (value == null) {
                throw new ConfigException("Missing configuration \"" + name + "\": the Avro specific record class to read");
            }
            useType(recordClass(name, value));
        }
        if (client == null) {
            client = SchemaRegistryClient.fromConfig(configs);
            ownsClient = true;
        }
    }

    /** The class records are read into; null until configured. */
    public Class<T> type() {
        return type;
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        if (type == null || client == null) {
            throw new IllegalStateException("AvroDeserializer is not configured: give it a class and a registry client");
        }
        int id = WireFormat.schemaId(bytes);
        Schema writerSchema = writerSchema(id);
        Resolution<T> resolution = resolutions.computeIfAbsent(id, k -> resolve(writerSchema));
        if (resolution.incompatibility() != null) {
            throw new UndecodableRecordException(UndecodableRecordException.Kind.INCOMPATIBLE_SCHEMA, "schema id " + id + " is "
                    + describe(writerSchema) + ", not compatible with " + type.getSimpleName() + ": " + resolution.incompatibility());
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get()
                    .binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null);
            T record = resolution.reader().read(null, decoder);
            if (!decoder.isEnd()) {
                throw new UndecodableRecordException(UndecodableRecordException.Kind.MALFORMED_AVRO,
                        "Avro payload is truncated or does not match schema id " + id + ": "
                        + decoder.inputStream().available() + " bytes left over after the record");
            }
            return record;
        } catch (SerializationException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new UndecodableRecordException(UndecodableRecordException.Kind.MALFORMED_AVRO,
                    "Avro payload is truncated or does not match schema id " + id + ": " + describe(e), e);
        }
    }

    @Override
    public void close() {
        if (ownsClient && client != null) {
            client.close();
        }
    }

    private Schema writerSchema(int id) {
        try {
            return client.getById(id);
        } catch (SchemaRegistryException e) {
            if (e.status() == 404 && e.errorCode() == 40403) {
                throw new UndecodableRecordException(UndecodableRecordException.Kind.UNKNOWN_SCHEMA_ID, "unknown schema id " + id, e);
            }
            throw e;
        }
    }

    private Resolution<T> resolve(Schema writerSchema) {
        SchemaCompatibility.SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writerSchema);
        if (result.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            // Shared across threads once built, as Confluent's deserializer shares its readers.
            return new Resolution<>(new SpecificDatumReader<>(writerSchema, readerSchema, model), null);
        }
        return new Resolution<>(null, result.getResult().getIncompatibilities().stream()
                .map(i -> i.getType() + " at " + i.getLocation() + " (" + i.getMessage() + ")")
                .collect(Collectors.joining("; ")));
    }

    private void useType(Class<T> type) {
        this.type = type;
        this.model = SpecificData.getForClass(type);
        this.readerSchema = model.getSchema(type);
        AvroTrust.declare(readerSchema);
    }

    @SuppressWarnings("unchecked")
    private static <T extends SpecificRecord> Class<T> recordClass(String name, Object value) {
        Class<?> cls;
        if (value instanceof Class<?> c) {
            cls = c;
        } else {
            try {
                cls = Class.forName(value.toString().trim(), true, Utils.getContextOrKafkaClassLoader());
            } catch (ClassNotFoundException e) {
                throw new ConfigException(name, value, "class not found");
            }
        }
        if (!SpecificRecord.class.isAssignableFrom(cls)) {
            throw new ConfigException(name, value, "is not an Avro SpecificRecord class");
        }
        return (Class<T>) cls;
    }

    private static String describe(Schema schema) {
        return switch (schema.getType()) {
            case RECORD, ENUM, FIXED -> schema.getType().getName() + " " + schema.getFullName();
            default -> schema.getType().getName();
        };
    }

    private record Resolution<T>(DatumReader<T> reader, String incompatibility) {
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
    }
}
