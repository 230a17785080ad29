package dev.eestream.kafka.local.cluster;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nodes of a local cluster, each in a child JVM ({@link BrokerProcess}), from their formatted storage and
 * properties files. With a restart delay, a node that exits on its own (a crash, a {@code kill -9}) is started
 * again after that delay with the same properties, as a service manager would.
 */
public final class BrokerCluster implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BrokerCluster.class);
    /**
     * Nodes stopped together sometimes wait long on each other's controlled shutdown (36 s seen once, 6 s usually):
     * past this a node is SIGKILLed. Acknowledged records are on disk (page cache) either way; the next start
     * recovers the node's logs.
     */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
    private static final int RESTART_ATTEMPTS = 5;

    private final Map<Integer, Path> propertiesFiles;
    private final Duration restartDelay;
    private final Duration startupTimeout;
    private final Map<Integer, BrokerProcess> nodes = new ConcurrentHashMap<>();
    private final ScheduledExecutorService restarts;
    private volatile boolean closed;

    private BrokerCluster(Map<Integer, Path> propertiesFiles, Duration restartDelay, Duration startupTimeout) {
        this.propertiesFiles = Map.copyOf(propertiesFiles);
        this.restartDelay = restartDelay;
        this.startupTimeout = startupTimeout;
        this.restarts = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "broker-restarts");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** A node that did not come up, with what it printed. */
    public static final class NodeFailedException extends IllegalStateException {
        private final String output;

        NodeFailedException(int nodeId, String message, String output) {
            super("broker " + nodeId + " " + message + (output.isBlank() ? "" : "; its last output:\n" + output));
            this.output = output;
        }

        /** The node could not bind a port: someone took one of the picked ports meanwhile. */
        public boolean portTaken() {
            return output.contains("Address already in use") || output.contains("BindException");
        }
    }

    /**
     * Starts every node at once (a node's broker waits for a quorum of controllers, so one at a time would never
     * finish) and waits until each serves; stops them all if one does not.
     * {@code restartDelay} null: a node that exits stays down.
     */
    public static BrokerCluster start(Map<Integer, Path> propertiesFiles, Duration restartDelay, Duration startupTimeout)
            throws IOException, InterruptedException {
        BrokerCluster cluster = new BrokerCluster(propertiesFiles, restartDelay, startupTimeout);
        try {
            for (int nodeId : new TreeMap<>(propertiesFiles).keySet()) {
                cluster.nodes.put(nodeId, BrokerProcess.start(nodeId, propertiesFiles.get(nodeId)));
            }
            long deadline = System.nanoTime() + startupTimeout.toNanos();
            for (BrokerProcess node : new TreeMap<>(cluster.nodes).values()) {
                Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
                if (!node.awaitRunning(left)) {
                    throw new NodeFailedException(node.nodeId(), node.isAlive() ? "did not start within " + startupTimeout
                            : "exited while starting", node.recentOutput());
                }
            }
            cluster.nodes.values().forEach(cluster::superviseIfAsked);
            return cluster;
        } catch (IOException | RuntimeException | InterruptedException e) {
            cluster.close();
            throw e;
        }
    }

    private void superviseIfAsked(BrokerProcess node) {
        if (restartDelay == null) {
            return;
        }
        node.onExit().thenRun(() -> {
            if (closed || nodes.get(node.nodeId()) != node) {
                return;
            }
            log.warn("broker {} (pid {}) exited with status {}; starting it again in {} s", node.nodeId(), node.pid(),
                    exitStatus(node), restartDelay.toSeconds());
            scheduleRestart(node.nodeId(), 1);
        });
    }

    private static String exitStatus(BrokerProcess node) {
        try {
            return Integer.toString(node.onExit().get().exitValue());
        } catch (Exception e) {
            return "unknown";
        }
    }

    private void scheduleRestart(int nodeId, int attempt) {
        restarts.schedule(() -> restart(nodeId, attempt), restartDelay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void restart(int nodeId, int attempt) {
        if (closed) {
            return;
        }
        try {
            BrokerProcess node = BrokerProcess.start(nodeId, propertiesFiles.get(nodeId));
            nodes.put(nodeId, node);
            if (closed) { // close() ran meanwhile and did not see this one
                node.close();
                return;
            }
            if (node.awaitRunning(startupTimeout)) {
                log.warn("broker {} is running again (pid {})", nodeId, node.pid());
                superviseIfAsked(node);
                return;
            }
            String output = node.recentOutput();
            node.kill();
            if (attempt < RESTART_ATTEMPTS) {
                log.warn("broker {} did not start again (attempt {} of {}); trying again in {} s; its last output:\n{}", nodeId,
                        attempt, RESTART_ATTEMPTS, restartDelay.toSeconds(), output);
                scheduleRestart(nodeId, attempt + 1);
            } else {
                log.error("broker {} did not start again after {} attempts; it stays down; its last output:\n{}", nodeId,
                        RESTART_ATTEMPTS, output);
            }
        } catch (IOException e) {
            log.error("broker {} cannot be started again: {}", nodeId, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The node's process id while it runs. */
    public long pid(int nodeId) {
        return node(nodeId).pid();
    }

    /** SIGKILLs the node, as {@code kill -9} would; with a restart delay it is started again after it. */
    public void kill(int nodeId) throws InterruptedException {
        node(nodeId).kill();
    }

    /** Waits until the node's current process serves (after a restart: the new one). */
    public boolean awaitRunning(int nodeId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            BrokerProcess node = nodes.get(nodeId);
            if (node != null && node.isAlive()
                    && node.awaitRunning(Duration.ofNanos(Math.min(deadline - System.nanoTime(), TimeUnit.SECONDS.toNanos(1))))) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    private BrokerProcess node(int nodeId) {
        BrokerProcess node = nodes.get(nodeId);
        if (node == null) {
            throw new IllegalArgumentException("no broker " + nodeId);
        }
        return node;
    }

    /** Stops every node at once (controlled shutdowns in parallel), SIGKILLing any still up after 15 s. */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        restarts.shutdownNow();
        List<BrokerProcess> all = new ArrayList<>(new TreeMap<>(nodes).values());
        all.forEach(BrokerProcess::requestStop);
        for (BrokerProcess node : all) {
            node.awaitStop(STOP_TIMEOUT);
        }
    }
}
