package dev.eestream.schemas.topics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates topics that are missing and leaves existing ones as they are ("exists" is not an error,
 * also when another process creates the topic at the same moment), then waits until every partition
 * has a leader, so producers started right after see no errors. The one place eestream creates topics.
 */
public final class TopicAdmin {
    private TopicAdmin() {
    }

    /** A topic to create when missing; replication -1 takes the broker's default. */
    public record Spec(String name, int partitions, short replicationFactor) {
        public static Spec of(String name, int partitions) {
            return new Spec(name, partitions, (short) -1);
        }
    }

    /**
     * @param config Kafka client settings (bootstrap, security); keys that are not the admin client's are ignored
     * @return the topics this call created
     * @throws TopicAdminException when Kafka refuses, does not answer within {@code timeout}, or the thread is interrupted
     */
    public static List<String> ensure(Map<String, ?> config, List<Spec> topics, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> names = topics.stream().map(Spec::name).toList();
        try (Admin admin = Admin.create(adminConfig(config))) {
            Set<String> existing = admin.listTopics().names().get(remaining(deadline), TimeUnit.NANOSECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (Spec s : topics) {
                if (!existing.contains(s.name())) {
                    missing.add(new NewTopic(s.name(), Optional.of(s.partitions()),
                            s.replicationFactor() < 0 ? Optional.empty() : Optional.of(s.replicationFactor())));
                }
            }
            List<String> created = new ArrayList<>();
            for (var f : admin.createTopics(missing).values().entrySet()) {
                try {
                    f.getValue().get(remaining(deadline), TimeUnit.NANOSECONDS);
                    created.add(f.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new TopicAdminException("cannot create topic '" + f.getKey() + "': " + e.getCause().getMessage(), e);
                    }
                }
            }
            // CreateTopics returns once the controller committed them; brokers learn of the new
            // partitions a moment later.
            while (!allLeadersKnown(admin, names, deadline)) {
                if (System.nanoTime() > deadline) {
                    throw new TopicAdminException("topics " + names + " have no leader after " + timeout.toSeconds() + " s", null);
                }
                Thread.sleep(20);
            }
            return created;
        } catch (ExecutionException e) {
            throw new TopicAdminException("cannot list topics at " + config.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG) + ": "
                    + e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            throw new TopicAdminException("no answer from Kafka at " + config.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)
                    + " within " + timeout.toSeconds() + " s while creating topics " + names, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TopicAdminException("interrupted while creating topics " + names, e);
        }
    }

    /** The settings of {@code config} that the admin client knows (it warns about every other one). */
    public static Map<String, Object> adminConfig(Map<String, ?> config) {
        Map<String, Object> admin = new HashMap<>();
        config.forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) {
                admin.put(k, v);
            }
        });
        return admin;
    }

    private static boolean allLeadersKnown(Admin admin, List<String> names, long deadline) throws InterruptedException {
        try {
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames()
                    .get(Math.max(1, remaining(deadline)), TimeUnit.NANOSECONDS);
            return described.values().stream().flatMap(t -> t.partitions().stream())
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    /** Kafka refused or did not answer; the message says which topic and why. */
    public static final class TopicAdminException extends RuntimeException {
        TopicAdminException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
