package dev.eestream.kafka.local.cluster;

import dev.eestream.kafka.local.KafkaLogging;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;

/**
 * One node of a local cluster in a JVM of its own, so it can die alone (a SIGKILL takes only this node).
 * Started by {@link BrokerProcess} with the path of its formatted node's properties file; prints
 * {@value #RUNNING} and the node id once the broker serves, and stops (a controlled shutdown) on SIGTERM or
 * when its parent goes away: the parent holds this process's standard input open while it lives.
 */
public final class BrokerNodeMain {
    /** The line the node prints once it serves, followed by its node id. */
    public static final String RUNNING = "eestream broker node running: ";

    private BrokerNodeMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: BrokerNodeMain NODE.properties");
            System.exit(2);
        }
        KafkaLogging.quietBroker();
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            props.load(in);
        }
        KafkaConfig config = KafkaConfig.fromProps(props, false);
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            server.awaitShutdown();
        }, "broker-node-shutdown"));
        watchParent();
        try {
            server.startup();
        } catch (RuntimeException e) {
            e.printStackTrace();
            // halt, not exit: the shutdown hook would wait on a server that never started
            Runtime.getRuntime().halt(1);
        }
        System.out.println(RUNNING + config.nodeId());
        System.out.flush();
        server.awaitShutdown();
    }

    /** Standard input ends when the parent dies, even by SIGKILL: then this node stops too, rather than live on orphaned. */
    private static void watchParent() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // nothing is sent on it; only its end matters
                }
            } catch (IOException e) {
                // a broken pipe is the same news
            }
            System.exit(0);
        }, "broker-node-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }
}
