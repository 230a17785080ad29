package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The processor in a child JVM is killed with SIGKILL three times at random moments while requests
 * stream in, and restarted each time. A read_committed consumer must then see every request answered,
 * correctly — once each under exactly-once; under at-least-once, duplicates are counted and reported.
 */
@Tag("integration")
class CrashRecoveryTest {
    private static final int REQUESTS = Integer.getInteger("eestream.crash.requests", 10_000);
    private static final int KILLS = 3;
    private static final String MODEL = "crash-embed";
    private static final String REPLIES = "crash.replies";

    @TempDir
    Path work;

    private LocalMode infrastructure;
    private final EeKey key = EeKey.generate();
    private final List<ChildProcessor> children = new ArrayList<>();

    @BeforeEach
    void startKafka() throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 3);
    }

    @AfterEach
    void stop() throws Exception {
        for (ChildProcessor c : children) {
            c.close();
        }
        infrastructure.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"exactly_once_v2", "at_least_once"})
    void killedThreeTimesWhileRequestsStreamIn(String guarantee) throws Exception {
        writeModel();
        Map<String, String> settings = processorSettings("crash-" + guarantee.replace('_', '-'));
        settings.put("processing.guarantee", guarantee);
        // Static membership and a short session: a restarted instance takes its partitions back at once.
        settings.put("group.instance.id", "crash-instance");
        settings.put("session.timeout.ms", "6000");
        settings.put("heartbeat.interval.ms", "1000");
        settings.put("max.batch.size", "16");

        // Requests and their plaintext answers.
        Random random = new Random(guarantee.hashCode());
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        List<long[]> clear = new ArrayList<>();
        List<InferenceRequest> requests = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            long[] ids = ReliabilityFixture.randomIds(random);
            clear.add(ids);
            requests.add(InferenceRequest.newBuilder().setRequestId("r-" + i).setModelId(MODEL).setTokenIds(ReliabilityFixture.encrypt(ids, pi))
                    .setReplyTopic(REPLIES).setCreatedAt(Instant.now()).build());
        }

        ChildProcessor first = startRunning(settings, "processor did not start:\n");

        // Send at a steady pace over ~20 s, killing and restarting the processor meanwhile.
        AtomicInteger sent = new AtomicInteger();
        Thread producerThread = startProducing(requests, sent, "crash-test-producer");
        long sendStart = System.currentTimeMillis();
        long window = 20_000 / KILLS;
        for (int k = 0; k < KILLS; k++) {
            // A random moment inside the k-th third of the sending: batches are being inferred most of the time.
            long killAt = sendStart + k * window + 500 + random.nextInt((int) window - 1000);
            Thread.sleep(Math.max(0, killAt - System.currentTimeMillis()));
            ChildProcessor victim = children.get(children.size() - 1);
            victim.kill();
            ChildProcessor next = startRunning(settings, "restart " + (k + 1) + " did not come up:\n");
        }
        producerThread.join(120_000);
        assertEquals(REQUESTS, sent.get(), "all requests were sent");

        // Every answer, committed only.
        Map<String, Integer> counts = new HashMap<>();
        Map<String, InferenceResponse> answers = new HashMap<>();
        long quietSince = System.nanoTime();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        int records = 0;
        try (KafkaConsumer<String, InferenceResponse> consumer = ReliabilityFixture.committedAnswers(infrastructure, "crash-check-" + guarantee)) {
            consumer.subscribe(List.of(REPLIES));
            // Keep reading a while after the last answer, so late duplicates would be seen too.
            while (System.nanoTime() < deadline && (answers.size() < REQUESTS || System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(5))) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    records++;
                    quietSince = System.nanoTime();
                    counts.merge(r.value().getRequestId(), 1, Integer::sum);
                    answers.put(r.value().getRequestId(), r.value());
                }
            }
        }
        long duplicates = duplicates(counts);
        System.out.printf("crash test (%s): %d requests sent, %d SIGKILLs, %d records read, %d distinct answered, "
                + "%d lost, %d duplicates%n", guarantee, REQUESTS, KILLS, records, answers.size(), REQUESTS - answers.size(), duplicates);

        assertEquals(REQUESTS, answers.size(), "requests answered (none lost)");
        if (guarantee.equals("exactly_once_v2")) {
            assertEquals(0, duplicates, "exactly-once: no request answered twice");
        }
        // Each answer equals plaintext inference.
        ReliabilityFixture.assertAllMatchPlaintext(key, clear, "r-", answers);
    }

    @org.junit.jupiter.api.Test
    void sigtermStopsCleanlyWithinItsTimeoutAndNothingIsLost() throws Exception {
        writeModel();
        Map<String, String> settings = processorSettings("sigterm-test");
        int total = 3000;
        List<InferenceRequest> requests = plainRequests("t-", total, 11);
        ChildProcessor first = startRunning(settings, "processor did not start:\n");
        AtomicInteger sent = new AtomicInteger();
        Thread producerThread = startProducing(requests, sent, "sigterm-test-producer");
        Thread.sleep(8_000);
        long t = System.nanoTime();
        int exit = first.terminate(30);
        double seconds = (System.nanoTime() - t) / 1e9;
        assertTrue(exit == 0 || exit == 143, "exit status " + exit + " after SIGTERM:\n" + first.log());
        assertTrue(seconds < 15, "stopped in " + seconds + " s; the limit was 10 s (--shutdown-timeout-ms)");
        startRunning(settings, "processor did not start:\n");
        producerThread.join(120_000);
        Map<String, Integer> counts = readAnswers("sigterm-check", total);
        long duplicates = duplicates(counts);
        System.out.printf("SIGTERM test: %d requests, stopped in %.1f s (exit %d), %d distinct answered, %d lost, %d duplicates%n",
                total, seconds, exit, counts.size(), total - counts.size(), duplicates);
        assertEquals(total, counts.size(), "none lost across a graceful stop");
        assertEquals(0, duplicates, "none answered twice");
    }

    @org.junit.jupiter.api.Test
    void brokerRestartUnderLoadLosesNothingAndTheProcessorReconnectsByItself() throws Exception {
        writeModel();
        Map<String, String> settings = processorSettings("broker-restart-test");
        int total = 3000;
        List<InferenceRequest> requests = plainRequests("b-", total, 13);
        ChildProcessor processor = startRunning(settings, "processor did not start:\n");
        AtomicInteger sent = new AtomicInteger();
        Thread producerThread = startProducing(requests, sent, "broker-restart-producer");
        Thread.sleep(7_000);
        infrastructure.restartBroker(Duration.ofSeconds(3));
        producerThread.join(180_000);
        assertEquals(total, sent.get(), "the producer's retries carried every request over the restart");
        Map<String, Integer> counts = readAnswers("broker-restart-check", total);
        long duplicates = duplicates(counts);
        System.out.printf("broker restart test: %d requests, broker down 3 s, %d distinct answered, %d lost, %d duplicates%n",
                total, counts.size(), total - counts.size(), duplicates);
        assertTrue(processor.isAlive(), "the same processor process carried on");
        assertEquals(total, counts.size(), "none lost across a broker restart");
        assertEquals(0, duplicates, "none answered twice");
    }

    /** Starts the processor in a child JVM and waits until it runs; the failure message leads with {@code what}. */
    private ChildProcessor startRunning(Map<String, String> settings, String what) throws Exception {
        ChildProcessor child = ChildProcessor.start(settings);
        children.add(child);
        assertTrue(child.awaitRunning(120), what + child.log());
        return child;
    }

    /** Sends the requests at an even pace over 20 s on a thread of its own, counting what the broker took. */
    private Thread startProducing(List<InferenceRequest> requests, AtomicInteger sent, String name) {
        Thread t = new Thread(() -> produce(requests, sent), name);
        t.start();
        return t;
    }

    private static long duplicates(Map<String, Integer> counts) {
        return counts.values().stream().mapToLong(c -> c - 1).sum();
    }

    /** Writes the tiny EE embed model into the processor's model directory; returns it. */
    private ModelTransformer.Result writeModel() throws java.io.IOException {
        return ReliabilityFixture.writeEmbedModel(work.resolve("models"), key, MODEL);
    }

    /** The child processor's settings against this test's broker and registry. */
    private Map<String, String> processorSettings(String applicationId) {
        return ReliabilityFixture.processorSettings(infrastructure, work, applicationId);
    }

    /** {@code count} requests with random plaintext ids (the cipher is not needed where answers are only counted). */
    private static List<InferenceRequest> plainRequests(String prefix, int count, long seed) {
        Random random = new Random(seed);
        List<InferenceRequest> requests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            List<Long> ids = new ArrayList<>();
            for (int j = 0; j < 1 + random.nextInt(TinyModels.MAX_POSITIONS); j++) {
                ids.add((long) random.nextInt(TinyModels.ENCODER_VOCAB));
            }
            requests.add(InferenceRequest.newBuilder().setRequestId(prefix + i).setModelId(MODEL).setTokenIds(ids)
                    .setReplyTopic(REPLIES).setCreatedAt(Instant.now()).build());
        }
        return requests;
    }

    /** Answers per request id on the reply topic (committed only), reading until {@code expected} ids and 5 quiet seconds. */
    private Map<String, Integer> readAnswers(String group, int expected) {
        Map<String, Integer> counts = new HashMap<>();
        long quietSince = System.nanoTime();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        try (KafkaConsumer<String, InferenceResponse> consumer = ReliabilityFixture.committedAnswers(infrastructure, group)) {
            consumer.subscribe(List.of(REPLIES));
            while (System.nanoTime() < deadline && (counts.size() < expected || System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(5))) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    quietSince = System.nanoTime();
                    counts.merge(r.value().getRequestId(), 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    private void produce(List<InferenceRequest> requests, AtomicInteger sent) {
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        cfg.put("enable.idempotence", "true");
        cfg.put("acks", "all");
        long start = System.nanoTime();
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, new StringSerializer(), serializer)) {
            for (int i = 0; i < requests.size(); i++) {
                long due = start + (long) (i * (20e9 / requests.size()));
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                InferenceRequest r = requests.get(i);
                producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, r.getRequestId(), r), (m, e) -> {
                    if (e == null) {
                        sent.incrementAndGet();
                    }
                });
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
