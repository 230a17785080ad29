package dev.eestream.kafka.local;

import dev.eestream.kafka.local.cluster.BrokerCluster;
import dev.eestream.kafka.local.cluster.ClusterLayout;
import dev.eestream.kafka.local.cluster.NodeProperties;
import dev.eestream.kafka.local.cluster.NodeStorage;
import dev.eestream.kafka.local.security.BrokerSecurity;
import dev.eestream.kafka.local.security.OwnerOnly;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;

import java.io.IOException;
import java.io.StringWriter;
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
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real Kafka broker in KRaft mode (combined broker and controller) from Kafka's own server classes,
 * bound to 127.0.0.1 only. One broker runs in this JVM; a cluster of several ({@link Builder#brokers})
 * runs each node in a child JVM of its own, so one can die alone, with replication factor 3 and
 * {@code min.insync.replicas=2} from three nodes on. Transactions work either way, so Kafka Streams can
 * run with {@code exactly_once_v2}.
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
    /** In a cluster's data directory: {@code node-1}, {@code node-2}, … each with its logs and properties file. */
    private static final String NODE_DIRECTORY = "node-";

    private final int requestedPort;
    private final int brokers;
    private final Duration restartDelay;
    private final boolean deleteOnClose;
    private final Map<String, String> overrides;
    private final Duration startupTimeout;
    private final BrokerSecurity security;

    private Path dataDirectory;
    private KafkaRaftServer server;
    private BrokerCluster cluster;
    private ClusterLayout layout;
    private boolean closed;

    private LocalKafka(Builder b) {
        this.requestedPort = b.port;
        this.brokers = b.brokers;
        this.restartDelay = b.restartDelay;
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
     * Formats the storage on first use, starts the broker (or every node of the cluster) and waits until a
     * client sees them all. Free ports are re-picked if another process grabs one first.
     */
    public synchronized LocalKafka start() {
        if (closed) throw new IllegalStateException("LocalKafka was closed");
        if (isRunning()) return this;
        KafkaLogging.quietBroker();
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        try {
            // Created here, not in build(), so a broker that is never started leaves nothing behind.
            dataDirectory = deleteOnClose
                    ? Files.createTempDirectory("eestream-kafka-")
                    : Files.createDirectories(dataDirectory);
            checkNodeCount();
            if (brokers == 1) {
                startInProcess();
            } else {
                startCluster();
            }
            awaitReady(deadline);
            return this;
        } catch (IOException | RuntimeException e) {
            close();
            throw new IllegalStateException("Kafka failed to start in " + dataDirectory + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("Interrupted while starting Kafka", e);
        }
    }

    private void startInProcess() {
        for (int attempt = 1; server == null; attempt++) {
            ClusterLayout picked = ClusterLayout.pick(HOST, 1, requestedPort);
            KafkaConfig config = KafkaConfig.fromProps(NodeProperties.of(picked, NODE_ID, dataDirectory.resolve("logs"), security,
                    startupTimeout, overrides), false);
            NodeStorage.format(config, NodeStorage.clusterId(config).orElseGet(() -> Uuid.randomUuid().toString()),
                    security.scramArguments());
            KafkaRaftServer candidate = new KafkaRaftServer(config, Time.SYSTEM);
            try {
                candidate.startup();
                server = candidate;
                layout = picked;
            } catch (RuntimeException e) {
                shutdown(candidate);
                if (attempt == BIND_ATTEMPTS || !isBindClash(e) || !pickedPortClashed()) throw e;
            }
        }
    }

    /** Formats each node's directory for one cluster id, writes its properties file (owner-only: it may hold passwords) and starts them. */
    private void startCluster() throws IOException, InterruptedException {
        for (int attempt = 1; cluster == null; attempt++) {
            ClusterLayout picked = ClusterLayout.pick(HOST, brokers, requestedPort);
            Map<Integer, Properties> properties = new TreeMap<>();
            Map<Integer, KafkaConfig> configs = new TreeMap<>();
            for (ClusterLayout.NodePorts node : picked.nodes()) {
                Path home = OwnerOnly.directory(nodeDirectory(node.nodeId()));
                Properties props = NodeProperties.of(picked, node.nodeId(), home.resolve("logs"), security, startupTimeout, overrides);
                properties.put(node.nodeId(), props);
                configs.put(node.nodeId(), KafkaConfig.fromProps(props, false));
            }
            String clusterId = clusterIdOf(configs.values());
            Map<Integer, Path> files = new TreeMap<>();
            for (var node : configs.entrySet()) {
                NodeStorage.format(node.getValue(), clusterId, security.scramArguments());
                StringWriter text = new StringWriter();
                properties.get(node.getKey()).store(text, "node " + node.getKey() + " of eestream's local cluster; rewritten at each start");
                Path file = nodeDirectory(node.getKey()).resolve("server.properties");
                OwnerOnly.replace(file, text.toString());
                files.put(node.getKey(), file);
            }
            try {
                cluster = BrokerCluster.start(files, restartDelay, startupTimeout);
                layout = picked;
            } catch (BrokerCluster.NodeFailedException e) {
                if (attempt == BIND_ATTEMPTS || !e.portTaken() || !pickedPortClashed()) throw e;
            }
        }
    }

    /** The nodes' one cluster id: the one they were formatted with, or a new one for a new cluster. */
    private static String clusterIdOf(java.util.Collection<KafkaConfig> configs) {
        java.util.Set<String> ids = new java.util.TreeSet<>();
        configs.forEach(config -> NodeStorage.clusterId(config).ifPresent(ids::add));
        if (ids.size() > 1) {
            throw new IllegalStateException("the nodes' directories belong to different clusters " + ids);
        }
        return ids.isEmpty() ? Uuid.randomUuid().toString() : ids.iterator().next();
    }

    private Path nodeDirectory(int nodeId) {
        return dataDirectory.resolve(NODE_DIRECTORY + nodeId);
    }

    /** A kept data directory serves the number of brokers it was made with: its topics' replicas live on those nodes. */
    private void checkNodeCount() {
        boolean single = Files.exists(dataDirectory.resolve("logs").resolve("meta.properties"));
        int nodes = 0;
        while (Files.isDirectory(nodeDirectory(nodes + 1))) {
            nodes++;
        }
        int made = single ? 1 : nodes;
        if (made != 0 && made != brokers) {
            throw new BrokerCountMismatchException(dataDirectory, made, brokers);
        }
    }

    /** A kept data directory asked to serve another number of brokers than it was made for. */
    public static final class BrokerCountMismatchException extends IllegalArgumentException {
        private final int madeFor;

        BrokerCountMismatchException(Path dataDirectory, int madeFor, int asked) {
            super("the data directory " + dataDirectory + " was made for " + madeFor + " broker" + (madeFor == 1 ? "" : "s")
                    + ", not " + asked + "; use a new data directory");
            this.madeFor = madeFor;
        }

        /** The number of brokers the directory holds data of. */
        public int madeFor() {
            return madeFor;
        }
    }

    /** {@code 127.0.0.1:PORT} of each broker's client listener, for the clients' {@code bootstrap.servers}. */
    public synchronized String bootstrapServers() {
        if (!isRunning()) throw new IllegalStateException("LocalKafka is not running");
        return layout.bootstrapServers();
    }

    /** The child JVMs of a cluster of several brokers, to kill one or learn its pid; absent for one in-process broker. */
    public synchronized java.util.Optional<BrokerCluster> cluster() {
        return java.util.Optional.ofNullable(cluster);
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
        return server != null || cluster != null;
    }

    /** Creates topics with one partition each (the brokers' default replication); existing topics are kept as they are. */
    public void createTopics(String... names) {
        createTopics(Arrays.stream(names).map(name -> new NewTopic(name, Optional.of(1), Optional.empty())).toList());
    }

    /** Creates a topic (kept as it is if it already exists) and waits until every partition has a leader. */
    public void createTopic(String name, int partitions) {
        createTopics(List.of(new NewTopic(name, Optional.of(partitions), Optional.empty())));
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
        if (cluster != null) {
            try {
                cluster.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cluster = null;
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

    private void awaitReady(long deadline) {
        try (Admin admin = admin()) {
            while (true) {
                try {
                    // A cluster is ready when every node has registered with the controllers.
                    if (admin.describeCluster().nodes().get(1, TimeUnit.SECONDS).size() >= brokers) {
                        return;
                    }
                    Thread.sleep(100);
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

    /**
     * Immutable options: every setter returns a new Builder, so a base configuration can be shared
     * and varied. {@link #build()} gives a broker that is not started yet.
     */
    public static final class Builder {
        private static final Builder DEFAULTS = new Builder(0, null, Map.of(), Duration.ofSeconds(60), BrokerSecurity.plaintext(), 1, null);

        private final int port;
        private final int brokers;
        private final Duration restartDelay;
        private final Path dataDirectory;
        private final Map<String, String> properties;
        private final Duration startupTimeout;
        private final BrokerSecurity security;

        private Builder(int port, Path dataDirectory, Map<String, String> properties,
                        Duration startupTimeout, BrokerSecurity security, int brokers, Duration restartDelay) {
            this.port = port;
            this.brokers = brokers;
            this.restartDelay = restartDelay;
            this.dataDirectory = dataDirectory;
            this.properties = properties;
            this.startupTimeout = startupTimeout;
            this.security = security;
        }

        /** The client listener's port; 0, the default, picks a free one. */
        public Builder port(int port) {
            return new Builder(checkPort(port), dataDirectory, properties, startupTimeout, security, brokers, restartDelay);
        }

        /**
         * Where the logs and metadata live. A given directory is kept, so a later start finds
         * its topics and records; null, the default, uses a temporary one that close() deletes.
         */
        public Builder dataDirectory(Path dataDirectory) {
            return new Builder(port, dataDirectory, properties, startupTimeout, security, brokers, restartDelay);
        }

        /** Any broker property; it wins over LocalKafka's own settings (use {@link #security} for SSL or SASL). */
        public Builder property(String name, String value) {
            Map<String, String> copy = new HashMap<>(properties);
            copy.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return new Builder(port, dataDirectory, Map.copyOf(copy), startupTimeout, security, brokers, restartDelay);
        }

        /** How long start() may take until a client can talk to the broker (default 60 s). */
        public Builder startupTimeout(Duration startupTimeout) {
            if (startupTimeout.isNegative() || startupTimeout.isZero()) {
                throw new IllegalArgumentException("startupTimeout must be positive");
            }
            return new Builder(port, dataDirectory, properties, startupTimeout, security, brokers, restartDelay);
        }

        /**
         * The client listener's security (PLAINTEXT by default). With SCRAM, the user is created when
         * the storage is first formatted; a data directory formatted before keeps its users.
         */
        public Builder security(BrokerSecurity security) {
            return new Builder(port, dataDirectory, properties, startupTimeout, Objects.requireNonNull(security), brokers, restartDelay);
        }

        /**
         * How many brokers (combined KRaft nodes): 1, the default, runs in this JVM; more run in child JVMs, with
         * replication factor min(n, 3) for every topic and {@code min.insync.replicas} 2 from three on. The client
         * port given by {@link #port} is the first node's.
         */
        public Builder brokers(int brokers) {
            if (brokers < 1 || brokers > 9) {
                throw new IllegalArgumentException("brokers must be between 1 and 9, not " + brokers);
            }
            return new Builder(port, dataDirectory, properties, startupTimeout, security, brokers, restartDelay);
        }

        /**
         * For several brokers: a node that exits on its own (crash, {@code kill -9}) is started again after this delay.
         * Null, the default, leaves it down.
         */
        public Builder restartDelay(Duration restartDelay) {
            return new Builder(port, dataDirectory, properties, startupTimeout, security, brokers, restartDelay);
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
