package dev.eestream.schemas.serde;

import static dev.eestream.schemas.TestSupport.response;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.topics.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Records written with an older InferenceResponse schema are read by the current class, and the reverse. */
class SchemaEvolutionTest {

    /** The first InferenceResponse: no timings, createdAt, respondedAt or tokenIds. */
    private static final Schema OLD_RESPONSE = new Schema.Parser().parse("""
            {
              "type": "record", "name": "InferenceResponse", "namespace": "dev.eestream.schemas",
              "fields": [
                {"name": "requestId", "type": "string"},
                {"name": "modelId", "type": "string"},
                {"name": "status", "type": {"type": "enum", "name": "ResponseStatus", "symbols": ["OK", "ERROR"], "default": "ERROR"},
                 "default": "OK"},
                {"name": "error", "type": ["null", "string"], "default": null},
                {"name": "scores", "type": ["null", {"type": "array", "items": "float"}], "default": null},
                {"name": "attributes", "type": {"type": "map", "values": "string"}, "default": {}}
              ]
            }""");

    private static final String TOPIC = Topics.RESPONSES_NAME;

    private InMemorySchemaRegistryServer registry;
    private SchemaRegistryClient client;

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().start();
        client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()));
    }

    @AfterEach
    void stop() {
        client.close();
        registry.close();
    }

    @Test
    void currentClassReadsRecordsWrittenWithTheOldSchema() throws IOException {
        int oldId = client.register(TOPIC + "-value", OLD_RESPONSE);
        GenericRecord old = new GenericRecordBuilder(OLD_RESPONSE)
                .set("requestId", "r-old")
                .set("modelId", "minilm-topics")
                .set("status", new GenericData.EnumSymbol(OLD_RESPONSE.getField("status").schema(), "ERROR"))
                .set("error", "model not loaded")
                .set("scores", List.of(0.5f, 0.25f))
                .set("attributes", Map.of("tenant", "acme"))
                .build();
        byte[] bytes = WireFormat.frame(oldId, avro(OLD_RESPONSE, old));

        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceResponse decoded = new AvroDeserializer<>(InferenceResponse.class, reader).deserialize(TOPIC, bytes);
            assertEquals("r-old", decoded.getRequestId());
            assertEquals("minilm-topics", decoded.getModelId());
            assertEquals(ResponseStatus.ERROR, decoded.getStatus());
            assertEquals("model not loaded", decoded.getError());
            assertEquals(List.of(0.5f, 0.25f), decoded.getScores());
            assertEquals(Map.of("tenant", "acme"), decoded.getAttributes());
            // Fields the old writer did not have take the current schema's defaults.
            assertNull(decoded.getTokenIds());
            assertEquals(Instant.EPOCH, decoded.getCreatedAt());
            assertEquals(Instant.EPOCH, decoded.getRespondedAt());
            assertEquals(0L, decoded.getQueuedMs());
            assertEquals(0L, decoded.getInferenceMs());
            assertEquals(0, decoded.getBatchSize());
        }
    }

    @Test
    void oldReaderReadsRecordsWrittenWithTheCurrentSchema() throws IOException {
        int oldId = client.register(TOPIC + "-value", OLD_RESPONSE);
        byte[] bytes = new AvroSerializer<InferenceResponse>(client).serialize(TOPIC, response("r-new"));
        int newId = WireFormat.schemaId(bytes);
        assertNotEquals(oldId, newId, "the current schema is version 2 of the subject");

        // A consumer still on the old schema: writer schema from the registry, its own schema as reader.
        Schema writer;
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            writer = reader.getById(newId);
        }
        GenericRecord decoded = new GenericDatumReader<GenericRecord>(writer, OLD_RESPONSE).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals(OLD_RESPONSE, decoded.getSchema());
        assertEquals("r-new", decoded.get("requestId").toString());
        assertEquals("OK", decoded.get("status").toString());
        assertNull(decoded.get("error"));
        assertEquals(List.of(0.125f, -0.5f, 0.875f, 0.25f), decoded.get("scores"));
        assertEquals("acme", ((Map<?, ?>) decoded.get("attributes")).entrySet().iterator().next().getValue().toString());
    }

    private static byte[] avro(Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
