package dev.eestream.processor.validation;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Whether a reply topic exists. Producing to a missing topic (with auto-creation off) blocks the
 * stream thread for max.block.ms and then fails the task, again and again on the same request, so a
 * request naming one must be answered with an ERROR on the default topic instead.
 */
public interface TopicExistence extends AutoCloseable {
    boolean exists(String topic);

    @Override
    default void close() {
    }

    /** Every topic exists: for tests whose sinks accept any topic. */
    static TopicExistence assumeAll() {
        return topic -> true;
    }

    /** Asks the cluster, caching answers: a topic found for 10 minutes, a missing one for 10 seconds. */
    static TopicExistence cached(Admin admin) {
        return new TopicExistence() {
            private final Map<String, Long> validUntil = new ConcurrentHashMap<>();
            private final Map<String, Boolean> answers = new ConcurrentHashMap<>();

            @Override
            public boolean exists(String topic) {
                Long until = validUntil.get(topic);
                if (until != null && until > System.nanoTime()) {
                    return answers.get(topic);
                }
                boolean exists = describe(topic);
                answers.put(topic, exists);
                validUntil.put(topic, System.nanoTime() + (exists ? Duration.ofMinutes(10) : Duration.ofSeconds(10)).toNanos());
                return exists;
            }

            private boolean describe(String topic) {
                try {
                    admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS);
                    return true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        return false;
                    }
                    throw new IllegalStateException("cannot tell whether topic " + topic + " exists: " + e.getCause(), e);
                } catch (TimeoutException e) {
                    throw new IllegalStateException("cannot tell whether topic " + topic + " exists: no answer in 5 s", e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }

            @Override
            public void close() {
                admin.close(Duration.ofSeconds(5));
            }
        };
    }
}
