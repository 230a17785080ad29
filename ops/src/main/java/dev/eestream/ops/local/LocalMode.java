package dev.eestream.ops.local;

import dev.eestream.kafka.local.LocalKafka;
import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.kafka.local.registry.SchemaLogException;
import dev.eestream.kafka.local.security.BrokerSecurity;
import dev.eestream.kafka.local.security.LocalTls;
import dev.eestream.kafka.local.security.ScramUser;
import dev.eestream.processor.ProcessorApp;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.registry.KeyStoreFile;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.topics.TopicAdmin;
import dev.eestream.schemas.topics.Topics;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything on one machine: a real Kafka broker (KRaft; or several, each in a child JVM), the Schema Registry REST subset
 * (its schemas kept in {@code DATA/registry/schemas.log}, so records decode after a restart), and the
 * processor over a model directory. Binds to 127.0.0.1 only. Optionally secured:
 * TLS (a CA of its own) and SASL/SCRAM on the broker, HTTPS and basic auth on the registry, with the
 * settings a client needs written to {@code DATA/client.properties} (owner-only).
 */
public final class LocalMode implements AutoCloseable {
    /** The client settings file in the data directory. */
    public static final String CLIENT_PROPERTIES = "client.properties";
    /** The schema registry's registrations, in the data directory: see {@code SchemaLog}. */
    public static final Path SCHEMA_LOG = Path.of("registry", "schemas.log");

    private static final Logger log = LoggerFactory.getLogger(LocalMode.class);

    private LocalKafka kafka;
    private final InMemorySchemaRegistryServer registry;
    private final Options options;
    private final Path stateDirectory;
    private final BrokerSecurity security;
    private final Path scratch;
    private final DataDirectoryLock lock;
    private ProcessorApp processor;

    private LocalMode(LocalKafka kafka, InMemorySchemaRegistryServer registry, Options options, Path stateDirectory,
            BrokerSecurity security, Path scratch, DataDirectoryLock lock) {
        this.lock = lock;
        this.kafka = kafka;
        this.registry = registry;
        this.options = options;
        this.stateDirectory = stateDirectory;
        this.security = security;
        this.scratch = scratch;
    }

    /**
     * Options of local mode. {@code brokers} above 1 runs that many KRaft nodes, each in a child JVM, with replication
     * factor 3 and {@code min.insync.replicas=2} from three on; a node that exits is started again after
     * {@link #BROKER_RESTART_DELAY}.
     */
    public record Options(int kafkaPort, int registryPort, Path modelsDir, Path dataDirectory, Map<String, String> processorSettings,
            BrokerSecurity.Protocol security, int brokers) {
        public Options {
            processorSettings = processorSettings == null ? Map.of() : Map.copyOf(processorSettings);
            security = security == null ? BrokerSecurity.Protocol.PLAINTEXT : security;
            if (brokers < 1) {
                throw new IllegalArgumentException("brokers must be at least 1, not " + brokers);
            }
        }

        /** With one broker. */
        public Options(int kafkaPort, int registryPort, Path modelsDir, Path dataDirectory, Map<String, String> processorSettings,
                BrokerSecurity.Protocol security) {
            this(kafkaPort, registryPort, modelsDir, dataDirectory, processorSettings, security, 1);
        }

        /** Without security (PLAINTEXT). */
        public Options(int kafkaPort, int registryPort, Path modelsDir, Path dataDirectory, Map<String, String> processorSettings) {
            this(kafkaPort, registryPort, modelsDir, dataDirectory, processorSettings, BrokerSecurity.Protocol.PLAINTEXT);
        }

        public static Options of(Path modelsDir) {
            return new Options(0, 0, modelsDir, null, Map.of());
        }

        public Options withProcessorSetting(String key, String value) {
            Map<String, String> m = new HashMap<>(processorSettings);
            m.put(key, value);
            return new Options(kafkaPort, registryPort, modelsDir, dataDirectory, m, security, brokers);
        }

        public Options withBrokers(int count) {
            return new Options(kafkaPort, registryPort, modelsDir, dataDirectory, processorSettings, security, count);
        }
    }

