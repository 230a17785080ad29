package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ten times what the processor can serve. The processor runs in a child JVM with a small heap; its
 * capacity is measured in the same run (a backlog drained), then requests are sent at ten times
 * that rate for a fixed time while heap (its /metrics) and RSS ({@code /proc}) are sampled. Memory
 * must stay bounded, every request must be answered once (exactly-once), the answers must be right,
 * and the consumer-group lag must drain to zero afterwards.
 *
 * <p>{@code -Deestream.overload.seconds=60} runs a longer overload (default 10 s).
 */
@Tag("integration")
class OverloadTest {
    private static final double OVERLOAD_SECONDS = Double.parseDouble(System.getProperty("eestream.overload.seconds", "10"));
    private static final double FACTOR = 10;
    private static final int WARM_UP = Integer.getInteger("eestream.overload.warmup", 100_000);
    private static final int BACKLOG = Integer.getInteger("eestream.overload.backlog", 20_000);
    private static final String HEAP = System.getProperty("eestream.overload.xmx", "384m");
    private static final String MODEL = "overload-embed";
    private static final String REPLIES = "overload.replies";
    private static final String REQUESTS = Topics.REQUESTS_NAME;
    private static final String APPLICATION_ID = "overload-test";
    /** Every this many requests, the answer is decrypted and compared with plaintext inference. */
    private static final int CHECK_EVERY = 37;
    private static final long SAMPLE_MS = 200;
    private static final long MB = 1024 * 1024;

    @TempDir
    Path work;

    private final EeKey key = EeKey.generate();
    private Permutation pi;
    private LocalMode infrastructure;
    private ChildProcessor processor;
    private Admin admin;

