package dev.eestream.processor.config;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.generation.GenerationPolicy;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.topics.Topics;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * The processor's settings: a properties file, then environment variables ({@code EESTREAM_MAX_BATCH_SIZE}
 * sets {@code max.batch.size}, {@code EESTREAM_BOOTSTRAP_SERVERS} sets {@code bootstrap.servers}), then
 * explicit overrides. eestream's own keys are in {@link #definition()}; every other key passes through
 * to Kafka Streams and its clients (security settings included) and to the schema registry serdes, with
 * the defaults of {@link KafkaSettings}.
 */
public final class ProcessorSettings extends AbstractConfig {
    public static final String MODELS_DIR = "models.dir";
    public static final String DEVICE = "device";
    public static final String MAX_BATCH_SIZE = "max.batch.size";
    public static final String MAX_BATCH_TOKENS = "max.batch.tokens";
    public static final String MAX_BATCH_DELAY_MS = "max.batch.delay.ms";
    public static final String REQUESTS_TOPIC = "requests.topic";
    public static final String RESPONSES_TOPIC = "responses.topic";
    public static final String DLQ_TOPIC = "dlq.topic";
    public static final String MODELS_SCAN_INTERVAL_MS = "models.scan.interval.ms";
    public static final String INFERENCE_THREADS = "inference.threads";
    public static final String INFERENCE_CONCURRENCY = "inference.concurrency";
    public static final String GENERATE_MAX_SEQUENCES = "generate.max.sequences";
    public static final String GENERATE_STREAM_INTERVAL_MS = "generate.stream.interval.ms";
    public static final String GENERATE_KV_CACHE_MAX_BYTES = "generate.kv.cache.max.bytes";
    public static final String HTTP_HOST = "http.host";
    public static final String HTTP_PORT = "http.port";
    public static final String CREATE_TOPICS = "topics.create";
    public static final String TOPIC_PARTITIONS = "topics.partitions";
    public static final String TOPIC_REPLICATION = "topics.replication.factor";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(MODELS_DIR, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "directory of EE models: `<dir>/<model-id>/model.onnx` + `manifest.json`")
            .define(DEVICE, Type.STRING, Device.CPU.id(), oneOfTheDevices(), Importance.HIGH,
                    "`cpu` or `cuda` (falls back to the CPU with a warning when CUDA is unavailable)")
            .define(MAX_BATCH_SIZE, Type.INT, BatchPolicy.DEFAULT.maxBatchSize(), Range.atLeast(1), Importance.HIGH,
                    "flush a model's waiting requests at this many")
            .define(MAX_BATCH_TOKENS, Type.INT, BatchPolicy.DEFAULT.maxBatchTokens(), Range.atLeast(1), Importance.HIGH,
                    "flush at this many waiting tokens; also the most padded tokens per inference batch")
            .define(MAX_BATCH_DELAY_MS, Type.LONG, BatchPolicy.DEFAULT.maxBatchDelay().toMillis(), Range.atLeast(0),
                    Importance.HIGH, "flush when the oldest waiting request has waited this long")
            .define(REQUESTS_TOPIC, Type.STRING, Topics.REQUESTS_NAME, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, "topic of encrypted requests")
            .define(RESPONSES_TOPIC, Type.STRING, Topics.RESPONSES_NAME, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, "responses of requests without a reply topic")
            .define(DLQ_TOPIC, Type.STRING, Topics.DEAD_LETTERS_NAME, new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, "records that do not decode, with the reason in headers")
            .define(MODELS_SCAN_INTERVAL_MS, Type.LONG, 5000L, Range.atLeast(0), Importance.LOW,
                    "how often the model directory is rescanned for new models (`0`: never)")
            .define(INFERENCE_THREADS, Type.INT, -1, Range.atLeast(-1), Importance.MEDIUM,
                    "ONNX Runtime intra-op threads: `-1` = cores - 1 (at least 1), leaving a core for the stream thread's "
                            + "Kafka work; `0` = ONNX Runtime's choice (every core)")
            .define(INFERENCE_CONCURRENCY, Type.INT, 1, Range.atLeast(1), Importance.MEDIUM,
                    "inference batches computing at once, off the stream threads")
            .define(GENERATE_MAX_SEQUENCES, Type.INT, GenerationPolicy.DEFAULT.maxSequences(), Range.atLeast(1), Importance.HIGH,
                    "sequences a generate model decodes at once (continuous batching); as many more wait in its decode loop, the rest in the state store")
            .define(GENERATE_KV_CACHE_MAX_BYTES, Type.LONG, GenerationPolicy.DEFAULT_KV_CACHE_MAX_BYTES, Range.atLeast(1),
                    Importance.HIGH, "KV-cache bytes all running generations may reserve together; each reserves its longest "
                            + "(prompt plus maxNewTokens, at most the context) when it starts, and one that could never fit "
                            + "is answered with an error. The cache is on the Java heap: leave room in `-Xmx` for it and for "
                            + "one more copy of a step's batch while the step runs; ONNX Runtime reads and writes two more "
                            + "copies in native memory, kept for the next step")
            .define(GENERATE_STREAM_INTERVAL_MS, Type.LONG, GenerationPolicy.DEFAULT.streamInterval().toMillis(), Range.atLeast(0),
                    Importance.MEDIUM, "a streamed generation sends the tokens generated since its last chunk this often")
            .define(HTTP_HOST, Type.STRING, "0.0.0.0", new ConfigDef.NonEmptyString(), Importance.LOW,
                    "address of the `/metrics`, `/health` and `/ready` endpoints")
            .define(HTTP_PORT, Type.INT, 9400, Range.between(-1, 65535), Importance.LOW,
                    "port of those endpoints (`0`: any free port, `-1`: none)")
            .define(CREATE_TOPICS, Type.BOOLEAN, true, Importance.LOW,
                    "create the requests, responses and dead-letter topics at start when missing")
            .define(TOPIC_PARTITIONS, Type.INT, 3, Range.atLeast(1), Importance.LOW,
                    "partitions of topics the processor creates")
            .define(TOPIC_REPLICATION, Type.INT, -1, Range.between(-1, Short.MAX_VALUE), Importance.LOW,
                    "replication factor of topics the processor creates (`-1`: the broker's default)");