    /** How long a node of a several-broker local mode stays down after it exits on its own, before it is started again. */
    public static final Duration BROKER_RESTART_DELAY = Duration.ofSeconds(10);

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
        DataDirectoryLock lock = options.dataDirectory() == null ? null : DataDirectoryLock.acquire(options.dataDirectory());
        try {
            return startInfrastructure(options, kafkaData, lock);
        } catch (IOException | RuntimeException e) {
            if (lock != null) {
                lock.close();
            }
            throw e;
        }
    }

    private static LocalMode startInfrastructure(Options options, Path kafkaData, DataDirectoryLock lock) throws IOException {
        warnIfSchemasWereLost(options.dataDirectory()); // before the broker formats a new directory
        // Without a data directory, the stream state and any secrets go to a scratch directory that close() deletes.
        Path scratch = options.dataDirectory() == null ? Files.createTempDirectory("eestream-local-") : null;
        Path home = scratch != null ? scratch : options.dataDirectory();
        LocalKafka kafka;
        BrokerSecurity security;
        try {
            security = security(options, home.resolve("security"));
            kafka = startKafka(options, kafkaData, security);
        } catch (IOException | RuntimeException e) {
            deleteScratch(scratch);
            throw e;
        }
        try {
            TopicAdmin.ensure(kafka.clientProperties(), List.of(TopicAdmin.Spec.of(Topics.REQUESTS_NAME, 3),
                    TopicAdmin.Spec.of(Topics.RESPONSES_NAME, 3), TopicAdmin.Spec.of(Topics.DEAD_LETTERS_NAME, 1),
                    TopicAdmin.Spec.of(Topics.REPLIES_NAME, 3)), Duration.ofSeconds(60));
            // Beside the broker's data, like Confluent's _schemas topic: records and the schemas that decode them go together.
            InMemorySchemaRegistryServer.Builder registryBuilder = InMemorySchemaRegistryServer.builder().port(options.registryPort())
                    .schemaLog(home.resolve(SCHEMA_LOG));
            if (security.tls().isPresent()) {
                LocalTls tls = security.tls().get();
                registryBuilder = registryBuilder.sslContext(KeyStoreFile.sslContext(new KeyStoreFile(tls.keyStore(), tls.password(), "PKCS12"), null));
            }
            if (security.user().isPresent()) {
                registryBuilder = registryBuilder.basicAuth(security.user().get().name(), security.user().get().password());
            }
            InMemorySchemaRegistryServer registry = startRegistry(registryBuilder);
            LocalMode local = new LocalMode(kafka, registry, options, home.resolve("streams"), security, scratch, lock);
            if (options.dataDirectory() != null) {
                local.writeClientProperties(options.dataDirectory().resolve(CLIENT_PROPERTIES));
            }
            return local;
        } catch (IOException | RuntimeException e) {
            kafka.close();
            deleteScratch(scratch);
            throw e;
        }
    }

    private static LocalKafka startKafka(Options options, Path kafkaData, BrokerSecurity security) {
        try {
            return LocalKafka.builder().port(options.kafkaPort()).dataDirectory(kafkaData).security(security)
                    .brokers(options.brokers()).restartDelay(options.brokers() > 1 ? BROKER_RESTART_DELAY : null).build().start();
        } catch (IllegalStateException e) {
            // A data directory made for another number of brokers is the user's to change, not a bug.
            if (e.getCause() instanceof LocalKafka.BrokerCountMismatchException mismatch) {
                throw new EeException("the data directory " + options.dataDirectory() + " holds the data of " + mismatch.madeFor()
                        + " broker" + (mismatch.madeFor() == 1 ? "" : "s") + ": start it with --brokers " + mismatch.madeFor()
                        + ", or use a new --data-dir", e);
            }
            throw e;
        }
    }

    private static InMemorySchemaRegistryServer startRegistry(InMemorySchemaRegistryServer.Builder builder) {
        try {
            return builder.start();
        } catch (SchemaLogException e) {
            throw new EeException(e.damaged() ? e.getMessage() + "; restore the file from a backup, or use a new --data-dir" : e.getMessage(), e);
        }
    }

    /**
     * A broker's data without the schema log (made before the registry kept its schemas, or the log deleted)
     * holds records whose schema ids are gone; new ids start at 1 again and may name other schemas.
     */
    private static void warnIfSchemasWereLost(Path dataDirectory) {
        if (dataDirectory != null && !Files.exists(dataDirectory.resolve(SCHEMA_LOG))
                && Files.exists(dataDirectory.resolve("kafka").resolve("logs").resolve("meta.properties"))) {
            log.warn("{} holds topics but no schema log ({}): records written before may name schema ids the registry no longer "
                    + "has, and new ids start at 1 again; use a new --data-dir for a clean start",
                    dataDirectory, dataDirectory.resolve(SCHEMA_LOG));
        }
    }

    private static void deleteScratch(Path scratch) {
        if (scratch == null) {
            return;
        }
        try (var paths = Files.walk(scratch)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is no reason to fail a close
        }
    }

    /**
     * The broker's security. Secrets (TLS stores, the SCRAM user) are kept in DATA/security, owner-only,
     * and reused on the next start; without a data directory they live in the scratch directory.
     */
    private static BrokerSecurity security(Options options, Path dir) throws IOException {
        BrokerSecurity.Protocol protocol = options.security();
        LocalTls material = protocol.tls() ? LocalTls.createOrLoad(dir.resolve("tls")) : null;
        // SCRAM users are created when the broker's storage is first formatted: a data directory
        // made without SASL has none, and every login would fail.
        if (protocol.sasl() && options.dataDirectory() != null && !Files.exists(dir.resolve("scram-user"))
                && Files.exists(options.dataDirectory().resolve("kafka").resolve("logs").resolve("meta.properties"))) {
            throw new EeException("the data directory " + options.dataDirectory() + " was made without SASL, so its broker has no "
                    + "SCRAM user; use a new --data-dir for --security " + protocol);
        }
        ScramUser user = protocol.sasl() ? ScramUser.createOrLoad(dir.resolve("scram-user"), "eestream") : null;
        return BrokerSecurity.of(protocol, material, user);
    }

    /** Writes what a client needs (--client-config), replacing the file atomically; owner-only, as it may hold secrets. */
    private void writeClientProperties(Path file) throws IOException {
        Properties p = new Properties();
        clientProperties().forEach((k, v) -> p.setProperty(k, v.toString()));
        StringWriter text = new StringWriter();
        p.store(text, "eestream local mode (" + security.protocol() + "): use with --client-config; holds secrets, keep it owner-only");
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".client-", ".properties",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(tmp, text.toString(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

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
        clientProperties().forEach((k, v) -> settings.put(k, v.toString()));
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
        if (options.brokers() > 1) {
            throw new IllegalStateException("with several brokers, kill one (kafka().cluster()): it is started again by itself");
        }
        if (options.dataDirectory() == null) {
            throw new IllegalStateException("a broker restart needs a kept data directory");
        }
        int port = Integer.parseInt(kafka.bootstrapServers().substring(kafka.bootstrapServers().lastIndexOf(':') + 1));
        kafka.close();
        Thread.sleep(downtime.toMillis());
        kafka = LocalKafka.builder().port(port).dataDirectory(options.dataDirectory().resolve("kafka")).security(security).build().start();
    }

    /** Settings a client needs to talk to this local mode: Kafka's and the registry's, security included. */
    public Map<String, Object> clientProperties() {
        Map<String, Object> m = new LinkedHashMap<>(kafka().clientProperties());
        m.put(RegistrySettings.URL_CONFIG, registryUrl());
        security.tls().ifPresent(tls -> {
            m.put(RegistrySettings.TRUSTSTORE_LOCATION_CONFIG, tls.trustStore().toString());
            m.put(RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG, tls.password());
            m.put(RegistrySettings.TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        });
        security.user().ifPresent(user -> {
            m.put(RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "USER_INFO");
            m.put(RegistrySettings.USER_INFO_CONFIG, user.name() + ":" + user.password());
        });
        return m;
    }

    /** The broker's security. */
    public BrokerSecurity security() {
        return security;
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
            try {
                registry.close();
                kafka.close();
                deleteScratch(scratch);
            } finally {
                if (lock != null) {
                    lock.close();
                }
            }
        }
    }
}
