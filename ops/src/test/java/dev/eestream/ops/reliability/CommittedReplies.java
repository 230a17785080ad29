package dev.eestream.ops.reliability;

import dev.eestream.ops.local.LocalMode;
import dev.eestream.schemas.InferenceResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Reads a reply topic with a read_committed consumer on a thread of its own while a test runs, and
 * keeps every record per request id in the order of the topic (a request's records share a key, so
 * they share a partition). A test asks it, while the processor works, which generations are
 * streaming, and afterwards for everything that was committed.
 */
final class CommittedReplies implements AutoCloseable {
    private final KafkaConsumer<String, InferenceResponse> consumer;
    private final Thread reader;
    private final Map<String, List<InferenceResponse>> byRequest = new HashMap<>();
    private volatile RuntimeException failure;
    private int records;

    private CommittedReplies(KafkaConsumer<String, InferenceResponse> consumer, String topic) {
        this.consumer = consumer;
        consumer.subscribe(List.of(topic));
        this.reader = new Thread(this::read, "committed-replies-" + topic);
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts reading {@code topic} from its beginning, committed records only. */
    static CommittedReplies follow(LocalMode infrastructure, String topic, String group) {
        return new CommittedReplies(ReliabilityFixture.committedAnswers(infrastructure, group), topic);
    }

    private void read() {
        try {
            while (true) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(100))) {
                    synchronized (byRequest) {
                        records++;
                        byRequest.computeIfAbsent(r.value().getRequestId(), k -> new ArrayList<>()).add(r.value());
                    }
                }
            }
        } catch (WakeupException e) {
            // close() asked it to stop
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            consumer.close();
        }
    }

    /** Records read so far. */
    int records() {
        synchronized (byRequest) {
            return records;
        }
    }

    /** How many of {@code ids} have their final record. */
    int finished(java.util.Collection<String> ids) {
        synchronized (byRequest) {
            return (int) ids.stream().filter(id -> byRequest.getOrDefault(id, List.of()).stream()
                    .anyMatch(InferenceResponse::getFinalChunk)).count();
        }
    }

    /** Generations streaming now, as far as the committed records tell, whose last record (a chunk, not final) {@code which} accepts. */
    int streaming(Predicate<InferenceResponse> which) {
        synchronized (byRequest) {
            return (int) byRequest.values().stream().map(l -> l.get(l.size() - 1)).filter(r -> !r.getFinalChunk() && which.test(r)).count();
        }
    }

    /** Every request's records so far, in the order of the topic. */
    Map<String, List<InferenceResponse>> byRequest() {
        checkReading();
        synchronized (byRequest) {
            Map<String, List<InferenceResponse>> copy = new HashMap<>();
            byRequest.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            return copy;
        }
    }

    /** Throws what stopped the reader, if anything did. */
    void checkReading() {
        if (failure != null) {
            throw new IllegalStateException("the reader of committed replies stopped: " + failure, failure);
        }
    }

    @Override
    public void close() throws InterruptedException {
        consumer.wakeup();
        reader.join(10_000);
    }
}
