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
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
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
 * Several processors share the requests' partitions while requests stream in: one is SIGKILLed (and
 * in the second test started again, then all are restarted one by one). With the processor's default
 * settings (6 s session, 5 s transaction timeout) and local mode's broker (timed-out transactions swept
 * every second), answers for every partition resume within 10 s of a kill, and every request is
 * answered exactly once. Prints the gap per partition: the longest pause between two answers to
 * requests of that partition.
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
        startInfrastructure(3);
        for (String instance : List.of("a", "b")) {
            startProcessor(instance, false);
        }
        int total = RATE_PER_SECOND * SECONDS;
        Run run = send(total, Map.of(total / 3, () -> {
            try {
                children.get(1).kill();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        Map<Integer, Long> gaps = run.gapsAfter(run.eventAt(total / 3));
        System.out.printf("failover: %d requests at %d/s, processor b SIGKILLed after %d s; %d answered, %d lost, %d doubled; "
                + "longest pause per request partition after the kill (ms): %s%n", total, RATE_PER_SECOND, SECONDS / 3,
                run.answers().size(), total - run.answers().size(), run.doubled(), gaps);
        run.assertExactlyOnce(total, 3);
        // The killed processor owned partitions (else this test proves nothing): theirs paused for at least the session.
        assertTrue(gaps.values().stream().mapToLong(Long::longValue).max().orElse(0) >= 3000, "no partition paused: " + gaps);
        gaps.forEach((partition, gap) -> assertTrue(gap <= FAILOVER_LIMIT_MS,
                "partition " + partition + " paused " + gap + " ms after the kill:\n" + children.get(0).log()));
    }

    /**
     * Three processors with static membership on six partitions: one is SIGKILLed and started again, then all
     * three are restarted one by one (SIGTERM, start). Every request is answered once; the pauses are printed.
     */
    @Test
    void threeProcessorsThroughAKillAndARollingRestartAnswerEveryRequestOnce() throws Exception {
        startInfrastructure(6);
        for (String instance : List.of("a", "b", "c")) {
            startProcessor(instance, true);
        }
        int total = RATE_PER_SECOND * 60;
        int killAt = RATE_PER_SECOND * 8;
        int rollAt = RATE_PER_SECOND * 32;
        Map<Integer, Runnable> events = new HashMap<>();
        events.put(killAt, () -> restart(1, true));
        events.put(rollAt, () -> {
            for (int i = 0; i < 3; i++) {
                restart(i, false);
            }
        });
        Run run = send(total, events);
        Map<Integer, Long> afterKill = run.gapsBetween(run.eventAt(killAt), run.eventAt(rollAt));
        Map<Integer, Long> duringRoll = run.gapsBetween(run.eventAt(rollAt), Long.MAX_VALUE);
        System.out.printf("three processors, 6 partitions: %d requests at %d/s; processor b SIGKILLed and restarted after 8 s, "
                + "then all three restarted one by one (SIGTERM) after 32 s; %d answered, %d lost, %d doubled; longest pause per "
                + "partition after the kill (ms): %s; during the rolling restart (ms): %s%n", total, RATE_PER_SECOND,
                run.answers().size(), total - run.answers().size(), run.doubled(), afterKill, duringRoll);
        run.assertExactlyOnce(total, 6);
        afterKill.forEach((partition, gap) -> assertTrue(gap <= FAILOVER_LIMIT_MS, "partition " + partition + " paused " + gap
                + " ms after the kill"));
    }

    private void startInfrastructure(int requestPartitions) throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 1);
        if (requestPartitions > 3) {
            try (Admin admin = Admin.create(new HashMap<>(infrastructure.clientProperties()))) {
                admin.createPartitions(Map.of(Topics.REQUESTS_NAME, NewPartitions.increaseTo(requestPartitions))).all().get(30, TimeUnit.SECONDS);
            }
        }
        ReliabilityFixture.writeEmbedModel(work.resolve("models"), EeKey.generate(), MODEL);
    }

    private Map<String, String> settings(String instance, boolean staticMember) {
        Map<String, String> settings = ReliabilityFixture.processorSettings(infrastructure, work, "failover");
        settings.put("state.dir", work.resolve("state-" + instance).toString());
        if (staticMember) {
            settings.put("group.instance.id", "processor-" + instance);
        }
        return settings;
    }

    private void startProcessor(String instance, boolean staticMember) throws Exception {
        ChildProcessor child = ChildProcessor.start(settings(instance, staticMember));
        children.add(child);
        assertTrue(child.awaitRunning(120), "processor " + instance + " did not start:\n" + child.log());
    }

    /** Stops processor {@code index} (SIGKILL or SIGTERM) and starts it again with the same settings and state. */
    private void restart(int index, boolean kill) {
        String instance = String.valueOf((char) ('a' + index));
        try {
            ChildProcessor old = children.get(index);
            if (kill) {
                old.kill();
            } else {
                assertEquals(143, old.terminate(30), "processor " + instance + " stopped on SIGTERM");
            }
            ChildProcessor next = ChildProcessor.start(settings(instance, true));
            children.set(index, next);
            assertTrue(next.awaitRunning(120), "processor " + instance + " did not come back:\n" + next.log());
        } catch (Exception e) {
            throw new IllegalStateException("restarting processor " + instance, e);
        }
    }

    /** What one run of sending read back: answers per request id, and when each partition's answers arrived. */
    private record Run(Map<String, Integer> answers, Map<Integer, List<Long>> answeredAt, Map<Integer, Long> events) {
        long eventAt(int requestIndex) {
            return events.get(requestIndex);
        }

        long doubled() {
            return answers.values().stream().mapToLong(count -> count - 1).sum();
        }

        Map<Integer, Long> gapsAfter(long from) {
            return gapsBetween(from, Long.MAX_VALUE);
        }

        /** Per partition, the longest pause between answers that arrived from a second before {@code from} to {@code to}. */
        Map<Integer, Long> gapsBetween(long from, long to) {
            Map<Integer, Long> gaps = new TreeMap<>();
            for (var e : answeredAt.entrySet()) {
                List<Long> times;
                synchronized (e.getValue()) {
                    times = new ArrayList<>(e.getValue());
                }
                times.sort(Long::compare);
                long gap = 0;
                for (int i = 1; i < times.size(); i++) {
                    if (times.get(i) >= from && times.get(i - 1) < to) {
                        gap = Math.max(gap, times.get(i) - Math.max(times.get(i - 1), from - 1000));
                    }
                }
                gaps.put(e.getKey(), gap);
            }
            return gaps;
        }

        void assertExactlyOnce(int total, int partitions) {
            assertEquals(total, answers.size(), "every request answered");
            assertEquals(0, doubled(), "none answered twice");
            assertEquals(partitions, answeredAt.size(), "answers on every partition");
        }
    }

    /**
     * Sends {@code total} requests at {@link #RATE_PER_SECOND}, running each event just before the request of its
     * index, and reads the committed answers meanwhile; returns once every request is answered (or after 2 minutes).
     */
    private Run send(int total, Map<Integer, Runnable> events) throws Exception {
        Map<String, Integer> partitionOf = new ConcurrentHashMap<>();
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        Map<Integer, List<Long>> answeredAt = new ConcurrentHashMap<>();
        Map<Integer, Long> eventTimes = new HashMap<>();
        AtomicBoolean reading = new AtomicBoolean(true);
        Thread reader = new Thread(() -> readAnswers(partitionOf, answers, answeredAt, reading), "failover-answers");
        reader.start();
        List<Thread> actors = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
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
                Runnable event = events.get(i);
                if (event != null) {
                    eventTimes.put(i, System.currentTimeMillis());
                    // Off the sending thread: requests keep arriving while processors stop and start.
                    Thread actor = new Thread(() -> {
                        try {
                            event.run();
                        } catch (RuntimeException | AssertionError e) {
                            failure.compareAndSet(null, e);
                        }
                    }, "failover-event-" + i);
                    actors.add(actor);
                    actor.start();
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
        for (Thread actor : actors) {
            actor.join(TimeUnit.MINUTES.toMillis(5));
        }
        if (failure.get() != null) {
            reading.set(false);
            throw new AssertionError("a processor stop or start failed", failure.get());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (answers.size() < total && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        Thread.sleep(3000); // a late duplicate would arrive now
        reading.set(false);
        reader.join(10_000);
        return new Run(answers, answeredAt, eventTimes);
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
