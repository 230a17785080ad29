package dev.eestream.kafka.local.cluster;

import dev.eestream.kafka.local.security.BrokerSecurity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/** The broker properties of one node of a local cluster: KRaft combined mode, bound to the layout's host. */
public final class NodeProperties {
    /** Brokers beyond this many get no more replicas: Kafka's usual production factor. */
    private static final int MAX_REPLICATION = 3;

    private NodeProperties() {
    }

    /**
     * Node {@code nodeId} of {@code layout}, its logs in {@code logDirectory}. {@code overrides} win over
     * everything set here.
     */
    public static Properties of(ClusterLayout layout, int nodeId, Path logDirectory, BrokerSecurity security,
            Duration startupTimeout, Map<String, String> overrides) {
        ClusterLayout.NodePorts ports = layout.node(nodeId);
        String host = layout.host();
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("process.roles", "broker,controller");
        settings.put("node.id", Integer.toString(nodeId));
        // A static voter set: the controllers' addresses live in the config, not in the formatted
        // storage, so a restart on the same directory may use different (free) controller ports.
        settings.put("controller.quorum.voters", layout.voters());
        settings.put("controller.listener.names", "CONTROLLER");
        // The controller listener is KRaft's own; clients and the brokers' inter-broker traffic use
        // the client listener with its security.
        String client = security.listenerName();
        settings.put("listeners", client + "://" + host + ":" + ports.clientPort() + ",CONTROLLER://" + host + ":" + ports.controllerPort());
        settings.put("advertised.listeners", client + "://" + host + ":" + ports.clientPort());
        settings.put("inter.broker.listener.name", client);
        settings.put("listener.security.protocol.map", client + ":" + security.protocol().name() + ",CONTROLLER:PLAINTEXT");
        settings.putAll(security.brokerProperties());
        settings.put("log.dirs", logDirectory.toString());
        replication(layout.size(), settings);
        // The defaults (50 partitions each) only slow down the first group join and initTransactions.
        settings.put("offsets.topic.num.partitions", "4");
        settings.put("transaction.state.log.num.partitions", "4");
        settings.put("group.initial.rebalance.delay.ms", "0");
        // A SIGKILLed client's timed-out transaction is aborted within a second, not at Kafka's 10 s sweep: until then its
        // partitions' next owner cannot read their committed offsets.
        settings.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
        settings.put("auto.create.topics.enable", "false");
        // The log cleaner allocates its dedupe buffer up front (128 MiB by default).
        settings.put("log.cleaner.dedupe.buffer.size", Long.toString(16L * 1024 * 1024));
        // Kafka's own bound on the blocking part of startup (the default waits forever).
        settings.put("server.max.startup.time.ms", Long.toString(startupTimeout.toMillis()));
        settings.putAll(overrides);
        Properties props = new Properties();
        props.putAll(settings);
        return props;
    }

    /**
     * One node: every topic gets a single replica, so transactions and consumer groups work at all. Three or more:
     * three replicas, of which two must have a write before it is acknowledged, so any one node may die without
     * losing an acknowledged record or stopping writes.
     */
    private static void replication(int nodes, Map<String, String> settings) {
        String factor = Integer.toString(Math.min(nodes, MAX_REPLICATION));
        String minInSync = nodes >= MAX_REPLICATION ? "2" : "1";
        settings.put("default.replication.factor", factor);
        settings.put("min.insync.replicas", minInSync);
        settings.put("offsets.topic.replication.factor", factor);
        settings.put("transaction.state.log.replication.factor", factor);
        settings.put("transaction.state.log.min.isr", minInSync);
        settings.put("share.coordinator.state.topic.replication.factor", factor);
        settings.put("share.coordinator.state.topic.min.isr", minInSync);
        if (nodes > 1) {
            // A SIGKILLed node is fenced, and its partitions' leadership moved, after 4 s without a heartbeat rather than
            // Kafka's 9 s: on one machine heartbeats are not late for network reasons.
            settings.put("broker.heartbeat.interval.ms", "1000");
            settings.put("broker.session.timeout.ms", "4000");
        }
    }
}