    @AfterEach
    void stop() throws Exception {
        if (processor != null) {
            processor.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (infrastructure != null) {
            infrastructure.close();
        }
    }

    @Test
    void tenTimesCapacityKeepsMemoryBoundedAndLosesNothing() throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 3);
        admin = Admin.create(Map.of("bootstrap.servers", infrastructure.bootstrapServers()));
        ReliabilityFixture.writeEmbedModel(work.resolve("models"), key, MODEL);
        pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);

        int httpPort = freePort();
        Map<String, String> settings = ReliabilityFixture.processorSettings(infrastructure, work, APPLICATION_ID);
        settings.put("http.host", "127.0.0.1");
        settings.put("http.port", Integer.toString(httpPort));
        long xmx = parseSize(HEAP);
        // An OutOfMemoryError ends the child, so the test sees it rather than a half-working process.
        processor = ChildProcessor.start(settings, List.of("-Xmx" + HEAP, "-XX:+ExitOnOutOfMemoryError"));
        assertTrue(processor.awaitRunning(120), "processor did not start:\n" + processor.log());

        Answers answers = new Answers();
        Thread reader = new Thread(answers, "overload-answers");
        reader.start();
        Sampler sampler = new Sampler(processor.pid(), URI.create("http://127.0.0.1:" + httpPort + "/metrics"));
        ScheduledExecutorService sampling = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "overload-sampler");
            t.setDaemon(true);
            return t;
        });
        sampling.scheduleWithFixedDelay(sampler::sample, 0, SAMPLE_MS, TimeUnit.MILLISECONDS);
        try (KafkaProducer<String, byte[]> producer = producer()) {
            // Warm-up (JIT, connections, the first transactions); then the idle baseline.
            sampler.phase("warm-up");
            send(producer, 0, WARM_UP, 0);
            awaitAnswered(answers, WARM_UP, 180);
            sampler.phase("idle");
            Thread.sleep(3_000);

            // Capacity: a backlog sent at once and drained as fast as the processor can; again with a
            // larger one until the drain lasts long enough to be timed.
            sampler.phase("capacity");
            int next = WARM_UP;
            int size = BACKLOG;
            double capacity = 0;
            int measuredOn = 0;
            for (int round = 1; round <= 3; round++) {
                send(producer, next, size, 0);
                awaitAnswered(answers, next + size, 180);
                capacity = answers.rate(next, next + size);
                double seconds = answers.span(next, next + size) / 1000.0;
                System.out.printf("overload test: capacity round %d: %d requests drained in %.1f s, %.0f req/s%n", round, size,
                        seconds, capacity);
                measuredOn = size;
                next += size;
                if (seconds >= 5) {
                    break;
                }
                size = (int) Math.min(200_000, Math.max(size, capacity * 6));
            }
            assertTrue(capacity > 0, "capacity measured");

            // Overload: ten times the capacity for a fixed time.
            int overloadFrom = next;
            int overloadCount = (int) Math.round(FACTOR * capacity * OVERLOAD_SECONDS);
            List<byte[]> overload = serialize(overloadFrom, overloadCount);
            sampler.phase("overload");
            long sendStart = System.nanoTime();
            long sendStartMillis = System.currentTimeMillis();
            send(producer, overloadFrom, overloadCount, FACTOR * capacity, overload);
            overload = null;
            double sendSeconds = (System.nanoTime() - sendStart) / 1e9;
            long sendEndMillis = System.currentTimeMillis();
            int total = overloadFrom + overloadCount;
            int answeredWhenSendingEnded = answers.distinct();

            // Drain: every request answered, the group's lag back to zero.
            sampler.phase("drain");
            long drainStart = System.nanoTime();
            long deadline = drainStart + TimeUnit.SECONDS.toNanos(Math.max(300, (long) (60 * OVERLOAD_SECONDS)));
            double answeredAfter = -1;
            double lagZeroAfter = -1;
            while (System.nanoTime() < deadline && (answeredAfter < 0 || lagZeroAfter < 0)) {
                if (answeredAfter < 0 && answers.distinct() >= total) {
                    answeredAfter = (System.nanoTime() - drainStart) / 1e9;
                }
                if (lagZeroAfter < 0 && lag() == 0) {
                    lagZeroAfter = (System.nanoTime() - drainStart) / 1e9;
                }
                assertTrue(processor.isAlive(), "processor died while draining:\n" + processor.log());
                Thread.sleep(250);
            }
            sampler.phase("after");
            // Keep reading a while after the last answer, so late duplicates would be seen too.
            answers.awaitQuiet(5_000, 60_000);
            sampling.shutdown();
            sampling.awaitTermination(10, TimeUnit.SECONDS);
            answers.stop();
            reader.join(30_000);

            long lagAtEnd = lag();
            int distinct = answers.distinct();
            long duplicates = answers.duplicates();
            double servedWhileOverloaded = answers.rateBetween(overloadFrom, total, sendStartMillis, sendEndMillis);
            double drainRate = answers.rateBetween(overloadFrom, total, sendEndMillis, answers.last(overloadFrom, total));
            if (Boolean.getBoolean("eestream.overload.timeline")) {
                System.out.println("overload test: " + answers.timeline(sendStartMillis, sendEndMillis));
            }
            Sampler.Peak idle = sampler.peak("idle");
            Sampler.Peak steady = sampler.peak("capacity");
            Sampler.Peak over = sampler.peak("overload", "drain");
            Sampler.Peak after = sampler.peak("after");
            double sentRate = overloadCount / sendSeconds;
            System.out.printf("overload test: capacity %.0f req/s (backlog of %d); sent %d in %.1f s = %.0f req/s (%.1fx capacity, "
                    + "target %.0fx); served %.0f req/s while sending, %.0f req/s after (sent rate / that = %.1fx); "
                    + "peak lag %d; all answered %.1f s and lag 0 %.1f s after sending ended; %d sent in all, %d records read, "
                    + "%d distinct answered, %d lost, %d duplicates%n",
                    capacity, measuredOn, overloadCount, sendSeconds, sentRate, sentRate / capacity, FACTOR, servedWhileOverloaded,
                    drainRate, sentRate / drainRate, sampler.peakLag(), answeredAfter, lagZeroAfter, total, answers.records(), distinct,
                    total - distinct, duplicates);
            System.out.printf("overload test: memory (-Xmx%s), peaks idle / capacity phase / overload+drain / after: heap used %d / %d / %d / %d MB, "
                    + "heap committed %d / %d / %d / %d MB, old gen used %d / %d / %d / %d MB, RSS %d / %d / %d / %d MB; VmHWM at end %d MB; "
                    + "%d samples every %d ms, %d failed%n",
                    HEAP, idle.heap() / MB, steady.heap() / MB, over.heap() / MB, after.heap() / MB,
                    idle.committed() / MB, steady.committed() / MB, over.committed() / MB, after.committed() / MB,
                    idle.oldGen() / MB, steady.oldGen() / MB, over.oldGen() / MB, after.oldGen() / MB,
                    idle.rss() / MB, steady.rss() / MB, over.rss() / MB, after.rss() / MB, sampler.hwm() / MB, sampler.count(),
                    SAMPLE_MS, sampler.failures());

            assertTrue(processor.isAlive(), "the processor survived the overload:\n" + processor.log());
            assertFalse(processor.log().contains("OutOfMemoryError"), processor.log());
            assertEquals(total, distinct, "every request answered (none lost)");
            assertEquals(0, duplicates, "exactly-once: no request answered twice");
            assertEquals(0, lagAtEnd, "consumer-group lag on " + REQUESTS + " drained");
            assertTrue(answeredAfter >= 0 && lagZeroAfter >= 0, "drained before the deadline");
            // It was an overload: the backlog grew to many seconds of work.
            assertTrue(sampler.peakLag() > 3 * capacity, "peak lag " + sampler.peakLag() + " vs capacity " + capacity + " req/s");
            assertTrue(over.count() >= 10, "memory was sampled during the overload: " + over.count() + " samples");
            assertTrue(over.heap() < 0.8 * xmx, "peak heap " + over.heap() / MB + " MB of at most " + xmx / MB + " MB");
            // Native memory did not run away either: the heap can only grow to -Xmx.
            assertTrue(over.rss() < idle.rss() + xmx, "peak RSS " + over.rss() / MB + " MB, idle " + idle.rss() / MB + " MB");
            checkAnswers(answers, total);
        } finally {
            sampling.shutdownNow();
            answers.stop();
        }
    }

    /** Every {@link #CHECK_EVERY}-th answer, decrypted, equals plaintext inference. */
    private void checkAnswers(Answers answers, int total) {
        OutputDecryptor decryptor = new OutputDecryptor(key);
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < total; i += CHECK_EVERY) {
            indices.add(i);
        }
        ModelTransformer.Result plain = ReliabilityFixture.plainEmbedModel();
        try (ModelSession reference = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < indices.size(); from += 256) {
                List<Integer> chunk = indices.subList(from, Math.min(indices.size(), from + 256));
                float[][] expected = reference.run(chunk.stream().map(OverloadTest::clearIds).collect(Collectors.toList()));
                for (int j = 0; j < chunk.size(); j++) {
                    ReliabilityFixture.assertMatchesPlaintext(decryptor, expected[j], answers.kept(id(chunk.get(j))));
                }
            }
        }
        System.out.printf("overload test: %d of %d answers decrypted and checked against plaintext inference%n", indices.size(), total);
    }

    // ---- requests ------------------------------------------------------------------------------

    private static String id(int i) {
        return "o-" + i;
    }

    /** The plaintext token ids of request {@code i}: derived from {@code i}, so none need be kept. */
    private static long[] clearIds(int i) {
        SplittableRandom random = new SplittableRandom(0x5EEDL * 1_000_003L + i);
        long[] ids = new long[1 + random.nextInt(TinyModels.MAX_POSITIONS)];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = random.nextInt(TinyModels.ENCODER_VOCAB);
        }
        return ids;
    }

    /** Requests {@code from .. from+count-1}, encrypted and in the wire format. */
    private List<byte[]> serialize(int from, int count) {
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(new HashMap<>(infrastructure.clientProperties()), false);
        List<byte[]> out = new ArrayList<>(count);
        Instant now = Instant.now();
        for (int i = from; i < from + count; i++) {
            long[] clear = clearIds(i);
            List<Long> cipher = new ArrayList<>(clear.length);
            for (long t : clear) {
                cipher.add((long) pi.apply((int) t));
            }
            out.add(serializer.serialize(REQUESTS, InferenceRequest.newBuilder().setRequestId(id(i)).setModelId(MODEL)
                    .setTokenIds(cipher).setReplyTopic(REPLIES).setCreatedAt(now).build()));
        }
        serializer.close();
        return out;
    }

    private KafkaProducer<String, byte[]> producer() {
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        cfg.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        cfg.put(ProducerConfig.ACKS_CONFIG, "all");
        cfg.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        cfg.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(128 * 1024));
        return new KafkaProducer<>(cfg, new StringSerializer(), new ByteArraySerializer());
    }

    private void send(KafkaProducer<String, byte[]> producer, int from, int count, double perSecond) {
        send(producer, from, count, perSecond, serialize(from, count));
    }

    /** Sends at {@code perSecond} (0: as fast as the producer can), then waits until all are acknowledged. */
    private static void send(KafkaProducer<String, byte[]> producer, int from, int count, double perSecond, List<byte[]> values) {
        AtomicReference<Exception> failure = new AtomicReference<>();
        long start = System.nanoTime();
        for (int k = 0; k < count; k++) {
            if (perSecond > 0) {
                long wait = start + (long) (k * 1e9 / perSecond) - System.nanoTime();
                if (wait > 1_000_000) {
                    sleepNanos(wait);
                }
            }
            producer.send(new ProducerRecord<>(REQUESTS, id(from + k), values.get(k)), (m, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e);
                }
            });
        }
        producer.flush();
        if (failure.get() != null) {
            throw new AssertionError("a request was not sent", failure.get());
        }
    }

    // ---- lag -----------------------------------------------------------------------------------

    /** The processor's consumer-group lag on the requests topic: end offsets minus committed offsets. */
    private long lag() {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(APPLICATION_ID)
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            int partitions = admin.describeTopics(List.of(REQUESTS)).allTopicNames().get(10, TimeUnit.SECONDS)
                    .get(REQUESTS).partitions().size();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(REQUESTS, p), OffsetSpec.latest());
            }
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            long lag = 0;
            for (var e : ends.entrySet()) {
                OffsetAndMetadata c = committed.get(e.getKey());
                // Under exactly-once a transaction marker may follow the last record: committed can reach the end.
                lag += Math.max(0, e.getValue().offset() - (c == null ? 0 : c.offset()));
            }
            return lag;
        } catch (Exception e) {
            return Long.MAX_VALUE; // unknown: not zero
        }
    }

    // ---- answers -------------------------------------------------------------------------------

    /**
     * Reads the reply topic (committed only) until stopped: answers per request index, each one's
     * respondedAt, and the sampled answers that are checked against plaintext.
     */
    private final class Answers implements Runnable {
        private int[] counts = new int[1 << 16];
        private long[] respondedAt = new long[1 << 16];
        private int distinct;
        private long duplicates;
        private long records;
        private final Map<String, InferenceResponse> kept = new ConcurrentHashMap<>();
        private volatile long lastRecordNanos = System.nanoTime();
        private volatile Throwable failure;
        private volatile boolean stopped;
        private volatile KafkaConsumer<String, InferenceResponse> consumer;

        @Override
        public void run() {
            try (KafkaConsumer<String, InferenceResponse> c = ReliabilityFixture.committedAnswers(infrastructure, "overload-check")) {
                consumer = c;
                c.subscribe(List.of(REPLIES));
                while (!stopped) {
                    ConsumerRecords<String, InferenceResponse> batch = c.poll(Duration.ofMillis(200));
                    if (batch.isEmpty()) {
                        continue;
                    }
                    lastRecordNanos = System.nanoTime();
                    synchronized (this) {
                        for (ConsumerRecord<String, InferenceResponse> r : batch) {
                            add(r.value());
                        }
                    }
                }
            } catch (WakeupException e) {
                // stopped
            } catch (RuntimeException | Error e) {
                failure = e;
            }
        }

        private void add(InferenceResponse r) {
            records++;
            String id = r.getRequestId().toString();
            int i = Integer.parseInt(id.substring(2));
            if (i >= counts.length) {
                int size = Math.max(i + 1, counts.length * 2);
                counts = Arrays.copyOf(counts, size);
                respondedAt = Arrays.copyOf(respondedAt, size);
            }
            if (counts[i]++ == 0) {
                distinct++;
            } else {
                duplicates++;
            }
            respondedAt[i] = r.getRespondedAt().toEpochMilli();
            if (i % CHECK_EVERY == 0) {
                kept.put(id, r);
            }
        }

        void stop() {
            stopped = true;
            KafkaConsumer<String, InferenceResponse> c = consumer;
            if (c != null) {
                c.wakeup();
            }
        }

        synchronized int distinct() {
            if (failure != null) {
                throw new AssertionError("reading answers failed", failure);
            }
            return distinct;
        }

        synchronized long records() {
            return records;
        }

        synchronized long duplicates() {
            return duplicates;
        }

        InferenceResponse kept(String id) {
            return kept.get(id);
        }

        void awaitQuiet(long quietMillis, long atMostMillis) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(atMostMillis);
            while (System.nanoTime() < deadline && System.nanoTime() - lastRecordNanos < TimeUnit.MILLISECONDS.toNanos(quietMillis)) {
                Thread.sleep(100);
            }
        }

        /** respondedAt of requests {@code from .. to-1}, sorted (0 for those not answered). */
        private synchronized long[] times(int from, int to) {
            long[] t = new long[to - from];
            for (int i = from; i < to; i++) {
                t[i - from] = i < respondedAt.length ? respondedAt[i] : 0;
            }
            Arrays.sort(t);
            return t;
        }

        /** Answers per second over requests {@code from .. to-1}, from their respondedAt; the first tenth is warm-up. */
        double rate(int from, int to) {
            long[] t = times(from, to);
            int skip = t.length / 10;
            double seconds = (t[t.length - 1] - t[skip]) / 1000.0;
            return seconds <= 0 ? 0 : (t.length - 1 - skip) / seconds;
        }

        /** Milliseconds from the first to the last answer of requests {@code from .. to-1}. */
        long span(int from, int to) {
            long[] t = times(from, to);
            return t[t.length - 1] - t[0];
        }

        /** The last respondedAt of requests {@code from .. to-1}. */
        long last(int from, int to) {
            long[] t = times(from, to);
            return t[t.length - 1];
        }

        /** Answers per second of the whole run, by respondedAt, with the seconds in which the overload was sent. */
        String timeline(long sendStartMillis, long sendEndMillis) {
            long[] t = times(0, counts.length);
            t = Arrays.stream(t).filter(x -> x > 0).toArray();
            long base = t[0] / 1000;
            int[] perSecond = new int[(int) (t[t.length - 1] / 1000 - base + 1)];
            for (long x : t) {
                perSecond[(int) (x / 1000 - base)]++;
            }
            return "answers per second " + Arrays.toString(perSecond) + "; the overload was sent in seconds "
                    + (sendStartMillis / 1000 - base) + " to " + (sendEndMillis / 1000 - base);
        }

        /** Of requests {@code from .. to-1}, those answered between the two times, per second. */
        double rateBetween(int from, int to, long startMillis, long endMillis) {
            long n = Arrays.stream(times(from, to)).filter(t -> t >= startMillis && t <= endMillis).count();
            return n * 1000.0 / Math.max(1, endMillis - startMillis);
        }
    }

    private static void awaitAnswered(Answers answers, int count, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (answers.distinct() < count && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(count, answers.distinct(), "answered within " + seconds + " s");
    }

    // ---- memory --------------------------------------------------------------------------------

    /** Samples the child's heap (its Prometheus metrics), RSS ({@code /proc/<pid>/status}) and the lag, tagged by phase. */
    private final class Sampler {
        /** Heap used (all heap pools), heap committed (what used can never exceed), the old generation's use, RSS. */
        record Sample(String phase, long heap, long committed, long oldGen, long rss) {
        }

        record Peak(long heap, long committed, long oldGen, long rss, int count) {
        }

        private final long pid;
        private final URI metrics;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        private final List<Sample> samples = new ArrayList<>();
        private volatile String phase = "start";
        private long peakLag;
        private long hwm;
        private int failures;
        private int tick;

        Sampler(long pid, URI metrics) {
            this.pid = pid;
            this.metrics = metrics;
        }

        void phase(String name) {
            phase = name;
        }

        void sample() {
            String now = phase;
            try {
                String body = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                long heap = 0;
                long committed = 0;
                long oldGen = 0;
                for (String line : body.split("\n")) {
                    if (!line.contains("area=\"heap\"")) {
                        continue;
                    }
                    long v = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    if (line.startsWith("jvm_memory_used_bytes{")) {
                        heap += v;
                        if (line.contains("Old Gen") || line.contains("Tenured Gen")) {
                            oldGen += v;
                        }
                    } else if (line.startsWith("jvm_memory_committed_bytes{")) {
                        committed += v;
                    }
                }
                Map<String, Long> status = procStatus();
                synchronized (this) {
                    samples.add(new Sample(now, heap, committed, oldGen, status.getOrDefault("VmRSS", 0L)));
                    hwm = Math.max(hwm, status.getOrDefault("VmHWM", 0L));
                }
            } catch (IOException | RuntimeException e) {
                synchronized (this) {
                    failures++;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (tick++ % 3 == 0 && !now.equals("start") && !now.equals("warm-up")) {
                long lag = lag();
                if (lag != Long.MAX_VALUE) {
                    synchronized (this) {
                        peakLag = Math.max(peakLag, lag);
                    }
                }
            }
        }

        private Map<String, Long> procStatus() throws IOException {
            Map<String, Long> out = new HashMap<>();
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                String[] parts = line.split("\\s+");
                if (parts.length >= 3 && parts[2].equals("kB")) {
                    out.put(parts[0].replace(":", ""), Long.parseLong(parts[1]) * 1024);
                }
            }
            return out;
        }

        synchronized Peak peak(String... phases) {
            List<String> wanted = List.of(phases);
            long heap = 0;
            long committed = 0;
            long oldGen = 0;
            long rss = 0;
            int n = 0;
            for (Sample s : samples) {
                if (wanted.contains(s.phase())) {
                    heap = Math.max(heap, s.heap());
                    committed = Math.max(committed, s.committed());
                    oldGen = Math.max(oldGen, s.oldGen());
                    rss = Math.max(rss, s.rss());
                    n++;
                }
            }
            return new Peak(heap, committed, oldGen, rss, n);
        }

        synchronized long peakLag() {
            return peakLag;
        }

        synchronized long hwm() {
            return hwm;
        }

        synchronized int count() {
            return samples.size();
        }

        synchronized int failures() {
            return failures;
        }
    }

    // ---- small things --------------------------------------------------------------------------

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** "384m", "1g", "512k" or bytes. */
    private static long parseSize(String s) {
        char unit = Character.toLowerCase(s.charAt(s.length() - 1));
        long factor = unit == 'g' ? 1024 * MB : unit == 'm' ? MB : unit == 'k' ? 1024 : 1;
        return Long.parseLong(factor == 1 ? s : s.substring(0, s.length() - 1)) * factor;
    }

    private static void sleepNanos(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
