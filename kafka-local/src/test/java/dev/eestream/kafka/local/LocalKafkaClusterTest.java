package dev.eestream.kafka.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.cluster.BrokerCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three real KRaft nodes, each in a child JVM: replication, a SIGKILLed node, its restart, and the data directory's node count. */
@Tag("integration")
class LocalKafkaClusterTest {

    @Test
    void threeBrokersKeepEveryCommittedRecordThroughAKilledNode() throws Exception {
        try (LocalKafka kafka = LocalKafka.builder().brokers(3).restartDelay(Duration.ofSeconds(2)).build().start()) {
            assertEquals(3, kafka.bootstrapServers().split(",").length, kafka.bootstrapServers());
            kafka.createTopic("replicated", 3);
            TopicDescription topic = describe(kafka, "replicated");
            for (TopicPartitionInfo partition : topic.partitions()) {
                assertEquals(3, partition.replicas().size(), "replicas of " + partition);
                assertEquals(3, partition.isr().size(), "in-sync replicas of " + partition);
            }
            assertEquals("2", topicConfig(kafka, "replicated", "min.insync.replicas"));
            LocalKafkaTest.produce(kafka, "replicated", "writer", "before", 100, true);

            BrokerCluster cluster = kafka.cluster().orElseThrow();
            int victim = topic.partitions().get(0).leader().id();
            long oldPid = cluster.pid(victim);
            cluster.kill(victim);
            // Two of three replicas are enough for acks=all with min.insync.replicas=2: writes go on while it is down.
            LocalKafkaTest.produce(kafka, "replicated", "writer", "while-down", 100, true);
            LocalKafkaTest.produce(kafka, "replicated", "writer", "aborted", 10, false);

            assertTrue(cluster.awaitRunning(victim, Duration.ofSeconds(90)), "broker " + victim + " was not started again");
            assertNotEquals(oldPid, cluster.pid(victim), "a new process");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (describe(kafka, "replicated").partitions().stream().anyMatch(partition -> partition.isr().size() < 3)) {
                assertTrue(System.nanoTime() < deadline, "the restarted broker did not catch up: " + describe(kafka, "replicated"));
                Thread.sleep(200);
            }
            List<ConsumerRecord<String, String>> records = LocalKafkaTest.readCommitted(kafka, "replicated");
            assertEquals(200, records.size());
            assertEquals(100, records.stream().filter(record -> record.value().startsWith("while-down-")).count());
            assertTrue(records.stream().noneMatch(record -> record.value().startsWith("aborted-")), "aborted records were read");
        }
    }

    @Test
    void aDataDirectoryServesTheBrokerCountItWasMadeFor(@TempDir Path dir) throws Exception {
        long started = System.nanoTime();
        LocalKafka kafka = LocalKafka.builder().brokers(3).dataDirectory(dir).build().start();
        long closing;
        try (kafka) {
            System.out.printf("a cluster of three brokers: started in %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
            kafka.createTopic("kept", 1);
            LocalKafkaTest.produce(kafka, "kept", "writer", "kept", 10, true);
            closing = System.nanoTime();
        }
        System.out.printf("a cluster of three brokers: closed in %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing));
        IllegalStateException single = assertThrows(IllegalStateException.class,
                () -> LocalKafka.builder().dataDirectory(dir).build().start());
        assertTrue(single.getMessage().contains("was made for 3 brokers, not 1"), single.getMessage());
        try (LocalKafka again = LocalKafka.builder().brokers(3).dataDirectory(dir).build().start()) {
            // A restarted leader starts from its last checkpointed high watermark (written every 5 s), so the records
            // become readable once the followers have caught up again: wait for that, but not for ever.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            int kept = LocalKafkaTest.readCommitted(again, "kept").size();
            while (kept < 10 && System.nanoTime() < deadline) {
                Thread.sleep(500);
                kept = LocalKafkaTest.readCommitted(again, "kept").size();
            }
            assertEquals(10, kept, "records kept across a restart of the cluster");
        }
    }

    private static TopicDescription describe(LocalKafka kafka, String topic) throws Exception {
        try (Admin admin = Admin.create(new HashMap<>(kafka.clientProperties()))) {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
        }
    }

    private static String topicConfig(LocalKafka kafka, String topic, String name) throws Exception {
        try (Admin admin = Admin.create(new HashMap<>(kafka.clientProperties()))) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS);
            return configs.get(resource).get(name).value();
        }
    }
}
