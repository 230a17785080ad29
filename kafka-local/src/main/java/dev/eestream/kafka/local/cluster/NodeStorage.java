package dev.eestream.kafka.local.cluster;

import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import kafka.server.KafkaConfig;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * What {@code kafka-storage.sh format --ignore-formatted} does: writes meta.properties and the bootstrap
 * metadata to unformatted directories. An already formatted directory keeps its cluster id and data.
 */
public final class NodeStorage {
    private NodeStorage() {
    }

    /** The cluster id a formatted node's directories hold, if they are formatted. */
    public static Optional<String> clusterId(KafkaConfig config) {
        try {
            return new MetaPropertiesEnsemble.Loader()
                    .addLogDirs(config.logDirs())
                    .addMetadataLogDir(config.metadataLogDir())
                    .load()
                    .clusterId();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot read the Kafka storage directory " + config.metadataLogDir(), e);
        }
    }

    /** Formats the node's directories for {@code clusterId}, leaving formatted ones as they are. */
    public static void format(KafkaConfig config, String clusterId, List<String> scramArguments) {
        try {
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
            throw new IllegalStateException("Cannot format the Kafka storage directory " + config.metadataLogDir(), e);
        }
    }
}
