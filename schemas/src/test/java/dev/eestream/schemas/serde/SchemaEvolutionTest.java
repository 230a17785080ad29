package dev.eestream.schemas.serde;

import static dev.eestream.schemas.TestSupport.request;
import static dev.eestream.schemas.TestSupport.response;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
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

/** Records written with older schemas are read by the current classes, and the reverse. */
class SchemaEvolutionTest {

    /** InferenceRequest version 1: no generation parameters. */
    private static final Schema V1_REQUEST = new Schema.Parser().parse("""
            {
              "type": "record", "name": "InferenceRequest", "namespace": "dev.eestream.schemas",
              "fields": [
                {"name": "requestId", "type": "string"},
                {"name": "modelId", "type": "string"},
                {"name": "tokenIds", "type": {"type": "array", "items": "long"}},
                {"name": "replyTopic", "type": ["null", "string"], "default": null},
                {"name": "createdAt", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
                {"name": "attributes", "type": {"type": "map", "values": "string"}, "default": {}}
              ]
            }""");

    /** InferenceResponse version 1: no chunk number, final flag, finish reason or token counts. */
    private static final Schema V1_RESPONSE = new Schema.Parser().parse("""
            {
              "type": "record", "name": "InferenceResponse", "namespace": "dev.eestream.schemas",
              "fields": [
                {"name": "requestId", "type": "string"},
                {"name": "modelId", "type": "string"},
                {"name": "status", "type": {"type": "enum", "name": "ResponseStatus", "symbols": ["OK", "ERROR"], "default": "ERROR"},
                 "default": "OK"},
                {"name": "error", "type": ["null", "string"], "default": null},
                {"name": "scores", "type": ["null", {"type": "array", "items": "float"}], "default": null},
                {"name": "tokenIds", "type": ["null", {"type": "array", "items": "long"}], "default": null},
                {"name": "attributes", "type": {"type": "map", "values": "string"}, "default": {}},
                {"name": "createdAt", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
                {"name": "respondedAt", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
                {"name": "queuedMs", "type": "long", "default": 0},
                {"name": "inferenceMs", "type": "long", "default": 0},
                {"name": "batchSize", "type": "int", "default": 0}
              ]
            }""");

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

    @Test
    void aVersion1RequestIsReadWithDefaultGenerationAndAVersion2RequestByAVersion1Reader() throws IOException {
        String topic = Topics.REQUESTS_NAME;
        int v1 = client.register(topic + "-value", V1_REQUEST);
        GenericRecord old = new GenericRecordBuilder(V1_REQUEST).set("requestId", "r-v1").set("modelId", "m")
                .set("tokenIds", List.of(5L, 6L)).set("replyTopic", null).set("createdAt", 7L).set("attributes", Map.of()).build();
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceRequest decoded = new AvroDeserializer<>(InferenceRequest.class, reader)
                    .deserialize(topic, WireFormat.frame(v1, avro(V1_REQUEST, old)));
            assertEquals(List.of(5L, 6L), decoded.getTokenIds());
            assertNull(decoded.getGeneration(), "a v1 request asks for no generation settings");
        }

