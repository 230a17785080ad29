package dev.eestream.schemas.topics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.TestSupport;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicsTest {
    @Test
    void theDefaultsAndConfiguredNames() {
        assertEquals(List.of("eestream.requests", "eestream.responses", "eestream.requests.dlq"), Topics.DEFAULT.names());
        Topics renamed = Topics.named("a.requests", "a.responses", "a.dlq");
        assertEquals(List.of("a.requests", "a.responses", "a.dlq"), renamed.names());
        assertEquals("eestream.replies", Topics.REPLIES.name());
    }

    @Test
    void anAvroTopicsSerdesRegisterUnderItsOwnNameAndRoundTrip() throws Exception {
        try (InMemorySchemaRegistryServer registry = InMemorySchemaRegistryServer.builder().start();
             SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            Map<String, Object> config = Map.of(RegistrySettings.URL_CONFIG, registry.url());
            Topic<InferenceRequest> topic = Topics.REQUESTS.named("tenant-a.requests");
            InferenceRequest request = TestSupport.request("r1");
            byte[] bytes = topic.valueSerializer(config).serialize(topic.name(), request);
            assertEquals(request, topic.valueDeserializer(config).deserialize(topic.name(), bytes));
            assertEquals(request, topic.valueSerde(config).deserializer().deserialize(topic.name(), bytes));
            // Registered under the topic's own subject: a lookup there finds the id the record carries.
            assertEquals(client.lookup("tenant-a.requests-value", InferenceRequest.getClassSchema()),
                    java.nio.ByteBuffer.wrap(bytes, 1, 4).getInt());
            assertEquals("r1", topic.keySerde().deserializer().deserialize(topic.name(),
                    topic.keySerde().serializer().serialize(topic.name(), "r1")));
        }
    }

    @Test
    void deadLettersKeepTheirBytes() {
        byte[] junk = {0, 1, 2, (byte) 0xff};
        Topic<byte[]> dlq = Topics.DEAD_LETTERS;
        assertArrayEquals(junk, dlq.valueDeserializer(Map.of()).deserialize(dlq.name(), dlq.valueSerializer(Map.of()).serialize(dlq.name(), junk)));
    }
}
