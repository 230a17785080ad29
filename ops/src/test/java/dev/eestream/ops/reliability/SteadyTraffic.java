package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eestream.ops.local.LocalMode;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Requests at a steady rate while events (kills, restarts) happen beside them, and the committed answers read
 * meanwhile with the time each arrived, per request partition: what the failover tests measure pauses and
 * throughput dips from.
 */
final class SteadyTraffic {
    private final LocalMode infrastructure;
    private final String replies;
    private final int ratePerSecond;

    SteadyTraffic(LocalMode infrastructure, String replies, int ratePerSecond) {
        this.infrastructure = infrastructure;
        this.replies = replies;
        this.ratePerSecond = ratePerSecond;
    }

    /** What one run read back: the first answer and the count per request id, when each partition's answers arrived. */
    record Run(Map<String, InferenceResponse> answers, Map<String, Integer> counts, Map<Integer, List<Long>> answeredAt,
            Map<Integer, Long> events) {
        long eventAt(int requestIndex) {
            return events.get(requestIndex);
        }

        long doubled() {
            return counts.values().stream().mapToLong(count -> count - 1).sum();
        }

        Map<Integer, Long> gapsAfter(long from) {
            return gapsBetween(from, Long.MAX_VALUE);
        }

        /**
         * Per partition, the longest pause that ended between {@code from} and {@code to}, counted from no earlier than a
         * second before {@code from}.
         */
        Map<Integer, Long> gapsBetween(long from, long to) {
            Map<Integer, Long> gaps = new TreeMap<>();
            for (var partition : answeredAt.entrySet()) {
                List<Long> times = sorted(partition.getValue());
                long gap = 0;
                // A pause belongs to the phase in which it ended: one that spans the next event is that event's.
                for (int i = 1; i < times.size(); i++) {
                    if (times.get(i) >= from && times.get(i) < to) {
                        gap = Math.max(gap, times.get(i) - Math.max(times.get(i - 1), from - 1000));
                    }
                }
                gaps.put(partition.getKey(), gap);
            }
            return gaps;
        }

        /**
         * Like {@link #gapsBetween}, but a partition still silent at {@code to} counts that open pause too: a partition
         * that stopped answering in the phase cannot hide its pause by resuming only in the next one.
         */
        Map<Integer, Long> pausesWithin(long from, long to) {
            Map<Integer, Long> pauses = gapsBetween(from, to);
            for (var partition : answeredAt.entrySet()) {
                long last = from - 1000;
                for (long time : sorted(partition.getValue())) {
                    if (time < to) {
                        last = Math.max(last, time);
                    }
                }
                pauses.merge(partition.getKey(), to - last, Math::max);
            }
            return pauses;
        }

        /**
         * The fewest answers (all partitions) in any {@code windowMs} window that starts between {@code from} and
         * {@code to}, per second: the throughput dip around an event.
         */
        double lowestRate(long from, long to, long windowMs) {
            List<Long> all = new ArrayList<>();
            answeredAt.values().forEach(times -> all.addAll(sorted(times)));
            Collections.sort(all);
            double lowest = Double.MAX_VALUE;
            for (long start = from; start + windowMs <= to; start += 250) {
                long windowStart = start;
                long inWindow = all.stream().filter(at -> at >= windowStart && at < windowStart + windowMs).count();
                lowest = Math.min(lowest, inWindow * 1000.0 / windowMs);
            }
            return lowest == Double.MAX_VALUE ? Double.NaN : lowest;
        }

        /** The time of the last answer. */
        long lastAnswer() {
            return answeredAt.values().stream().flatMap(times -> sorted(times).stream()).mapToLong(Long::longValue).max().orElse(0);
        }

        void assertExactlyOnce(int total, int partitions) {
            assertEquals(total, answers.size(), "every request answered");
            assertEquals(0, doubled(), "none answered twice");
            assertEquals(partitions, answeredAt.size(), "answers on every partition");
        }

        private static List<Long> sorted(List<Long> times) {
            List<Long> copy;
            synchronized (times) {
                copy = new ArrayList<>(times);
            }
            copy.sort(Long::compare);
            return copy;
        }
    }

