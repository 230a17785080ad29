package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.Compare;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.kafka.local.security.BrokerSecurity;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.topics.Topics;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole pipeline over a secured broker: TLS with a CA made in the test, then SASL/SCRAM over TLS
 * with `eestream local`. The processor and the CLIs run in child JVMs and get their security settings
 * from properties files only; the Java client from the same file. Every line the processor and the classify command log,
 * at INFO for Kafka and DEBUG for eestream, is then searched for the documents' plaintext and for
 * key material and passwords.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransportSecurityTest {
    private static final List<String> LABELS = List.of("finance", "sports", "technology", "health", "politics");
    private static final String PASSPHRASE_VARIABLE = "EESTREAM_TEST_PASSPHRASE";
    /** As much logging as a debugging operator would switch on. */
    private static final List<String> VERBOSE_LOGGING = List.of(
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.log.dev.eestream=debug",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=info",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.StreamsConfig=info",
            "-Dorg.slf4j.simpleLogger.log.ai.djl=info");

    private Path work;
    private Path clientDir;
    private Path keyFile;
    private final byte[] secret = new byte[EeKey.SECRET_BYTES];
    private EeKey key;
    private String passphrase;
    private ClientProfile profile;
    private final Map<String, String> documents = new LinkedHashMap<>();
    private final Map<String, String> expectedLabels = new HashMap<>();

    @BeforeAll
    void prepare() throws Exception {
        work = Files.createTempDirectory("eestream-transport-");
        SecureRandom random = new SecureRandom();
        random.nextBytes(secret);
        key = EeKey.fromSecret(secret);
        passphrase = "pass-" + HexFormat.of().formatHex(random.generateSeed(12));
        clientDir = Files.createDirectories(work.resolve("client"));
        keyFile = clientDir.resolve("client.key");
        KeyFiles.write(key, keyFile, passphrase.toCharArray(), false);

        TokenizerJson tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        ModelProto source;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.CLASSIFY).key(key).modelId("topics").build(), LABELS, s -> { });
        ModelBundle.in(work.resolve("models"), "topics").write(ee.modelBytes(), ee.manifest(), false);
        profile = ClientProfile.of(ee, LABELS, "all-minilm-l6-v2");
        profile.write(clientDir.resolve("topics.client.json"), true);

        try (InputStream in = getClass().getResourceAsStream("/demo/documents.jsonl")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                    documents.put(o.get("id").getAsString(), o.get("text").getAsString());
                }
            }
        }
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.CLASSIFY).modelId("plain").build(), LABELS, s -> { });
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, null, 30522, null);
             ModelSession s = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (Map.Entry<String, String> d : documents.entrySet()) {
                float[] scores = s.run(List.of(tok.encodePlain(d.getValue())))[0];
                expectedLabels.put(d.getKey(), LABELS.get(Compare.argmax(scores)));
            }
        }
    }

    @AfterAll
    void cleanUp() throws Exception {
        try (var paths = Files.walk(work)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** TLS: the broker and registry started here; the processor in a child JVM with its own --config file. */
    @Test
    void processorWithAConfigFileAndClientsOverTls() throws Exception {
        Path data = work.resolve("data-ssl");
        try (LocalMode infrastructure = LocalMode.startInfrastructure(
                new LocalMode.Options(0, 0, work.resolve("models"), data, Map.of(), BrokerSecurity.Protocol.SSL))) {
            Properties clientSettings = clientSettings(data, BrokerSecurity.Protocol.SSL);
            Properties processorSettings = new Properties();
            processorSettings.putAll(clientSettings);
            processorSettings.setProperty("models.dir", work.resolve("models").toString());
            processorSettings.setProperty("state.dir", work.resolve("state-ssl").toString());
            processorSettings.setProperty("application.id", "secure-ssl");
            processorSettings.setProperty("http.host", "127.0.0.1");
            processorSettings.setProperty("http.port", "0");
            Path processorConfig = work.resolve("processor-ssl.properties");
            try (var out = Files.newBufferedWriter(processorConfig)) {
                processorSettings.store(out, null);
            }
            ChildProcessor processor = ChildProcessor.start(VERBOSE_LOGGING, List.of("processor", "--config", processorConfig.toString()));
            String classifyLog;
            try {
                assertTrue(processor.awaitRunning(120), "processor did not start over TLS:\n" + processor.log());
                classifyLog = classifyWithClientsOf(data, clientSettings, BrokerSecurity.Protocol.SSL);
            } finally {
                processor.terminate(30);
            }
            checkLogs(BrokerSecurity.Protocol.SSL, processor.log() + "\n" + classifyLog, infrastructure.security());
        }
    }

    /** SASL/SCRAM over TLS: `eestream local --security SASL_SSL` in a child JVM (broker, registry and processor). */
    @Test
    void localModeCommandAndClientsOverScramAndTls() throws Exception {
        Path data = work.resolve("data-sasl");
        ChildProcessor local = ChildProcessor.start(VERBOSE_LOGGING, List.of("local", "--security", "sasl_ssl", "--kafka-port", "0",
                "--registry-port", "0", "--models", work.resolve("models").toString(), "--data-dir", data.toString()), "metrics=");
        String classifyLog;
        try {
            assertTrue(local.awaitRunning(180), "local mode did not start:\n" + local.log());
            assertTrue(local.log().contains("security: SASL_SSL"), local.log());
            classifyLog = classifyWithClientsOf(data, clientSettings(data, BrokerSecurity.Protocol.SASL_SSL),
                    BrokerSecurity.Protocol.SASL_SSL);
        } finally {
            local.terminate(60);
        }
        Properties settings = clientSettings(data, BrokerSecurity.Protocol.SASL_SSL);
        String user = settings.getProperty("basic.auth.user.info");
        String scramPassword = user.substring(user.indexOf(':') + 1);
        String storePassword = settings.getProperty("ssl.truststore.password");
        assertTrue(settings.getProperty("sasl.jaas.config").contains("password=\"" + scramPassword + "\""), "one user for Kafka and registry");
        String logs = local.log() + "\n" + classifyLog;
        assertTrue(logs.contains("sasl.jaas.config = [hidden]"), "the SASL settings were logged, hidden");
        checkLogs(BrokerSecurity.Protocol.SASL_SSL, logs, List.of(scramPassword, storePassword));
    }

    /** The client settings local mode wrote: owner-only (they hold passwords), for the protocol asked for. */
    private static Properties clientSettings(Path data, BrokerSecurity.Protocol protocol) throws Exception {
        Path file = data.resolve(LocalMode.CLIENT_PROPERTIES);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Properties p = load(file);
        assertEquals(protocol.name(), p.getProperty("security.protocol"));
        assertTrue(p.getProperty("schema.registry.url").startsWith("https://"), p.getProperty("schema.registry.url"));
        return p;
    }

    /**
     * Classifies every document with the classify command (a child JVM, --client-config and a
     * passphrase-sealed key), reads the answers back with the consume command, and classifies one
     * document with the Java client configured from the same file; returns the commands' output.
     */
    private String classifyWithClientsOf(Path data, Properties clientSettings, BrokerSecurity.Protocol protocol) throws Exception {
        Path clientConfig = data.resolve(LocalMode.CLIENT_PROPERTIES);
        Path input = work.resolve("docs.jsonl");
        StringBuilder jsonl = new StringBuilder();
        documents.forEach((id, text) -> {
            JsonObject o = new JsonObject();
            o.addProperty("id", id);
            o.addProperty("text", text);
            jsonl.append(o).append('\n');
        });
        Files.writeString(input, jsonl);
        Path output = work.resolve("results-" + protocol + ".jsonl");
        ChildProcessor.Finished classify = ChildProcessor.run(VERBOSE_LOGGING, Map.of(PASSPHRASE_VARIABLE, passphrase),
                List.of("classify", "--client-config", clientConfig.toString(), "--key", keyFile.toString(),
                        "--passphrase-env", PASSPHRASE_VARIABLE, "--model-id", "topics", "--models", clientDir.toString(),
                        "--input", input.toString(), "--output", output.toString()), 300);
        assertEquals(0, classify.exit(), classify.output());
        int labelled = 0;
        for (String line : Files.readAllLines(output)) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            String id = o.get("id").getAsString();
            assertEquals(expectedLabels.get(id), o.get("label").getAsString(), id);
            labelled++;
        }
        assertEquals(documents.size(), labelled, "every document classified over " + protocol);

        // The consume command reads the same answers back from the reply topic and decrypts them.
        ChildProcessor.Finished consume = ChildProcessor.run(VERBOSE_LOGGING, Map.of(PASSPHRASE_VARIABLE, passphrase),
                List.of("consume", "--client-config", clientConfig.toString(), "--key", keyFile.toString(),
                        "--passphrase-env", PASSPHRASE_VARIABLE, "--models", clientDir.toString(),
                        "--topic", Topics.REPLIES_NAME, "--from-beginning", "--idle-timeout-ms", "15000"), 180);
        assertEquals(0, consume.exit(), consume.output());
        String first = documents.keySet().iterator().next();
        assertTrue(consume.output().contains("\"label\":\"" + expectedLabels.get(first) + "\""), consume.output());

        Map<String, Object> clientProperties = new HashMap<>();
        clientSettings.stringPropertyNames().forEach(k -> clientProperties.put(k, clientSettings.getProperty(k)));
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder()
                .bootstrapServers(clientSettings.getProperty("bootstrap.servers")).properties(clientProperties)
                .key(key).profile(profile).timeout(Duration.ofSeconds(120)).build()) {
            DecryptedResult.Classification c = client.classify(documents.get(first)).get(120, TimeUnit.SECONDS);
            assertEquals(expectedLabels.get(first), c.label());
        }
        return classify.output() + "\n" + consume.output();
    }

    private void checkLogs(BrokerSecurity.Protocol protocol, String logs, BrokerSecurity security) {
        List<String> passwords = new ArrayList<>();
        security.tls().ifPresent(tls -> passwords.add(tls.password()));
        security.user().ifPresent(user -> passwords.add(user.password()));
        checkLogs(protocol, logs, passwords);
    }

    private void checkLogs(BrokerSecurity.Protocol protocol, String logs, List<String> passwords) {
        System.out.printf("transport security (%s): %d documents classified over the secured broker; %d log lines "
                + "(%d KiB) searched for the documents' plaintext, the key, its passphrase and %d passwords: none found%n",
                protocol, documents.size(), logs.lines().count(), logs.length() / 1024, passwords.size());
        assertLogsHoldNoSecrets(logs, passwords);
    }

    private void assertLogsHoldNoSecrets(String logs, List<String> passwords) {
        // The logs are real and verbose: Kafka printed its client configuration, with secrets hidden.
        assertTrue(logs.contains("ssl.truststore.password = [hidden]"), "Kafka's configuration dump is in the captured logs");
        List<String> secrets = new ArrayList<>(List.of(passphrase, HexFormat.of().formatHex(secret),
                Base64.getEncoder().encodeToString(secret), Base64.getUrlEncoder().withoutPadding().encodeToString(secret)));
        secrets.addAll(passwords);
        for (String s : secrets) {
            assertFalse(logs.contains(s), "a secret (" + s.length() + " characters) appears in the logs");
        }
        for (Map.Entry<String, String> d : documents.entrySet()) {
            String text = d.getValue();
            assertFalse(logs.contains(text), "the plaintext of " + d.getKey() + " appears in the logs");
            String head = text.substring(0, Math.min(24, text.length()));
            assertFalse(logs.contains(head), "the start of " + d.getKey() + "'s plaintext appears in the logs: " + head);
        }
    }

    private static Properties load(Path file) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }
}
