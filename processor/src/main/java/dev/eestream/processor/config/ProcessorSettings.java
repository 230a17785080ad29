package dev.eestream.processor.config;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.schemas.topics.Topics;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.SessionSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The processor's settings: a properties file, then environment variables ({@code EESTREAM_MAX_BATCH_SIZE}
 * sets {@code max.batch.size}, {@code EESTREAM_BOOTSTRAP_SERVERS} sets {@code bootstrap.servers}), then
 * explicit overrides. eestream's own keys are listed in {@link #KEYS}; every other key passes through
 * to Kafka Streams and its clients (security settings included) and to the schema registry serdes.
 */
public final class ProcessorSettings {
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
    public static final String HTTP_HOST = "http.host";
    public static final String HTTP_PORT = "http.port";
    public static final String CREATE_TOPICS = "topics.create";
    public static final String TOPIC_PARTITIONS = "topics.partitions";
    public static final String TOPIC_REPLICATION = "topics.replication.factor";

    /** eestream's own keys with their defaults (null: required) and meaning, for --help and the README. */
    public static final Map<String, String[]> KEYS = keys();

    private final Map<String, String> values;

    private ProcessorSettings(Map<String, String> values) {
        this.values = values;
    }

    private static Map<String, String[]> keys() {
        Map<String, String[]> k = new LinkedHashMap<>();
        k.put(MODELS_DIR, new String[] {null, "directory of EE models: <dir>/<model-id>/model.onnx + manifest.json"});
        k.put(DEVICE, new String[] {"cpu", "cpu or cuda (falls back to cpu with a warning when CUDA is unavailable)"});
        k.put(MAX_BATCH_SIZE, new String[] {"32", "flush a model's waiting requests at this many"});
        k.put(MAX_BATCH_TOKENS, new String[] {"8192", "flush at this many waiting tokens; also the most padded tokens per inference batch"});
        k.put(MAX_BATCH_DELAY_MS, new String[] {"20", "flush when the oldest waiting request has waited this long"});
        k.put(REQUESTS_TOPIC, new String[] {Topics.REQUESTS_NAME, "topic of encrypted requests"});
        k.put(RESPONSES_TOPIC, new String[] {Topics.RESPONSES_NAME, "responses of requests without a reply topic"});
        k.put(DLQ_TOPIC, new String[] {Topics.DEAD_LETTERS_NAME, "records that do not decode, with the reason in headers"});
        k.put(MODELS_SCAN_INTERVAL_MS, new String[] {"5000", "how often the model directory is rescanned for new models (0: never)"});
        k.put(INFERENCE_THREADS, new String[] {"-1", "ONNX Runtime intra-op threads: -1 = cores - 1 (at least 1), leaving a core "
                + "for the stream thread's Kafka work; 0 = ONNX Runtime's choice (every core)"});
        k.put(INFERENCE_CONCURRENCY, new String[] {"1", "inference batches computing at once, off the stream threads"});
        k.put(HTTP_HOST, new String[] {"0.0.0.0", "address of the /metrics, /health and /ready endpoints"});
        k.put(HTTP_PORT, new String[] {"9400", "port of those endpoints (0: any free port, -1: none)"});
        k.put(CREATE_TOPICS, new String[] {"true", "create the requests, responses and dead-letter topics at start when missing"});
        k.put(TOPIC_PARTITIONS, new String[] {"3", "partitions of topics the processor creates"});
        k.put(TOPIC_REPLICATION, new String[] {"-1", "replication factor of topics the processor creates (-1: the broker's default)"});
        return java.util.Collections.unmodifiableMap(k);
    }

