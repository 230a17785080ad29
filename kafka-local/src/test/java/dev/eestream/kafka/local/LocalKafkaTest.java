package dev.eestream.kafka.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real in-process broker: no mocks. */
@Tag("integration")
class LocalKafkaTest {

    @Test
    void transactionsCommitAndAbortOnOneNode() throws Exception {
        // Capture stderr (where slf4j-simple writes) to check that starting prints no INFO flood.
        PrintStream originalErr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        LocalKafka kafka;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            kafka = timedStart(LocalKafka.builder(), "transactions");
        } finally {
            System.setErr(originalErr);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        System.err.print(log);

        try (kafka) {
            assertFalse(log.contains(" INFO "), "broker start logged at INFO");
            kafka.createTopic("tx", 3);
            produce(kafka, "tx", "tx-writer", "committed", 100, true);
            produce(kafka, "tx", "tx-writer", "aborted", 10, false);

            List<ConsumerRecord<String, String>> records = readCommitted(kafka, "tx");
            assertEquals(100, records.size());
            assertTrue(records.stream().allMatch(r -> r.value().startsWith("committed-")), "aborted records were read");
            assertEquals(3, records.stream().map(ConsumerRecord::partition).distinct().count());
        }
    }

    @Test
    void restartOnTheSameDirectoryKeepsTheData(@TempDir Path dir) throws Exception {
        String clusterId;
        try (LocalKafka kafka = timedStart(LocalKafka.builder().dataDirectory(dir), "first start on a directory")) {
            clusterId = clusterId(kafka);
            kafka.createTopic("kept", 3);
            produce(kafka, "kept", "writer", "first", 100, true);
        }
        assertTrue(Files.isDirectory(dir.resolve("logs")), "a given data directory must be kept");

        try (LocalKafka kafka = timedStart(LocalKafka.builder().dataDirectory(dir), "restart on the same directory")) {
            assertEquals(clusterId, clusterId(kafka), "the directory was formatted again");
            kafka.createTopic("kept", 3); // already there: left as it is
            assertEquals(100, readCommitted(kafka, "kept").size());

            produce(kafka, "kept", "writer", "second", 20, true);
            List<String> values = values(readCommitted(kafka, "kept"));
            assertEquals(120, values.size());
            assertEquals(20, values.stream().filter(v -> v.startsWith("second-")).count());
        }
    }

    @Test
    void twoBrokersDoNotInterfere() throws Exception {
        try (LocalKafka a = timedStart(LocalKafka.builder(), "broker A");
             LocalKafka b = timedStart(LocalKafka.builder(), "broker B, next to A")) {
            assertNotEquals(a.bootstrapServers(), b.bootstrapServers());
            assertNotEquals(a.dataDirectory(), b.dataDirectory());
            assertNotEquals(clusterId(a), clusterId(b));

            a.createTopics("shared-name");
            b.createTopics("shared-name");
            produce(a, "shared-name", "same-id", "a", 7, true);
            produce(b, "shared-name", "same-id", "b", 3, true);

            List<String> fromA = values(readCommitted(a, "shared-name"));
            List<String> fromB = values(readCommitted(b, "shared-name"));
            assertEquals(7, fromA.size());
            assertEquals(3, fromB.size());
            assertTrue(fromA.stream().allMatch(v -> v.startsWith("a-")));
            assertTrue(fromB.stream().allMatch(v -> v.startsWith("b-")));
        }
    }

    @Test
    void closeIsIdempotentBoundedAndDeletesTheTempDirectory() throws Exception {
        LocalKafka kafka = timedStart(LocalKafka.builder().startupTimeout(Duration.ofSeconds(60)), "close test");
        Path dir = kafka.dataDirectory();
        assertTrue(kafka.isRunning());
        kafka.createTopics("before-close");
        produce(kafka, "before-close", "closer", "v", 5, true);

        long t0 = System.nanoTime();
        kafka.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.printf("LocalKafka close: %d ms%n", closeMillis);
        assertTrue(closeMillis < 30_000, "close took " + closeMillis + " ms");

        assertFalse(kafka.isRunning());
        assertFalse(Files.exists(dir), "temporary data directory left behind: " + dir);
        kafka.close();
        assertFalse(kafka.isRunning());

        // Never started: nothing was created, so there is nothing to clean up.
        LocalKafka idle = LocalKafka.builder().build();
        assertNull(idle.dataDirectory());
        idle.close();
        assertThrows(IllegalStateException.class, idle::start);
    }

    @Test
    void aTakenPortFailsTheStartAndCleansUp() throws Exception {
        try (LocalKafka running = LocalKafka.builder().build().start()) {
            int taken = Integer.parseInt(running.bootstrapServers().split(":")[1]);
            LocalKafka clash = LocalKafka.builder().port(taken).build();
            IllegalStateException e = assertThrows(IllegalStateException.class, clash::start);
            assertTrue(e.getMessage().contains("failed to start"), e.getMessage());
            assertFalse(clash.isRunning());
            assertFalse(Files.exists(clash.dataDirectory()), "temporary data directory left behind");
            clash.close();
            // The running broker is unharmed.
            assertEquals(1, timedDescribe(running));
        }
    }

    /** Starts and prints how long it took until a client's describeCluster succeeded. */
    private static LocalKafka timedStart(LocalKafka.Builder builder, String label) throws Exception {
        long t0 = System.nanoTime();
        LocalKafka kafka = builder.build().start();
        timedDescribe(kafka);
        System.out.printf("LocalKafka start-up [%s] (format + start until Admin describeCluster succeeds): %d ms%n",
                label, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        return kafka;
    }

    private static int timedDescribe(LocalKafka kafka) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
        }
    }

    private static List<String> values(List<ConsumerRecord<String, String>> records) {
        return records.stream().map(ConsumerRecord::value).toList();
    }

    private static String clusterId(LocalKafka kafka) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        }
    }

    static void produce(LocalKafka kafka, String topic, String transactionalId, String prefix,
                                int count, boolean commit) throws ExecutionException, InterruptedException {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, "key-" + i, prefix + "-" + i)).get();
            }
            if (commit) producer.commitTransaction();
            else producer.abortTransaction();
        }
    }

    /** All committed records: reads every partition up to its last stable offset. */
    static List<ConsumerRecord<String, String>> readCommitted(LocalKafka kafka, String topic) {
        try (KafkaConsumer<String, String> consumer = consumer(kafka)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            List<ConsumerRecord<String, String>> records = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                assertTrue(System.nanoTime() < deadline, "timed out reading " + topic);
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
            }
            return records;
        }
    }

    private static KafkaConsumer<String, String> consumer(LocalKafka kafka) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }
}