    /**
     * Sends {@code total} requests made by {@code request} (its id is the record key) at the rate, running each event
     * off the sending thread just before the request of its index, and reads the committed answers meanwhile; returns
     * once every request is answered (or 180 s after the last was sent) and 3 quiet seconds more, so late duplicates
     * would be seen.
     */
    Run send(int total, IntFunction<InferenceRequest> request, Map<Integer, Runnable> events) throws Exception {
        Map<String, Integer> partitionOf = new ConcurrentHashMap<>();
        Map<String, InferenceResponse> answers = new ConcurrentHashMap<>();
        Map<String, Integer> counts = new ConcurrentHashMap<>();
        Map<Integer, List<Long>> answeredAt = new ConcurrentHashMap<>();
        Map<Integer, Long> eventTimes = new HashMap<>();
        AtomicBoolean reading = new AtomicBoolean(true);
        CountDownLatch assigned = new CountDownLatch(1);
        Thread reader = new Thread(() -> readAnswers(partitionOf, answers, counts, answeredAt, reading, assigned), "steady-traffic-answers");
        reader.start();
        // Answers are timed when the checking consumer reads them: it must have its partitions before the first is sent.
        if (!assigned.await(60, TimeUnit.SECONDS)) {
            reading.set(false);
            throw new AssertionError("the consumer of " + replies + " got no partitions within 60 s");
        }
        List<Thread> actors = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        cfg.put("enable.idempotence", "true");
        cfg.put("acks", "all");
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        long start = System.nanoTime();
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, new StringSerializer(), serializer)) {
            for (int i = 0; i < total; i++) {
                long wait = start + TimeUnit.MILLISECONDS.toNanos(i * 1000L / ratePerSecond) - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                Runnable event = events.get(i);
                if (event != null) {
                    eventTimes.put(i, System.currentTimeMillis());
                    // Off the sending thread: requests keep arriving while processors and brokers stop and start.
                    Thread actor = new Thread(() -> {
                        try {
                            event.run();
                        } catch (RuntimeException | AssertionError e) {
                            failure.compareAndSet(null, e);
                        }
                    }, "steady-traffic-event-" + i);
                    actors.add(actor);
                    actor.start();
                }
                InferenceRequest next = request.apply(i);
                String id = next.getRequestId();
                producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, id, next), (metadata, e) -> {
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
            throw new AssertionError("an event (a stop or start) failed", failure.get());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (answers.size() < total && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        Thread.sleep(3000);
        reading.set(false);
        reader.join(10_000);
        return new Run(answers, counts, answeredAt, eventTimes);
    }

    private void readAnswers(Map<String, Integer> partitionOf, Map<String, InferenceResponse> answers, Map<String, Integer> counts,
            Map<Integer, List<Long>> answeredAt, AtomicBoolean reading, CountDownLatch assigned) {
        Map<String, Long> pendingTimes = new HashMap<>();
        try (KafkaConsumer<String, InferenceResponse> consumer = ReliabilityFixture.committedAnswers(infrastructure, replies + "-check")) {
            consumer.subscribe(List.of(replies));
            while (reading.get()) {
                for (ConsumerRecord<String, InferenceResponse> record : consumer.poll(Duration.ofMillis(50))) {
                    String id = record.value().getRequestId();
                    counts.merge(id, 1, Integer::sum);
                    answers.putIfAbsent(id, record.value());
                    pendingTimes.putIfAbsent(id, System.currentTimeMillis());
                }
                if (!consumer.assignment().isEmpty()) {
                    assigned.countDown();
                }
                // The producer's callback names a request's partition a moment after it is sent.
                pendingTimes.entrySet().removeIf(pending -> {
                    Integer partition = partitionOf.get(pending.getKey());
                    if (partition == null) {
                        return false;
                    }
                    answeredAt.computeIfAbsent(partition, key -> Collections.synchronizedList(new ArrayList<>())).add(pending.getValue());
                    return true;
                });
            }
        }
    }
}
