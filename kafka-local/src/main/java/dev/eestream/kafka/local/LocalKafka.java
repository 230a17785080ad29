package dev.eestream.kafka.local;

import dev.eestream.kafka.local.security.BrokerSecurity;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real single-node Kafka broker in KRaft mode (combined broker and controller), run in-process
 * from Kafka's own server classes. Bound to 127.0.0.1 only. Transactions work (all internal
 * topics use replication factor 1), so Kafka Streams can run with {@code exactly_once_v2}.
 *
 * <pre>{@code
 * try (LocalKafka kafka = LocalKafka.builder().build().start()) {
 *     kafka.createTopic("requests", 3);
 *     String bootstrap = kafka.bootstrapServers();
 * }
 * }</pre>
 */
public final class LocalKafka implements AutoCloseable {

    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final int BIND_ATTEMPTS = 3;

    private final int requestedPort;
    private final boolean deleteOnClose;
    private final Map<String, String> overrides;
    private final Duration startupTimeout;
    private final BrokerSecurity security;

    private Path dataDirectory;
    private KafkaRaftServer server;
    private int port;
    private boolean closed;

    private LocalKafka(Builder b) {
        this.requestedPort = b.port;
        this.overrides = b.properties;
        this.startupTimeout = b.startupTimeout;
        this.security = b.security;
        this.deleteOnClose = b.dataDirectory == null;
        this.dataDirectory = deleteOnClose ? null : b.dataDirectory.toAbsolutePath();
    }

    public static Builder builder() {
        return Builder.DEFAULTS;
    }

    /**
     * Formats the storage on first use, starts the broker and waits until a client can
     * describe the cluster. Free ports are re-picked if another process grabs one first.
     */
    public synchronized LocalKafka start() {
        if (closed) throw new IllegalStateException("LocalKafka was closed");
        if (server != null) return this;
        KafkaLogging.quietBroker();
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        try {
            // Created here, not in build(), so a broker that is never started leaves nothing behind.
            dataDirectory = deleteOnClose
                    ? Files.createTempDirectory("eestream-kafka-")
                    : Files.createDirectories(dataDirectory);
            for (int attempt = 1; server == null; attempt++) {
                int p = requestedPort == 0 ? freePort() : requestedPort;
                // The controller listener always takes a free port: only the client port can be fixed.
                int c = freePort();
                KafkaConfig config = KafkaConfig.fromProps(brokerProperties(p, c), false);
                format(config, security.scramArguments());
                KafkaRaftServer candidate = new KafkaRaftServer(config, Time.SYSTEM);
                try {
                    candidate.startup();
                    server = candidate;
                    port = p;
                } catch (RuntimeException e) {
                    shutdown(candidate);
                    if (attempt == BIND_ATTEMPTS || !isBindClash(e) || !pickedPortClashed()) throw e;
                }
            }
            awaitReady(deadline);
            return this;
        } catch (IOException | RuntimeException e) {
            close();
            throw new IllegalStateException("Kafka failed to start in " + dataDirectory, e);
        }
    }

    /** {@code 127.0.0.1:PORT} of the client listener, for the clients' {@code bootstrap.servers}. */
    public synchronized String bootstrapServers() {
        if (server == null) throw new IllegalStateException("LocalKafka is not running");
        return HOST + ":" + port;
    }

    /** The client listener's security. */
    public BrokerSecurity security() {
        return security;
    }