        InferenceRequest current = InferenceRequest.newBuilder(request("r-v2")).setGeneration(GenerationParams.newBuilder()
                .setMaxNewTokens(12).setTemperature(0.7f).setTopK(40).setSeed(99L).setStopTokenIds(List.of(3L)).setStream(true)
                .build()).build();
        byte[] bytes = new AvroSerializer<InferenceRequest>(client).serialize(topic, current);
        assertNotEquals(v1, WireFormat.schemaId(bytes), "version 2 is a new version of the subject (the registry checked compatibility)");
        Schema writer = client.getById(WireFormat.schemaId(bytes));
        GenericRecord byV1 = new GenericDatumReader<GenericRecord>(writer, V1_REQUEST).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals("r-v2", byV1.get("requestId").toString());
        assertEquals(current.getTokenIds(), byV1.get("tokenIds"));
    }

    /** InferenceRequest version 2: the current schema without version 3's deadline and cancel flag. */
    private static Schema v2Request() {
        Schema current = InferenceRequest.getClassSchema();
        List<Schema.Field> fields = new java.util.ArrayList<>();
        for (Schema.Field f : current.getFields()) {
            if (!f.name().equals("cancel") && !f.name().equals("deadline")) {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        return Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false, fields);
    }

    @Test
    void aVersion2RequestIsNoCancelAndAVersion2ReaderSeesACancelAsAnEmptyRequest() throws IOException {
        String topic = Topics.REQUESTS_NAME;
        Schema v2 = v2Request();
        int v2Id = client.register(topic + "-value", v2);
        GenericRecord old = new GenericRecordBuilder(v2).set("requestId", "r-v2").set("modelId", "m").set("tokenIds", List.of(5L))
                .set("replyTopic", null).set("createdAt", 7L).set("attributes", Map.of()).set("generation", null).build();
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceRequest decoded = new AvroDeserializer<>(InferenceRequest.class, reader)
                    .deserialize(topic, WireFormat.frame(v2Id, avro(v2, old)));
            assertEquals(List.of(5L), decoded.getTokenIds());
            assertFalse(decoded.getCancel(), "a version 2 request is a request");
        }

        InferenceRequest cancel = InferenceRequest.newBuilder().setRequestId("r-v3").setModelId("m").setTokenIds(List.of())
                .setCancel(true).build();
        byte[] bytes = new AvroSerializer<InferenceRequest>(client).serialize(topic, cancel);
        assertNotEquals(v2Id, WireFormat.schemaId(bytes), "version 3 is a new version of the subject (the registry checked compatibility)");
        assertEquals(cancel, new AvroDeserializer<>(InferenceRequest.class, client).deserialize(topic, bytes));
        Schema writer = client.getById(WireFormat.schemaId(bytes));
        GenericRecord byV2 = new GenericDatumReader<GenericRecord>(writer, v2).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals("r-v3", byV2.get("requestId").toString());
        assertEquals(List.of(), byV2.get("tokenIds"), "an old processor sees an empty request and answers it ERROR");
    }

    @Test
    void generationParametersHaveTheDocumentedDefaults() {
        GenerationParams p = GenerationParams.newBuilder().build();
        assertEquals(64, p.getMaxNewTokens());
        assertEquals(0.0f, p.getTemperature());
        assertEquals(1.0f, p.getTopP());
        assertEquals(0, p.getTopK());
        assertNull(p.getSeed());
        assertEquals(List.of(), p.getStopTokenIds());
        assertFalse(p.getStream());
    }

    @Test
    void aVersion1ResponseReadsAsOneFinalChunkAndAVersion1ReaderSkipsTheGenerationFields() throws IOException {
        int v1 = client.register(TOPIC + "-value", V1_RESPONSE);
        GenericRecord old = new GenericRecordBuilder(V1_RESPONSE).set("requestId", "r-v1").set("modelId", "m")
                .set("status", new GenericData.EnumSymbol(V1_RESPONSE.getField("status").schema(), "OK"))
                .set("tokenIds", List.of(9L)).build();
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceResponse decoded = new AvroDeserializer<>(InferenceResponse.class, reader)
                    .deserialize(TOPIC, WireFormat.frame(v1, avro(V1_RESPONSE, old)));
            assertEquals(0, decoded.getChunk());
            assertTrue(decoded.getFinalChunk(), "an answer from before streaming is complete in one record");
            assertNull(decoded.getFinishReason());
            assertEquals(0, decoded.getPromptTokens());
            assertEquals(0, decoded.getGeneratedTokens());
        }

        InferenceResponse chunk = InferenceResponse.newBuilder(response("r-v2")).setChunk(3).setFinalChunk(true)
                .setFinishReason(FinishReason.LENGTH).setPromptTokens(11).setGeneratedTokens(16).build();
        byte[] bytes = new AvroSerializer<InferenceResponse>(client).serialize(TOPIC, chunk);
        assertEquals(chunk, new AvroDeserializer<>(InferenceResponse.class, client).deserialize(TOPIC, bytes));
        Schema writer = client.getById(WireFormat.schemaId(bytes));
        GenericRecord byV1 = new GenericDatumReader<GenericRecord>(writer, V1_RESPONSE).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals("r-v2", byV1.get("requestId").toString());
        assertEquals(List.of(7L, 8L), byV1.get("tokenIds"));
    }

    /** InferenceResponse version 2: the current schema without the status EXPIRED. */
    private static Schema v2Response() {
        String current = InferenceResponse.getClassSchema().toString();
        String v2 = current.replace("[\"OK\",\"ERROR\",\"EXPIRED\"]", "[\"OK\",\"ERROR\"]");
        assertNotEquals(current, v2, "the current schema has the EXPIRED symbol");
        return new Schema.Parser().parse(v2);
    }

    @Test
    void aVersion2RequestReadsWithoutADeadlineAndAVersion3RequestByAVersion2Reader() throws IOException {
        String topic = Topics.REQUESTS_NAME;
        Schema v2Schema = v2Request();
        int v2 = client.register(topic + "-value", v2Schema);
        GenericRecord old = new GenericRecordBuilder(v2Schema).set("requestId", "r-v2").set("modelId", "m")
                .set("tokenIds", List.of(5L, 6L)).set("replyTopic", null).set("createdAt", 7L).set("attributes", Map.of())
                .set("generation", null).build();
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceRequest decoded = new AvroDeserializer<>(InferenceRequest.class, reader)
                    .deserialize(topic, WireFormat.frame(v2, avro(v2Schema, old)));
            assertEquals(List.of(5L, 6L), decoded.getTokenIds());
            assertNull(decoded.getDeadline(), "a version 2 request has no deadline");
        }

        InferenceRequest current = InferenceRequest.newBuilder(request("r-v3")).setDeadline(Instant.ofEpochMilli(1_700_000_000_123L))
                .build();
        byte[] bytes = new AvroSerializer<InferenceRequest>(client).serialize(topic, current);
        assertNotEquals(v2, WireFormat.schemaId(bytes), "version 3 is a new version of the subject (the registry checked compatibility)");
        assertEquals(current, new AvroDeserializer<>(InferenceRequest.class, client).deserialize(topic, bytes));
        Schema writer = client.getById(WireFormat.schemaId(bytes));
        GenericRecord byV2 = new GenericDatumReader<GenericRecord>(writer, v2Schema).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals("r-v3", byV2.get("requestId").toString());
        assertEquals(current.getTokenIds(), byV2.get("tokenIds"));
    }

    @Test
    void anExpiredAnswerReadsAsErrorForAVersion2Reader() throws IOException {
        Schema v2Schema = v2Response();
        client.register(TOPIC + "-value", v2Schema);
        InferenceResponse expired = InferenceResponse.newBuilder(response("r-late")).setStatus(ResponseStatus.EXPIRED)
                .setError("its deadline passed before it started").setScores(null).build();
        byte[] bytes = new AvroSerializer<InferenceResponse>(client).serialize(TOPIC, expired);
        assertEquals(expired, new AvroDeserializer<>(InferenceResponse.class, client).deserialize(TOPIC, bytes));
        Schema writer = client.getById(WireFormat.schemaId(bytes));
        GenericRecord byV2 = new GenericDatumReader<GenericRecord>(writer, v2Schema).read(null,
                DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_SIZE, bytes.length - WireFormat.HEADER_SIZE, null));
        assertEquals("ERROR", byV2.get("status").toString(), "a reader without EXPIRED takes the enum's default");
        assertEquals("its deadline passed before it started", byV2.get("error").toString());
    }

    private static byte[] avro(Schema schema, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
