package dev.eestream.schemas.serde;

import static dev.eestream.schemas.TestSupport.request;
import static dev.eestream.schemas.TestSupport.response;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.TestSupport;
import dev.eestream.schemas.registry.RegistryFaults;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.topics.Topics;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

    private InMemorySchemaRegistryServer registry;
    private final RegistryFaults faults = new RegistryFaults();
    private SchemaRegistryClient client;

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().interceptor(faults).start();
        client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()));
    }

    @AfterEach
    void stop() {
        client.close();
        registry.close();
    }

    @Test
    void roundTripsRequestsInTheWireFormat() {
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>(client);
        byte[] bytes = serializer.serialize(Topics.REQUESTS_NAME, request("r-1"));

        int id = registeredId("eestream.requests-value");
        assertEquals(0, bytes[0]);
        assertEquals(id, ByteBuffer.wrap(bytes, 1, 4).getInt());
        assertEquals(id, WireFormat.schemaId(bytes));

        // Another process, with its own client, reads it back; kcat would do the same GET.
        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            InferenceRequest decoded = new AvroDeserializer<>(InferenceRequest.class, reader).deserialize(Topics.REQUESTS_NAME, bytes);
            assertEquals(request("r-1"), decoded);
        }
        TestSupport.Reply schema = TestSupport.get(registry.url() + "/schemas/ids/" + id);
        assertEquals(200, schema.status());
        assertEquals(InferenceRequest.getClassSchema(),
                new Schema.Parser().parse(JsonParser.parseString(schema.body()).getAsJsonObject().get("schema").getAsString()));
    }

    @Test
    void roundTripsResponses() {
        try (AvroSerde<InferenceResponse> serde = AvroSerde.forClass(InferenceResponse.class, client)) {
            byte[] bytes = serde.serializer().serialize(Topics.RESPONSES_NAME, response("r-2"));
            assertEquals(registeredId("eestream.responses-value"), WireFormat.schemaId(bytes));
            InferenceResponse decoded = serde.deserializer().deserialize(Topics.RESPONSES_NAME, bytes);
            assertEquals(response("r-2"), decoded);
            assertEquals(List.of(0.125f, -0.5f, 0.875f, 0.25f), decoded.getScores());
            assertEquals(response("r-2").getRespondedAt(), decoded.getRespondedAt());
        }
    }

    @Test
    void nullIsNull() {
        assertNull(new AvroSerializer<InferenceRequest>(client).serialize("t", null));
        assertNull(new AvroDeserializer<>(InferenceRequest.class, client).deserialize("t", null));
        assertEquals(0, faults.requestCount());
    }

    @Test
    void registersOncePerTopicAndFetchesOncePerId() {
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>(client);
        int before = faults.requestCount();
        List<byte[]> records = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            records.add(serializer.serialize(Topics.REQUESTS_NAME, request("r-" + i)));
        }
        assertEquals(before + 1, faults.requestCount(), "100 records, one registration");

        try (SchemaRegistryClient reader = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            AvroDeserializer<InferenceRequest> deserializer = new AvroDeserializer<>(InferenceRequest.class, reader);
            int beforeReads = faults.requestCount();
            for (int i = 0; i < 100; i++) {
                assertEquals("r-" + i, deserializer.deserialize(Topics.REQUESTS_NAME, records.get(i)).getRequestId());
            }
            assertEquals(beforeReads + 1, faults.requestCount(), "100 records, one schema fetch");
        }
    }

    @Test
    void configuresFromPropertiesLikeKafkaDoes() {
        Map<String, Object> props = Map.of(
                RegistrySettings.URL_CONFIG, registry.url(),
                AvroDeserializer.KEY_TYPE_CONFIG, InferenceRequest.class.getName(),
                AvroDeserializer.VALUE_TYPE_CONFIG, InferenceResponse.class);
        try (Serializer<InferenceRequest> keySerializer = new AvroSerializer<>();
             Deserializer<InferenceRequest> keyDeserializer = new AvroDeserializer<>();
             AvroSerde<InferenceResponse> valueSerde = new AvroSerde<>()) {
            keySerializer.configure(props, true);
            keyDeserializer.configure(props, true);
            valueSerde.configure(props, false);

            byte[] key = keySerializer.serialize("t", request("k"));
            assertEquals(registeredId("t-key"), WireFormat.schemaId(key), "keys use the <topic>-key subject");
            assertEquals(request("k"), keyDeserializer.deserialize("t", key));
            byte[] value = valueSerde.serializer().serialize("t", response("v"));
            assertEquals(registeredId("t-value"), WireFormat.schemaId(value));
            assertEquals(response("v"), valueSerde.deserializer().deserialize("t", value));
        }
        ConfigException missing = assertThrows(ConfigException.class,
                () -> new AvroDeserializer<>().configure(Map.of(RegistrySettings.URL_CONFIG, registry.url()), false));
        assertTrue(missing.getMessage().contains(AvroDeserializer.VALUE_TYPE_CONFIG), missing.getMessage());
        ConfigException notAvro = assertThrows(ConfigException.class, () -> new AvroDeserializer<>().configure(
                Map.of(RegistrySettings.URL_CONFIG, registry.url(), AvroDeserializer.VALUE_TYPE_CONFIG, "java.lang.String"), false));
        assertTrue(notAvro.getMessage().contains("is not an Avro SpecificRecord class"), notAvro.getMessage());
        assertThrows(IllegalStateException.class, () -> new AvroSerde<>(InferenceRequest.class).serializer());
    }

    @Test
    void withoutAutoRegisterOnlyLooksUp() {
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>(client);
        serializer.configure(Map.of(AvroSerializer.AUTO_REGISTER_SCHEMAS_CONFIG, "false"), false);
        SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> serializer.serialize("t", request("a")));
        assertEquals(404, e.status());
        assertTrue(e.getMessage().startsWith("looking up schema dev.eestream.schemas.InferenceRequest under subject t-value failed: POST "),
                e.getMessage());
        assertEquals("[]", TestSupport.get(registry.url() + "/subjects").body(), "nothing was registered");

        int id;
        try (SchemaRegistryClient admin = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            id = admin.register("t-value", InferenceRequest.getClassSchema());
        }
        assertEquals(id, WireFormat.schemaId(serializer.serialize("t", request("a"))));
    }

    @Test
    void isSafeToShareAcrossThreads() throws Exception {
        AvroSerde<InferenceRequest> serde = AvroSerde.forClass(InferenceRequest.class, client);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<InferenceRequest>> results = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String id = "r-" + i;
                results.add(pool.submit(() -> serde.deserializer().deserialize("t", serde.serializer().serialize("t", request(id)))));
            }
            for (int i = 0; i < 200; i++) {
                assertEquals(request("r-" + i), results.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void framesPayloads() {
        assertArrayEquals(new byte[] {0, 0, 0, 1, 2, 42}, WireFormat.frame(258, new byte[] {42}));
    }

    private int registeredId(String subject) {
        TestSupport.Reply latest = TestSupport.get(registry.url() + "/subjects/" + subject + "/versions/latest");
        assertEquals(200, latest.status(), latest.body());
        return JsonParser.parseString(latest.body()).getAsJsonObject().get("id").getAsInt();
    }
}