    /** Kafka Streams settings eestream chooses unless told otherwise. */
    private static Map<String, String> streamsDefaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put(StreamsConfig.APPLICATION_ID_CONFIG, "eestream-processor");
        d.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        // Punctuation runs between polls: a short poll keeps the batch delay honest when input is idle.
        d.put(StreamsConfig.POLL_MS_CONFIG, "5");
        // Under exactly-once, responses become visible at commit; every commit is a transaction.
        // 100 ms is Kafka's own exactly-once default: lower it for latency, raise it for throughput.
        d.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        d.put("processing.exception.handler.global.enabled", "true");
        return d;
    }

    public static ProcessorSettings load(Path file, Map<String, String> env, Map<String, String> overrides) throws IOException {
        Map<String, String> v = new TreeMap<>();
        for (Map.Entry<String, String[]> e : KEYS.entrySet()) {
            if (e.getValue()[0] != null) {
                v.put(e.getKey(), e.getValue()[0]);
            }
        }
        v.putAll(streamsDefaults());
        if (file != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (NoSuchFileException e) {
                throw new EeException("configuration file " + file + " does not exist");
            }
            p.stringPropertyNames().forEach(k -> v.put(k, p.getProperty(k).trim()));
        }
        env.forEach((k, value) -> {
            if (k.startsWith("EESTREAM_") && k.length() > "EESTREAM_".length()) {
                v.put(k.substring("EESTREAM_".length()).toLowerCase(Locale.ROOT).replace('_', '.'), value);
            }
        });
        v.putAll(overrides);
        ProcessorSettings s = new ProcessorSettings(v);
        s.validate();
        return s;
    }

    private void validate() {
        if (!values.containsKey(MODELS_DIR)) {
            throw new EeException("'" + MODELS_DIR + "' is not set: point it at a directory of EE models");
        }
        if (!values.containsKey(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)) {
            throw new EeException("'bootstrap.servers' is not set");
        }
        batchPolicy();
        sessionSettings();
        inferenceConcurrency();
    }

    public Path modelsDir() {
        return Path.of(values.get(MODELS_DIR));
    }

    public BatchPolicy batchPolicy() {
        try {
            return new BatchPolicy(intValue(MAX_BATCH_SIZE), intValue(MAX_BATCH_TOKENS),
                    Duration.ofMillis(longValue(MAX_BATCH_DELAY_MS)));
        } catch (IllegalArgumentException e) {
            throw new EeException(e.getMessage(), e);
        }
    }

    public SessionSettings sessionSettings() {
        return SessionSettings.builder().device(Device.parse(values.get(DEVICE)))
                .intraOpThreads(resolveInferenceThreads(intValue(INFERENCE_THREADS))).build();
    }

    /** -1: one less than the cores, at least 1; otherwise as given (0: ONNX Runtime's own choice). */
    public static int resolveInferenceThreads(int setting) {
        if (setting < -1) {
            throw new EeException("'" + INFERENCE_THREADS + "' must be -1, 0 or a positive number, got " + setting);
        }
        return setting == -1 ? Math.max(1, Runtime.getRuntime().availableProcessors() - 1) : setting;
    }

    public Topics topics() {
        return Topics.named(values.get(REQUESTS_TOPIC), values.get(RESPONSES_TOPIC), values.get(DLQ_TOPIC));
    }

    public int inferenceConcurrency() {
        int n = intValue(INFERENCE_CONCURRENCY);
        if (n < 1) {
            throw new EeException("'" + INFERENCE_CONCURRENCY + "' must be at least 1");
        }
        return n;
    }

    public String httpHost() {
        return values.get(HTTP_HOST);
    }

    public int httpPort() {
        return intValue(HTTP_PORT);
    }

    public boolean createTopics() {
        return Boolean.parseBoolean(values.get(CREATE_TOPICS));
    }

    public int topicPartitions() {
        return intValue(TOPIC_PARTITIONS);
    }

    public short topicReplication() {
        return (short) intValue(TOPIC_REPLICATION);
    }

    public long modelsScanIntervalMs() {
        return longValue(MODELS_SCAN_INTERVAL_MS);
    }

    /** Everything that is not an eestream key: Kafka Streams, client and schema registry settings. */
    public Map<String, Object> kafkaProperties() {
        Map<String, Object> out = new LinkedHashMap<>();
        Set<String> own = KEYS.keySet();
        values.forEach((k, v) -> {
            if (!own.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    public String get(String key) {
        return values.get(key);
    }

    private int intValue(String key) {
        return Math.toIntExact(longValue(key));
    }

    private long longValue(String key) {
        String v = values.get(key);
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw new EeException("'" + key + "' must be a whole number, got '" + v + "'");
        }
    }
}
