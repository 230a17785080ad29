package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.TinyModels;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processors share the requests' partitions; one is SIGKILLed while requests stream in. With the
 * processor's default settings (6 s session, 5 s transaction timeout) and local mode's broker (timed-out
 * transactions swept every second), answers for every partition resume within 10 s, and every request
 * is answered exactly once. Prints the gap per partition: the longest pause between two answers to
 * requests of that partition around the kill.
 */
@Tag("integration")
class FailoverTest {
    private static final String MODEL = "failover-embed";
    private static final String REPLIES = "failover.replies";
    private static final int RATE_PER_SECOND = 60;
    private static final int SECONDS = 30;
    private static final long FAILOVER_LIMIT_MS = 10_000;

    @TempDir
    Path work;

    private LocalMode infrastructure;
    private final List<ChildProcessor> children = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (ChildProcessor child : children) {
            child.close();
        }
        if (infrastructure != null) {
            infrastructure.close();
        }
    }

    @Test
    void aKilledProcessorsPartitionsAreAnsweredAgainWithinTenSeconds() throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 1);
        ReliabilityFixture.writeEmbedModel(work.resolve("models"), EeKey.generate(), MODEL);
        for (String instance : List.of("a", "b")) {
            Map<String, String> settings = ReliabilityFixture.processorSettings(infrastructure, work, "failover");
            settings.put("state.dir", work.resolve("state-" + instance).toString());
            ChildProcessor child = ChildProcessor.start(settings);
            children.add(child);
            assertTrue(child.awaitRunning(120), "processor " + instance + " did not start:\n" + child.log());
        }

        Map<String, Integer> partitionOf = new ConcurrentHashMap<>();
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        Map<Integer, List<Long>> answeredAt = new ConcurrentHashMap<>();
        AtomicBoolean reading = new AtomicBoolean(true);
        Thread reader = new Thread(() -> readAnswers(partitionOf, answers, answeredAt, reading), "failover-answers");
        reader.start();

        int total = RATE_PER_SECOND * SECONDS;
        long killedAt = 0;
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        cfg.put("enable.idempotence", "true");
        cfg.put("acks", "all");
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        Random random = new Random(7);
        long start = System.nanoTime();
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, new StringSerializer(), serializer)) {
            for (int i = 0; i < total; i++) {
                long wait = start + TimeUnit.MILLISECONDS.toNanos(i * 1000L / RATE_PER_SECOND) - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (i == total / 3) {
                    killedAt = System.currentTimeMillis();
                    children.get(1).kill();
                }
                List<Long> ids = new ArrayList<>();
                for (int k = 0; k < 1 + random.nextInt(TinyModels.MAX_POSITIONS); k++) {
                    ids.add((long) random.nextInt(TinyModels.ENCODER_VOCAB));
                }
                String id = "f-" + i;
                InferenceRequest request = InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(ids)
                        .setReplyTopic(REPLIES).setCreatedAt(Instant.now()).build();
                producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, id, request), (metadata, e) -> {
                    if (e == null) {
                        partitionOf.put(id, metadata.partition());
                    }
                });
            }
            producer.flush();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (answers.size() < total && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        Thread.sleep(3000); // a late duplicate would arrive now
        reading.set(false);
        reader.join(10_000);

        Map<Integer, Long> gaps = new TreeMap<>();
        for (var e : answeredAt.entrySet()) {
            List<Long> times = new ArrayList<>(e.getValue());
            times.sort(Long::compare);
            long gap = 0;
            for (int i = 1; i < times.size(); i++) {
                if (times.get(i) >= killedAt) {
                    gap = Math.max(gap, times.get(i) - Math.max(times.get(i - 1), killedAt - 1000));
                }
            }
            gaps.put(e.getKey(), gap);
        }
        long doubled = answers.values().stream().mapToLong(count -> count - 1).sum();
        System.out.printf("failover: %d requests at %d/s, processor b SIGKILLed after %d s; %d answered, %d lost, %d doubled; "
                + "longest pause per request partition after the kill (ms): %s%n", total, RATE_PER_SECOND, SECONDS / 3,
                answers.size(), total - answers.size(), doubled, gaps);
        assertEquals(total, answers.size(), "every request answered");
        assertEquals(0, doubled, "none answered twice");
        assertEquals(3, gaps.size(), "answers on every partition");
        // The killed processor owned partitions (else this test proves nothing): theirs paused for at least the session.
        assertTrue(gaps.values().stream().mapToLong(Long::longValue).max().orElse(0) >= 3000, "no partition paused: " + gaps);
        gaps.forEach((partition, gap) -> assertTrue(gap <= FAILOVER_LIMIT_MS,
                "partition " + partition + " paused " + gap + " ms after the kill:\n" + children.get(0).log()));
    }

    private void readAnswers(Map<String, Integer> partitionOf, Map<String, Integer> answers, Map<Integer, List<Long>> answeredAt,
            AtomicBoolean reading) {
        Map<String, Long> pendingTimes = new HashMap<>();
        try (KafkaConsumer<String, InferenceResponse> consumer = ReliabilityFixture.committedAnswers(infrastructure, "failover-check")) {
            consumer.subscribe(List.of(REPLIES));
            while (reading.get()) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(50))) {
                    String id = r.value().getRequestId();
                    answers.merge(id, 1, Integer::sum);
                    pendingTimes.put(id, System.currentTimeMillis());
                }
                // The producer's callback names a request's partition a moment after it is sent.
                pendingTimes.entrySet().removeIf(e -> {
                    Integer partition = partitionOf.get(e.getKey());
                    if (partition == null) {
                        return false;
                    }
                    answeredAt.computeIfAbsent(partition, p -> java.util.Collections.synchronizedList(new ArrayList<>())).add(e.getValue());
                    return true;
                });
            }
        }
    }
}
