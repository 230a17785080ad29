package dev.eestream.ops.local;

import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.kafka.local.LocalKafka;
import dev.eestream.processor.ProcessorApp;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.processor.topology.ProcessorTopology;
import dev.eestream.schemas.registry.InMemorySchemaRegistryServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything on one machine: a real single-node Kafka broker (KRaft), the Schema Registry REST subset
 * in memory, and the processor over a model directory. Binds to 127.0.0.1 only.
 */
public final class LocalMode implements AutoCloseable {
    private LocalKafka kafka;
    private final InMemorySchemaRegistryServer registry;
    private final Options options;
    private final Path stateDirectory;
    private ProcessorApp processor;

    private LocalMode(LocalKafka kafka, InMemorySchemaRegistryServer registry, Options options, Path stateDirectory) {
        this.kafka = kafka;
        this.registry = registry;
        this.options = options;
        this.stateDirectory = stateDirectory;
    }

    /** Options of local mode. */
    public record Options(int kafkaPort, int registryPort, Path modelsDir, Path dataDirectory, Map<String, String> processorSettings) {
        public Options {
            processorSettings = processorSettings == null ? Map.of() : Map.copyOf(processorSettings);
        }

        public static Options of(Path modelsDir) {
            return new Options(0, 0, modelsDir, null, Map.of());
        }

        public Options withProcessorSetting(String key, String value) {
            Map<String, String> m = new HashMap<>(processorSettings);
            m.put(key, value);
            return new Options(kafkaPort, registryPort, modelsDir, dataDirectory, m);
        }
    }

    public static LocalMode start(Options options) throws IOException, InterruptedException {
        LocalMode local = startInfrastructure(options);
        try {
            local.startProcessor();
            return local;
        } catch (IOException | RuntimeException | InterruptedException e) {
            local.close();
            throw e;
        }
    }

    /** The broker and the schema registry only; {@link #startProcessor()} adds the processor. */
    public static LocalMode startInfrastructure(Options options) throws IOException {
        if (!Files.isDirectory(options.modelsDir())) {
            Files.createDirectories(options.modelsDir());
        }
        Path kafkaData = options.dataDirectory() == null ? null : options.dataDirectory().resolve("kafka");
        LocalKafka kafka = LocalKafka.builder().port(options.kafkaPort()).dataDirectory(kafkaData).build().start();
        try {
            ProcessorTopology.Topics topics = ProcessorTopology.Topics.DEFAULT;
            kafka.createTopic(topics.requests(), 3);
            kafka.createTopic(topics.responses(), 3);
            kafka.createTopic(topics.deadLetters(), 1);
            kafka.createTopic(EncryptedInferenceClient.DEFAULT_REPLY_TOPIC, 3);
            InMemorySchemaRegistryServer registry = InMemorySchemaRegistryServer.builder().port(options.registryPort()).start();
            Path stateDir = options.dataDirectory() != null ? options.dataDirectory().resolve("streams")
                    : Files.createTempDirectory("eestream-streams-");
            return new LocalMode(kafka, registry, options, stateDir);
        } catch (IOException | RuntimeException e) {
            kafka.close();
            throw e;
        }
    }

    /** Starts the processor and waits until its stream is RUNNING. */
    /** Stops the processor (the broker and the registry keep running); {@link #startProcessor()} starts it again. */
    public synchronized void stopProcessor() {
        if (processor != null) {
            processor.close(Duration.ofSeconds(30));
            processor = null;
        }
    }

    public synchronized ProcessorApp startProcessor() throws IOException, InterruptedException {
        if (processor != null) {
            return processor;
        }
        Map<String, String> settings = new HashMap<>();
        settings.put("bootstrap.servers", kafka.bootstrapServers());
        settings.put("schema.registry.url", registry.url());
        settings.put(ProcessorSettings.MODELS_DIR, options.modelsDir().toString());
        settings.put("state.dir", stateDirectory.toString());
        settings.put(ProcessorSettings.MODELS_SCAN_INTERVAL_MS, "1000");
        settings.put(ProcessorSettings.HTTP_HOST, "127.0.0.1");
        settings.put(ProcessorSettings.HTTP_PORT, "0");
        settings.putAll(options.processorSettings());
        ProcessorApp app = ProcessorApp.start(ProcessorSettings.load(null, Map.of(), settings));
        if (!app.awaitRunning(Duration.ofSeconds(60))) {
            app.close();
            throw new IllegalStateException("the processor did not reach RUNNING within 60 s (state " + app.state() + ")");
        }
        processor = app;
        return app;
    }

    public synchronized String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public String registryUrl() {
        return registry.url();
    }

    public ProcessorApp processor() {
        return processor;
    }

    public synchronized LocalKafka kafka() {
        return kafka;
    }

    /**
     * Stops the broker and starts it again on the same port and data (the data directory must be a
     * kept one, not temporary): for tests of what survives a broker restart.
     */
    public synchronized void restartBroker(Duration downtime) throws InterruptedException {
        if (options.dataDirectory() == null) {
            throw new IllegalStateException("a broker restart needs a kept data directory");
        }
        int port = Integer.parseInt(kafka.bootstrapServers().substring(kafka.bootstrapServers().lastIndexOf(':') + 1));
        kafka.close();
        Thread.sleep(downtime.toMillis());
        kafka = LocalKafka.builder().port(port).dataDirectory(options.dataDirectory().resolve("kafka")).build().start();
    }

    /** Settings a client needs to talk to this local mode. */
    public Map<String, Object> clientProperties() {
        return Map.of("bootstrap.servers", bootstrapServers(), "schema.registry.url", registryUrl());
    }

    public Path dataDirectory() {
        return options.dataDirectory();
    }

    @Override
    public synchronized void close() {
        try {
            if (processor != null) {
                processor.close(Duration.ofSeconds(30));
            }
        } finally {
            registry.close();
            kafka.close();
        }
    }
}