    private ProcessorSettings(Map<String, Object> given) {
        super(CONFIG, given, true);
    }

    /** eestream's own keys, for --help, the README and checks; a copy, since ConfigDef is mutable. */
    public static ConfigDef definition() {
        return new ConfigDef(CONFIG);
    }

    /**
     * Reads the settings in the order described above. A missing file or an invalid or missing setting
     * (eestream's, Kafka Streams' or the schema registry's) is an {@link EeException} naming the key, so
     * that it reaches the user as one line at start-up.
     */
    public static ProcessorSettings load(Path file, Map<String, String> env, Map<String, String> overrides) throws IOException {
        Map<String, Object> values = new TreeMap<String, Object>(KafkaSettings.streamsDefaults());
        values.putAll(SettingsSources.merge(file, env, overrides));
        try {
            ProcessorSettings settings = new ProcessorSettings(values);
            KafkaSettings.check(settings.kafkaProperties());
            // The serdes read these only when the processor starts; checked now so a mistake is one line too.
            RegistrySettings.fromConfig(settings.kafkaProperties());
            return settings;
        } catch (ConfigException e) {
            throw new EeException(e.getMessage(), e);
        }
    }

    // Kafka's CaseInsensitiveValidString lists the choices upper-cased and unordered; this keeps them as typed.
    private static ConfigDef.Validator oneOfTheDevices() {
        String choices = String.join(", ", Arrays.stream(Device.values()).map(Device::id).toList());
        return ConfigDef.LambdaValidator.with((name, value) -> {
            if (Arrays.stream(Device.values()).noneMatch(d -> d.id().equalsIgnoreCase(String.valueOf(value).trim()))) {
                throw new ConfigException(name, value, "String must be one of: " + choices);
            }
        }, () -> choices);
    }

    public Path modelsDir() {
        return Path.of(getString(MODELS_DIR));
    }

    public BatchPolicy batchPolicy() {
        return new BatchPolicy(getInt(MAX_BATCH_SIZE), getInt(MAX_BATCH_TOKENS), Duration.ofMillis(getLong(MAX_BATCH_DELAY_MS)));
    }

    public SessionSettings sessionSettings() {
        return SessionSettings.builder().device(Device.parse(getString(DEVICE)))
                .intraOpThreads(resolveInferenceThreads(getInt(INFERENCE_THREADS))).build();
    }

    /** -1: one less than the cores, at least 1; otherwise as given (0: ONNX Runtime's own choice). */
    public static int resolveInferenceThreads(int setting) {
        if (setting < -1) {
            throw new EeException("'" + INFERENCE_THREADS + "' must be -1, 0 or a positive number, got " + setting);
        }
        return setting == -1 ? Math.max(1, Runtime.getRuntime().availableProcessors() - 1) : setting;
    }

    public Topics topics() {
        return Topics.named(getString(REQUESTS_TOPIC), getString(RESPONSES_TOPIC), getString(DLQ_TOPIC));
    }

    public int inferenceConcurrency() {
        return getInt(INFERENCE_CONCURRENCY);
    }

    public GenerationPolicy generationPolicy() {
        return new GenerationPolicy(getInt(GENERATE_MAX_SEQUENCES), Duration.ofMillis(getLong(GENERATE_STREAM_INTERVAL_MS)),
                getLong(GENERATE_KV_CACHE_MAX_BYTES));
    }

    public String httpHost() {
        return getString(HTTP_HOST);
    }

    public int httpPort() {
        return getInt(HTTP_PORT);
    }

    public boolean createTopics() {
        return getBoolean(CREATE_TOPICS);
    }

    public int topicPartitions() {
        return getInt(TOPIC_PARTITIONS);
    }

    public short topicReplication() {
        return getInt(TOPIC_REPLICATION).shortValue();
    }

    public long modelsScanIntervalMs() {
        return getLong(MODELS_SCAN_INTERVAL_MS);
    }

    /** Everything that is not an eestream key: Kafka Streams, client and schema registry settings. */
    public Map<String, Object> kafkaProperties() {
        Map<String, Object> out = new LinkedHashMap<>(new TreeMap<>(originals()));
        out.keySet().removeAll(CONFIG.names());
        return out;
    }
}
