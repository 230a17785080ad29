package dev.eestream.processor.config;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The Kafka settings the processor needs or sets its own default for. They pass through to Kafka
 * Streams and its clients like every other key that is not eestream's; this definition gives their
 * defaults and documents why eestream picked them.
 */
public final class KafkaSettings {
    private static final ConfigDef CONFIG = new ConfigDef()
            .define(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                    new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "Kafka's brokers, `host:port` separated by commas")
            .define(StreamsConfig.APPLICATION_ID_CONFIG, Type.STRING, "eestream-processor", Importance.HIGH,
                    "the Kafka Streams application: its consumer group, state and internal topics")
            .define(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, Type.STRING, StreamsConfig.EXACTLY_ONCE_V2, Importance.MEDIUM,
                    "`at_least_once` trades duplicates after a crash for less commit work")
            // Under exactly-once every commit is a transaction; 100 ms is Kafka's own exactly-once default.
            .define(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Type.STRING, "100", Importance.MEDIUM,
                    "responses become visible at commit: lower it for latency, raise it for throughput")
            // Punctuation runs between polls.
            .define(StreamsConfig.POLL_MS_CONFIG, Type.STRING, "5", Importance.LOW,
                    "a short poll keeps the batch delay honest when input is idle")
            // Failover: a SIGKILLed processor's partitions move once its session expires (Kafka's default 45 s). 6 s is the
            // broker's default floor (group.min.session.timeout.ms); four heartbeats fit in it.
            .define("session.timeout.ms", Type.STRING, "6000", Importance.MEDIUM,
                    "a processor that stops heartbeating loses its partitions after this long (Kafka's default: 45000)")
            .define("heartbeat.interval.ms", Type.STRING, "1500", Importance.LOW,
                    "a quarter of the session timeout, so one late heartbeat does not end a session")
            // A killed processor's open transaction (its offsets among them) blocks the partitions' next owner until the
            // coordinator aborts it on timeout; Kafka Streams' exactly-once default is 10 s.
            .define("transaction.timeout.ms", Type.STRING, "5000", Importance.MEDIUM,
                    "how long a killed processor's open transaction holds its partitions; a stream thread stalled "
                            + "longer is fenced and rejoins (nothing lost or doubled)")
            .define("processing.exception.handler.global.enabled", Type.STRING, "true", Importance.LOW,
                    "Kafka Streams 5.0's behaviour already; Kafka Streams 4.x warns at every start while it is off");

    private KafkaSettings() {
    }

    /** A copy: ConfigDef is mutable. */
    public static ConfigDef definition() {
        return new ConfigDef(CONFIG);
    }

    /** The values eestream chooses unless told otherwise, as text like every other pass-through value. */
    static Map<String, String> streamsDefaults() {
        Map<String, String> defaults = new LinkedHashMap<>();
        CONFIG.configKeys().values().stream().filter(ConfigDef.ConfigKey::hasDefault)
                .forEach(k -> defaults.put(k.name, (String) k.defaultValue));
        return defaults;
    }

    /**
     * Fails on a missing required key, or on a Kafka Streams setting of the wrong type or out of range,
     * so that it is reported at start-up like eestream's own settings.
     */
    static void check(Map<String, Object> passThrough) {
        CONFIG.parse(passThrough);
        StreamsConfig.configDef().parse(passThrough);
    }
}
