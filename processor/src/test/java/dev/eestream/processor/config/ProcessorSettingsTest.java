package dev.eestream.processor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.Device;
import dev.eestream.schemas.topics.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessorSettingsTest {
    private static final Map<String, String> REQUIRED = Map.of("models.dir", "/models", "bootstrap.servers", "kafka:9092",
            "schema.registry.url", "http://registry:8081");

    @TempDir
    Path dir;

    @Test
    void theDefaultsNeedOnlyTheModelsAndKafka() throws IOException {
        ProcessorSettings s = load(Map.of());
        assertEquals(Path.of("/models"), s.modelsDir());
        assertEquals(BatchPolicy.DEFAULT, s.batchPolicy());
        assertEquals(Topics.DEFAULT, s.topics());
        assertEquals(Device.CPU, s.sessionSettings().device());
        assertTrue(s.sessionSettings().intraOpThreads() >= 1, "-1 resolves to the cores less one, at least 1");
        assertEquals(1, s.inferenceConcurrency());
        assertEquals("0.0.0.0", s.httpHost());
        assertEquals(9400, s.httpPort());
        assertTrue(s.createTopics());
        assertEquals(3, s.topicPartitions());
        assertEquals((short) -1, s.topicReplication());
        assertEquals(5000L, s.modelsScanIntervalMs());
    }

    @Test
    void everySettingIsRead() throws IOException {
        Map<String, String> given = new HashMap<>();
        given.put("device", " CUDA ");
        given.put("max.batch.size", "8");
        given.put("max.batch.tokens", "1024");
        given.put("max.batch.delay.ms", "0");
        given.put("requests.topic", "in");
        given.put("responses.topic", "out");
        given.put("dlq.topic", "bad");
        given.put("models.scan.interval.ms", "0");
        given.put("inference.threads", "0");
        given.put("inference.concurrency", "4");
        given.put("http.host", "127.0.0.1");
        given.put("http.port", "-1");
        given.put("topics.create", "FALSE");
        given.put("topics.partitions", "12");
        given.put("topics.replication.factor", "3");
        ProcessorSettings s = load(given);
        assertEquals(Device.CUDA, s.sessionSettings().device());
        assertEquals(0, s.sessionSettings().intraOpThreads());
        assertEquals(new BatchPolicy(8, 1024, Duration.ZERO), s.batchPolicy());
        assertEquals(Topics.named("in", "out", "bad"), s.topics());
        assertEquals(0L, s.modelsScanIntervalMs());
        assertEquals(4, s.inferenceConcurrency());
        assertEquals("127.0.0.1", s.httpHost());
        assertEquals(-1, s.httpPort());
        assertFalse(s.createTopics());
        assertEquals(12, s.topicPartitions());
        assertEquals((short) 3, s.topicReplication());
    }

    @Test
    void aBadValueIsOneLineThatNamesTheKeyAndTheValue() {
        assertEquals("Invalid value -1 for configuration max.batch.size: Value must be at least 1", error("max.batch.size", "-1"));
        assertEquals("Invalid value abc for configuration max.batch.size: Not a number of type INT", error("max.batch.size", "abc"));
        assertEquals("Invalid value tpu for configuration device: String must be one of: cpu, cuda", error("device", "tpu"));
        assertEquals("Invalid value 0 for configuration inference.concurrency: Value must be at least 1",
                error("inference.concurrency", "0"));
        assertEquals("Invalid value -2 for configuration inference.threads: Value must be at least -1",
                error("inference.threads", "-2"));
        assertEquals("Invalid value 70000 for configuration http.port: Value must be no more than 65535", error("http.port", "70000"));
        assertEquals("Invalid value maybe for configuration topics.create: Expected value to be either true or false",
                error("topics.create", "maybe"));
        assertEquals("Invalid value 99999999999 for configuration max.batch.tokens: Not a number of type INT",
                error("max.batch.tokens", "99999999999"));
        assertEquals("Invalid value  for configuration requests.topic: String must be non-empty", error("requests.topic", ""));
    }

    @Test
    void aBadKafkaStreamsValueIsCaughtAtStartUpToo() {
        assertEquals("Invalid value soon for configuration commit.interval.ms: Not a number of type LONG",
                error("commit.interval.ms", "soon"));
        assertTrue(error("processing.guarantee", "exactly_twice").startsWith(
                "Invalid value exactly_twice for configuration processing.guarantee: String must be one of: "));
    }

    @Test
    void aBadSchemaRegistryValueIsCaughtAtStartUpToo() {
        assertEquals("Invalid value -1 for configuration schema.registry.retries: Value must be at least 0",
                error("schema.registry.retries", "-1"));
        EeException noRegistry = assertThrows(EeException.class, () -> ProcessorSettings.load(null, Map.of(),
                Map.of("models.dir", "/m", "bootstrap.servers", "kafka:9092")));
        assertEquals("Missing required configuration \"schema.registry.url\" which has no default value.", noRegistry.getMessage());
    }

    @Test
    void aMissingRequiredSettingIsNamed() {
        EeException noModels = assertThrows(EeException.class,
                () -> ProcessorSettings.load(null, Map.of(), Map.of("bootstrap.servers", "kafka:9092")));
        assertEquals("Missing required configuration \"models.dir\" which has no default value.", noModels.getMessage());
        assertTrue(noModels.getCause() instanceof ConfigException);
        EeException noKafka = assertThrows(EeException.class, () -> ProcessorSettings.load(null, Map.of(),
                Map.of("models.dir", "/m", "schema.registry.url", "http://registry:8081")));
        assertEquals("Missing required configuration \"bootstrap.servers\" which has no default value.", noKafka.getMessage());
        assertEquals("Invalid value  for configuration bootstrap.servers: String must be non-empty", error("bootstrap.servers", " "));
    }

    @Test
    void environmentVariablesNameKeysAndOnlyEestreamsCount() throws IOException {
        Map<String, String> env = Map.of("EESTREAM_MODELS_DIR", "/env-models", "EESTREAM_BOOTSTRAP_SERVERS", "env:9092",
                "EESTREAM_SCHEMA_REGISTRY_URL", "http://env:8081", "EESTREAM_MAX_BATCH_SIZE", "64", "EESTREAM_", "ignored",
                "MAX_BATCH_SIZE", "7", "PATH", "/bin");
        ProcessorSettings s = ProcessorSettings.load(null, env, Map.of());
        assertEquals(Path.of("/env-models"), s.modelsDir());
        assertEquals(64, s.batchPolicy().maxBatchSize());
        assertEquals("env:9092", s.kafkaProperties().get("bootstrap.servers"));
        assertEquals("http://env:8081", s.kafkaProperties().get("schema.registry.url"));
        assertFalse(s.kafkaProperties().containsKey("path"));
        assertFalse(s.kafkaProperties().containsKey(""));
    }

    @Test
    void overridesBeatEnvironmentVariablesWhichBeatTheFile() throws IOException {
        Path file = dir.resolve("processor.properties");
        Files.writeString(file, "models.dir=/file-models\nbootstrap.servers=file:9092\nschema.registry.url=http://r:8081\n"
                + "max.batch.size = 10 \n"
                + "max.batch.tokens=100\nmax.batch.delay.ms=1\n");
        Map<String, String> env = Map.of("EESTREAM_MAX_BATCH_SIZE", "20", "EESTREAM_MAX_BATCH_TOKENS", "200");
        ProcessorSettings s = ProcessorSettings.load(file, env, Map.of("max.batch.size", "30"));
        assertEquals(new BatchPolicy(30, 200, Duration.ofMillis(1)), s.batchPolicy());
        assertEquals(Path.of("/file-models"), s.modelsDir());
        assertEquals("file:9092", s.kafkaProperties().get("bootstrap.servers"));
    }

    @Test
    void aMissingFileIsAUserError() {
        Path missing = dir.resolve("nope.properties");
        assertEquals("configuration file " + missing + " does not exist",
                assertThrows(EeException.class, () -> ProcessorSettings.load(missing, Map.of(), REQUIRED)).getMessage());
    }

    @Test
    void everyOtherKeyPassesThroughWithEestreamsKafkaDefaults() throws IOException {
        Map<String, String> given = new HashMap<>(Map.of("security.protocol", "SSL", "state.dir", "/state", "processing.guarantee", "at_least_once",
                "max.batch.size", "16", "device", "cuda"));
        Map<String, Object> kafka = load(given).kafkaProperties();
        assertEquals("kafka:9092", kafka.get("bootstrap.servers"));
        assertEquals("http://registry:8081", kafka.get("schema.registry.url"));
        assertEquals("SSL", kafka.get("security.protocol"));
        assertEquals("/state", kafka.get("state.dir"));
        assertEquals("at_least_once", kafka.get("processing.guarantee"), "a given value beats eestream's default");
        assertEquals("eestream-processor", kafka.get("application.id"));
        assertEquals("100", kafka.get("commit.interval.ms"));
        assertEquals("5", kafka.get("poll.ms"));
        assertEquals("true", kafka.get("processing.exception.handler.global.enabled"));
        for (String own : ProcessorSettings.definition().names()) {
            assertFalse(kafka.containsKey(own), own + " is eestream's and stays out of Kafka's settings");
        }
    }

    @Test
    void inferenceThreadsResolveAgainstTheCores() {
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), ProcessorSettings.resolveInferenceThreads(-1));
        assertEquals(0, ProcessorSettings.resolveInferenceThreads(0));
        assertEquals(3, ProcessorSettings.resolveInferenceThreads(3));
        assertThrows(EeException.class, () -> ProcessorSettings.resolveInferenceThreads(-2));
    }

    private static ProcessorSettings load(Map<String, String> given) throws IOException {
        Map<String, String> all = new HashMap<>(REQUIRED);
        all.putAll(given);
        return ProcessorSettings.load(null, Map.of(), all);
    }

    /** The message of the one error a bad value gives; it must be one line, to print without a stack trace. */
    private static String error(String key, String value) {
        Map<String, String> all = new HashMap<>(REQUIRED);
        all.put(key, value);
        String message = assertThrows(EeException.class, () -> ProcessorSettings.load(null, Map.of(), all)).getMessage();
        assertFalse(message.contains("\n"), message);
        return message;
    }
}
