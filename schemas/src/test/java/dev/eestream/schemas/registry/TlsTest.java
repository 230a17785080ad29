package dev.eestream.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry over HTTPS with a self-signed certificate made by the JDK's keytool. */
class TlsTest {

    private static final String STORE_PASSWORD = "keystore-pw";
    private static final String TRUST_PASSWORD = "truststore-pw";

    @TempDir
    static Path dir;
    static Path keyStore;
    static Path trustStore;
    static InMemorySchemaRegistryServer registry;

    @BeforeAll
    static void startHttpsRegistry() throws Exception {
        keyStore = dir.resolve("registry.p12");
        trustStore = dir.resolve("truststore.p12");
        Path cert = dir.resolve("registry.crt");
        keytool("-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD);
        keytool("-exportcert", "-alias", "registry", "-keystore", keyStore.toString(), "-storepass", STORE_PASSWORD,
                "-file", cert.toString());
        keytool("-importcert", "-noprompt", "-alias", "registry", "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", trustStore.toString(), "-storepass", TRUST_PASSWORD);
        registry = InMemorySchemaRegistryServer.builder()
                .sslContext(KeyStoreFile.sslContext(new KeyStoreFile(keyStore, STORE_PASSWORD, "PKCS12"), null))
                .start();
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void worksWithTheTruststore() {
        assertTrue(registry.url().startsWith("https://127.0.0.1:"));
        Map<String, Object> config = Map.of(
                RegistrySettings.URL_CONFIG, registry.url(),
                RegistrySettings.TRUSTSTORE_LOCATION_CONFIG, trustStore.toString(),
                RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG, TRUST_PASSWORD,
                RegistrySettings.TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(config)) {
            int id = client.register("requests-value", InferenceRequest.getClassSchema());
            try (SchemaRegistryClient reader = SchemaRegistryClient.fromConfig(config)) {
                assertEquals(InferenceRequest.getClassSchema(), reader.getById(id));
            }
        }
        // Without a type, JKS is assumed (Confluent's default); the JDK's JKS reads PKCS12 files too.
        Map<String, Object> untyped = Map.of(
                RegistrySettings.URL_CONFIG, registry.url(),
                RegistrySettings.TRUSTSTORE_LOCATION_CONFIG, trustStore.toString(),
                RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG, TRUST_PASSWORD,
                RegistrySettings.KEYSTORE_LOCATION_CONFIG, keyStore.toString(),
                RegistrySettings.KEYSTORE_PASSWORD_CONFIG, STORE_PASSWORD);
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(untyped)) {
            assertEquals("JKS", client.settings().trustStore().orElseThrow().type());
            assertEquals(InferenceRequest.getClassSchema(), client.getById(1));
        }
    }

    @Test
    void failsClearlyWithoutTheTruststore() {
        Map<String, Object> config = Map.of(RegistrySettings.URL_CONFIG, registry.url(), RegistrySettings.RETRIES_CONFIG, 0);
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(config)) {
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.getById(1));
            assertEquals(0, e.status());
            assertTrue(e.getMessage().startsWith("fetching schema id 1 failed: GET " + registry.url() + "/schemas/ids/1: SSLHandshakeException"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("(TLS handshake failed: is schema.registry.ssl.truststore.location set to a "
                    + "truststore that trusts the registry's certificate?)"), e.getMessage());
        }
    }

    @Test
    void aWrongTruststorePasswordFailsAtConfiguration() {
        Map<String, Object> config = Map.of(
                RegistrySettings.URL_CONFIG, registry.url(),
                RegistrySettings.TRUSTSTORE_LOCATION_CONFIG, trustStore.toString(),
                RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG, "not-the-password",
                RegistrySettings.TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        ConfigException e = assertThrows(ConfigException.class, () -> SchemaRegistryClient.fromConfig(config));
        assertTrue(e.getMessage().startsWith("Cannot load PKCS12 " + trustStore), e.getMessage());
        assertFalse(e.getMessage().contains("not-the-password"));
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), "keytool " + String.join(" ", args) + ": " + output);
    }
}
