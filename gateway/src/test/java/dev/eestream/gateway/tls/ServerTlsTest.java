package dev.eestream.gateway.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.gateway.ApiKeys;
import dev.eestream.gateway.ModelClients;
import dev.eestream.gateway.http.GatewayServer;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway over HTTPS with a key and certificate made by the JDK's keytool: from PEM files and from
 * a PKCS12 key store, a client that trusts the certificate gets answers, a plain-HTTP request to the
 * same port gets none, and bad TLS material is refused in one line.
 */
class ServerTlsTest {
    private static final char[] STORE_PASSWORD = "store-password".toCharArray();

    @TempDir
    static Path dir;

    private static Path keyStore;
    private static Path certificatePem;
    private static Path keyPem;

    @BeforeAll
    static void makeKeyAndCertificate() throws Exception {
        keyStore = dir.resolve("gateway.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "gateway", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "30", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore", keyStore.toString(),
                "-storepass", new String(STORE_PASSWORD)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
        ownerOnly(keyStore);
        KeyStore store = KeyStore.getInstance(keyStore.toFile(), STORE_PASSWORD);
        certificatePem = dir.resolve("cert.pem");
        StringBuilder chain = new StringBuilder();
        for (Certificate c : store.getCertificateChain("gateway")) {
            chain.append(pem("CERTIFICATE", c.getEncoded()));
        }
        Files.writeString(certificatePem, chain);
        keyPem = dir.resolve("key.pem");
        Files.writeString(keyPem, pem("PRIVATE KEY", store.getKey("gateway", STORE_PASSWORD).getEncoded()));
        ownerOnly(keyPem);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static void ownerOnly(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    /** A client that trusts exactly the gateway's self-signed certificate. */
    private static HttpClient trustingClient() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("gateway", KeyStore.getInstance(keyStore.toFile(), STORE_PASSWORD).getCertificate("gateway"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ssl).build();
    }

    @Test
    void theGatewayAnswersOverHttpsOnlyFromPemFilesOrAKeyStore() throws Exception {
        HttpClient client = trustingClient();
        for (ServerTls tls : List.of(ServerTls.fromPem(certificatePem, keyPem), ServerTls.fromKeyStore(keyStore, STORE_PASSWORD))) {
            try (GatewayServer server = GatewayServer.builder().port(0).models(new ModelClients(Map.of()))
                    .apiKeys(ApiKeys.none()).tls(tls).start()) {
                assertTrue(server.baseUrl().matches("https://127\\.0\\.0\\.1:\\d+/v1"), server.baseUrl());
                HttpResponse<String> models = client.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, models.statusCode(), models.body());
                assertTrue(models.body().contains("\"object\":\"list\""), models.body());

                String plain = server.baseUrl().replace("https://", "http://").replace("/v1", "/health");
                assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(plain))
                        .build(), HttpResponse.BodyHandlers.ofString()), "no plaintext HTTP on the TLS port");
                assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        server.baseUrl() + "/models")).build(), HttpResponse.BodyHandlers.ofString()),
                        "a client that does not trust the certificate does not connect");
            }
        }
    }

    @Test
    void badTlsMaterialIsRefusedInOneLine() throws Exception {
        List<String> messages = new ArrayList<>();
        Path readable = dir.resolve("readable-key.pem");
        Files.copy(keyPem, readable);
        Files.setPosixFilePermissions(readable, PosixFilePermissions.fromString("rw-r--r--"));
        messages.add(refused(() -> ServerTls.fromPem(certificatePem, readable), "chmod 600"));
        Path pkcs1 = dir.resolve("rsa.pem");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        ownerOnly(pkcs1);
        messages.add(refused(() -> ServerTls.fromPem(certificatePem, pkcs1), "openssl pkcs8 -topk8 -nocrypt"));
        messages.add(refused(() -> ServerTls.fromPem(keyPem, keyPem), "is not a PEM certificate chain"));
        messages.add(refused(() -> ServerTls.fromPem(dir.resolve("missing.pem"), keyPem), "does not exist"));
        messages.add(refused(() -> ServerTls.fromKeyStore(keyStore, "wrong".toCharArray()), "wrong password"));
        for (String m : messages) {
            assertTrue(!m.contains("\n") && !m.contains("store-password"), m);
        }
    }

    private interface Opening {
        ServerTls open() throws Exception;
    }

    private static String refused(Opening opening, String expected) {
        EeException e = assertThrows(EeException.class, opening::open);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        return e.getMessage();
    }
}
