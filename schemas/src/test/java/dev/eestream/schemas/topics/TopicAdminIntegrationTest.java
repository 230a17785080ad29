package dev.eestream.schemas.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.LocalKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The one topic-creating helper against a real broker: creates what is missing, keeps what exists. */
@Tag("integration")
class TopicAdminIntegrationTest {
    private static LocalKafka kafka;

    @BeforeAll
    static void start() {
        kafka = LocalKafka.builder().build().start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> config() {
        return Map.of("bootstrap.servers", kafka.bootstrapServers());
    }

    @Test
    void createsMissingTopicsWithTheirPartitionsAndKeepsExistingOnes() throws Exception {
        List<String> created = TopicAdmin.ensure(config(), List.of(TopicAdmin.Spec.of("ta.a", 3), TopicAdmin.Spec.of("ta.b", 1)),
                Duration.ofSeconds(30));
        assertEquals(List.of("ta.a", "ta.b"), created.stream().sorted().toList());
        // Asked again with other partition counts: nothing is created and nothing changes.
        assertEquals(List.of(), TopicAdmin.ensure(config(), List.of(TopicAdmin.Spec.of("ta.a", 5)), Duration.ofSeconds(30)));
        try (Admin admin = Admin.create(config())) {
            Map<String, TopicDescription> d = admin.describeTopics(List.of("ta.a", "ta.b")).allTopicNames().get();
            assertEquals(3, d.get("ta.a").partitions().size());
            assertEquals(1, d.get("ta.b").partitions().size());
            assertTrue(d.get("ta.a").partitions().stream().allMatch(p -> p.leader() != null), "every partition has a leader");
        }
    }

    @Test
    void racingCreatorsBothSucceedAndTheTopicIsCreatedOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit(() -> TopicAdmin.ensure(config(), List.of(TopicAdmin.Spec.of("ta.race", 2)), Duration.ofSeconds(30))));
            }
            int creations = 0;
            for (Future<List<String>> r : results) {
                creations += r.get().size();
            }
            assertTrue(creations <= 1, "created " + creations + " times");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRefusedTopicIsOneClearError() {
        TopicAdmin.TopicAdminException e = assertThrows(TopicAdmin.TopicAdminException.class,
                () -> TopicAdmin.ensure(config(), List.of(new TopicAdmin.Spec("ta.too-many-replicas", 1, (short) 3)), Duration.ofSeconds(30)));
        assertTrue(e.getMessage().contains("cannot create topic 'ta.too-many-replicas'"), e.getMessage());
    }
}