    /** Everything a Kafka client needs to connect: {@code bootstrap.servers} and the security settings. */
    public synchronized Map<String, String> clientProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("bootstrap.servers", bootstrapServers());
        m.putAll(security.clientProperties());
        return m;
    }

    /** The given data directory, or the temporary one once started (null before that). */
    public synchronized Path dataDirectory() {
        return dataDirectory;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** Creates topics with one partition each; topics that already exist are kept as they are. */
    public void createTopics(String... names) {
        createTopics(Arrays.stream(names).map(n -> new NewTopic(n, 1, (short) 1)).toList());
    }

    /** Creates a topic (kept as it is if it already exists) and waits until every partition has a leader. */
    public void createTopic(String name, int partitions) {
        createTopics(List.of(new NewTopic(name, partitions, (short) 1)));
    }

    private void createTopics(List<NewTopic> topics) {
        List<String> names = topics.stream().map(NewTopic::name).toList();
        try (Admin admin = admin()) {
            for (var result : admin.createTopics(topics).values().values()) {
                try {
                    result.get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) throw e;
                }
            }
            // CreateTopics returns once the controller committed them; the broker learns of the
            // new partitions a moment later, and producers started before that would see errors.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!allLeadersKnown(admin, names)) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("Topics not ready: " + names);
                Thread.sleep(20);
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot create topics " + names, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics " + names, e);
        }
    }

    private static boolean allLeadersKnown(Admin admin, List<String> names) throws InterruptedException {
        try {
            Map<String, TopicDescription> topics = admin.describeTopics(names).allTopicNames().get();
            return topics.values().stream()
                    .flatMap(t -> t.partitions().stream())
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty());
        } catch (ExecutionException e) {
            return false;
        }
    }

    /**
     * Stops the broker (controlled shutdown, then the controller) and, for a temporary data
     * directory, deletes it. Safe to call more than once.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (server != null) {
            shutdown(server);
            server = null;
        }
        if (deleteOnClose && dataDirectory != null) {
            try {
                Utils.delete(dataDirectory.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot delete " + dataDirectory, e);
            }
        }
    }

    private static void shutdown(KafkaRaftServer s) {
        s.shutdown();
        s.awaitShutdown();
    }

    private Properties brokerProperties(int p, int c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("process.roles", "broker,controller");
        m.put("node.id", Integer.toString(NODE_ID));
        // A static voter set: the controller's address lives in the config, not in the formatted
        // storage, so a restart on the same directory may use a different (free) controller port.
        m.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + c);
        m.put("controller.listener.names", "CONTROLLER");
        // The controller listener is KRaft's own (this process talks to itself); clients and the
        // broker's inter-broker traffic use the client listener with its security.
        String client = security.listenerName();
        m.put("listeners", client + "://" + HOST + ":" + p + ",CONTROLLER://" + HOST + ":" + c);
        m.put("advertised.listeners", client + "://" + HOST + ":" + p);
        m.put("inter.broker.listener.name", client);
        m.put("listener.security.protocol.map", client + ":" + security.protocol().name() + ",CONTROLLER:PLAINTEXT");
        m.putAll(security.brokerProperties());
        m.put("log.dirs", dataDirectory.resolve("logs").toString());
        // One node: every internal topic gets a single replica, so transactions and consumer
        // groups can be used at all.
        m.put("offsets.topic.replication.factor", "1");
        m.put("transaction.state.log.replication.factor", "1");
        m.put("transaction.state.log.min.isr", "1");
        m.put("min.insync.replicas", "1");
        m.put("share.coordinator.state.topic.replication.factor", "1");
        m.put("share.coordinator.state.topic.min.isr", "1");
        // The defaults (50 partitions each) only slow down the first group join and initTransactions.
        m.put("offsets.topic.num.partitions", "4");
        m.put("transaction.state.log.num.partitions", "4");
        m.put("group.initial.rebalance.delay.ms", "0");
        // A SIGKILLed client's timed-out transaction is aborted within a second, not at Kafka's 10 s sweep: until then its
        // partitions' next owner cannot read their committed offsets.
        m.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
        m.put("auto.create.topics.enable", "false");
        // The log cleaner allocates its dedupe buffer up front (128 MiB by default).
        m.put("log.cleaner.dedupe.buffer.size", Long.toString(16L * 1024 * 1024));
        // Kafka's own bound on the blocking part of startup (the default waits forever).
        m.put("server.max.startup.time.ms", Long.toString(startupTimeout.toMillis()));
        m.putAll(overrides);
        Properties props = new Properties();
        props.putAll(m);
        return props;
    }

    /**
     * What {@code kafka-storage.sh format --ignore-formatted} does: writes meta.properties and the
     * bootstrap metadata to unformatted directories. An already formatted directory keeps its
     * cluster id and data; its id is reused because the Formatter insists that all agree.
     */
    private static void format(KafkaConfig config, List<String> scramArguments) {
        try {
            String clusterId = new MetaPropertiesEnsemble.Loader()
                    .addLogDirs(config.logDirs())
                    .addMetadataLogDir(config.metadataLogDir())
                    .load()
                    .clusterId()
                    .orElseGet(() -> Uuid.randomUuid().toString());
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(config.nodeId())
                    .setClusterId(clusterId)
                    .setControllerListenerName(config.controllerListenerNames().get(0))
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setDirectories(config.logDirs())
                    .setIgnoreFormatted(true)
                    .setScramArguments(scramArguments)
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format the Kafka storage directory", e);
        }
    }

    private void awaitReady(long deadline) {
        try (Admin admin = admin()) {
            while (true) {
                try {
                    admin.describeCluster().nodes().get(1, TimeUnit.SECONDS);
                    return;
                } catch (ExecutionException | TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Kafka not ready within " + startupTimeout, e);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for Kafka", e);
        }
    }

    private Admin admin() {
        Properties p = new Properties();
        p.putAll(clientProperties());
        return Admin.create(p);
    }

    /** After a bind clash: retry only if the port the caller fixed is free, so a picked one was taken. */
    private boolean pickedPortClashed() {
        return requestedPort == 0 || canBind(requestedPort);
    }

    private static boolean canBind(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName(HOST))) {
            return s.isBound();
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isBindClash(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) return true;
            if (t.getMessage() != null && t.getMessage().contains("Address already in use")) return true;
        }
        return false;
    }

    /** A port that was free a moment ago; the start retries if someone else takes it meanwhile. */
    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + HOST, e);
        }
    }

    /**
     * Immutable options: every setter returns a new Builder, so a base configuration can be shared
     * and varied. {@link #build()} gives a broker that is not started yet.
     */
    public static final class Builder {
        private static final Builder DEFAULTS = new Builder(0, null, Map.of(), Duration.ofSeconds(60), BrokerSecurity.plaintext());

        private final int port;
        private final Path dataDirectory;
        private final Map<String, String> properties;
        private final Duration startupTimeout;
        private final BrokerSecurity security;

        private Builder(int port, Path dataDirectory, Map<String, String> properties,
                        Duration startupTimeout, BrokerSecurity security) {
            this.port = port;
            this.dataDirectory = dataDirectory;
            this.properties = properties;
            this.startupTimeout = startupTimeout;
            this.security = security;
        }

        /** The client listener's port; 0, the default, picks a free one. */
        public Builder port(int port) {
            return new Builder(checkPort(port), dataDirectory, properties, startupTimeout, security);
        }

            /**
         * Where the logs and metadata live. A given directory is kept, so a later start finds
         * its topics and records; null, the default, uses a temporary one that close() deletes.
         */
        public Builder dataDirectory(Path dataDirectory) {
            return new Builder(port, dataDirectory, properties, startupTimeout, security);
        }

        /** Any broker property; it wins over LocalKafka's own settings (use {@link #security} for SSL or SASL). */
        public Builder property(String name, String value) {
            Map<String, String> copy = new HashMap<>(properties);
            copy.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return new Builder(port, dataDirectory, Map.copyOf(copy), startupTimeout, security);
        }

        /** How long start() may take until a client can talk to the broker (default 60 s). */
        public Builder startupTimeout(Duration startupTimeout) {
            if (startupTimeout.isNegative() || startupTimeout.isZero()) {
                throw new IllegalArgumentException("startupTimeout must be positive");
            }
            return new Builder(port, dataDirectory, properties, startupTimeout, security);
        }

        /**
         * The client listener's security (PLAINTEXT by default). With SCRAM, the user is created when
         * the storage is first formatted; a data directory formatted before keeps its users.
         */
        public Builder security(BrokerSecurity security) {
            return new Builder(port, dataDirectory, properties, startupTimeout, Objects.requireNonNull(security));
        }

        public LocalKafka build() {
            return new LocalKafka(this);
        }

        private static int checkPort(int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("Bad port " + port);
            return port;
        }
    }
}
