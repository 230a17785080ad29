package dev.eestream.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.TestSupport;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SchemaRegistryClientTest {

    private InMemorySchemaRegistryServer registry;
    private final RegistryFaults faults = new RegistryFaults();

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().interceptor(faults).start();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void registersLooksUpAndFetchesWithCaching() {
        try (SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            int before = faults.requestCount();
            int id = client.register("requests-value", InferenceRequest.getClassSchema());
            assertEquals(id, client.register("requests-value", InferenceRequest.getClassSchema()));
            assertEquals(id, client.lookup("requests-value", InferenceRequest.getClassSchema()));
            assertSame(InferenceRequest.getClassSchema(), client.getById(id), "registering also fills the id cache");
            assertEquals(before + 1, faults.requestCount());
        }
        try (SchemaRegistryClient other = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            int before = faults.requestCount();
            assertEquals(InferenceRequest.getClassSchema(), other.getById(1));
            assertEquals(InferenceRequest.getClassSchema(), other.getById(1));
            assertEquals(1, other.lookup("requests-value", InferenceRequest.getClassSchema()));
            assertEquals(before + 2, faults.requestCount());
        }
    }

    @Test
    void reportsRegistryErrorsWithUrlStatusAndMessage() {
        try (SchemaRegistryClient client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()))) {
            int before = faults.requestCount();
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                    () -> client.lookup("missing-value", InferenceResponse.getClassSchema()));
            assertEquals("looking up schema dev.eestream.schemas.InferenceResponse under subject missing-value failed: POST "
                    + registry.url() + "/subjects/missing-value answered HTTP 404 (error_code 40401): "
                    + "Subject 'missing-value' not found.", e.getMessage());
            assertEquals(404, e.status());
            assertEquals(40401, e.errorCode());
            assertFalse(e.isRetriable());
            assertEquals(before + 1, faults.requestCount(), "4xx is not retried");

            SchemaRegistryException unknown = assertThrows(SchemaRegistryException.class, () -> client.getById(42));
            assertEquals(40403, unknown.errorCode());
            assertTrue(unknown.getMessage().contains("GET " + registry.url() + "/schemas/ids/42 answered HTTP 404"), unknown.getMessage());
        }
    }

    @Test
    void retriesServerErrorsWithBackoff() {
        RegistrySettings settings = RegistrySettings.builder().url(registry.url()).retries(3).retryBackoff(Duration.ofMillis(10)).build();
        try (SchemaRegistryClient client = new SchemaRegistryClient(settings)) {
            faults.failNextRequests(2, 503);
            int before = faults.requestCount();
            assertEquals(1, client.register("requests-value", InferenceRequest.getClassSchema()));
            assertEquals(before + 3, faults.requestCount(), "two 503s, then success");

            faults.failNextRequests(1, 429);
            assertEquals(InferenceResponse.getClassSchema(), registerThenFetch(client));
        }
    }

    @Test
    void failsNamingTheStatusWhenRetriesAreUsedUp() {
        Map<String, Object> config = Map.of(RegistrySettings.URL_CONFIG, registry.url(), RegistrySettings.RETRIES_CONFIG, "0");
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(config)) {
            faults.failNextRequests(2, 503);
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                    () -> client.register("requests-value", InferenceRequest.getClassSchema()));
            assertEquals(503, e.status());
            assertTrue(e.isRetriable());
            assertTrue(e.getMessage().contains("POST " + registry.url() + "/subjects/requests-value/versions answered HTTP 503"), e.getMessage());
        }
        RegistrySettings oneRetry = RegistrySettings.builder().url(registry.url()).retries(1).retryBackoff(Duration.ZERO).build();
        try (SchemaRegistryClient client = new SchemaRegistryClient(oneRetry)) {
            faults.failNextRequests(5, 500);
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.getById(1));
            assertTrue(e.getMessage().endsWith("answered HTTP 500 (error_code 500): refused by the request interceptor [gave up after 2 attempts]"), e.getMessage());
        }
    }

    @Test
    void triesUrlsInOrder() {
        String dead = "http://127.0.0.1:" + TestSupport.deadPort();
        Map<String, Object> config = Map.of(RegistrySettings.URL_CONFIG, dead + ", " + registry.url() + "/",
                RegistrySettings.RETRIES_CONFIG, 0);
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(config)) {
            assertEquals(List.of(URI.create(dead), URI.create(registry.url() + "/")), client.settings().urls());
            assertEquals(1, client.register("requests-value", InferenceRequest.getClassSchema()));
        }
        try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(Map.of(RegistrySettings.URL_CONFIG, dead,
                RegistrySettings.RETRIES_CONFIG, 0))) {
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.getById(1));
            assertEquals(0, e.status());
            assertTrue(e.isRetriable());
            assertTrue(e.getMessage().startsWith("fetching schema id 1 failed: GET " + dead + "/schemas/ids/1: ConnectException"), e.getMessage());
        }
    }

    @Test
    void basicAuth() {
        RegistryFaults securedFaults = new RegistryFaults();
        try (InMemorySchemaRegistryServer secured = InMemorySchemaRegistryServer.builder().basicAuth("alice", "s3cret-pw")
                .interceptor(securedFaults).start()) {
            try (SchemaRegistryClient anonymous = SchemaRegistryClient.fromConfig(Map.of(RegistrySettings.URL_CONFIG, secured.url()))) {
                int before = securedFaults.requestCount();
                SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
                        () -> anonymous.register("requests-value", InferenceRequest.getClassSchema()));
                assertEquals(401, e.status());
                assertTrue(e.getMessage().contains("answered HTTP 401 (error_code 401): Unauthorized (no credentials configured: "
                        + "set basic.auth.credentials.source=USER_INFO and basic.auth.user.info)"), e.getMessage());
                assertEquals(before + 1, securedFaults.requestCount(), "401 is not retried");
            }
            Map<String, Object> wrong = Map.of(RegistrySettings.URL_CONFIG, secured.url(),
                    RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "USER_INFO", RegistrySettings.USER_INFO_CONFIG, "alice:wrong-pw");
            try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(wrong)) {
                SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> client.getById(1));
                assertTrue(e.getMessage().contains("HTTP 401") && e.getMessage().contains("rejected the configured credentials"), e.getMessage());
                assertFalse(e.getMessage().contains("wrong-pw"), e.getMessage());
                assertFalse(client.settings().toString().contains("wrong-pw"));
                assertFalse(client.settings().toString().contains("alice"));
            }
            Map<String, Object> right = Map.of(RegistrySettings.URL_CONFIG, secured.url(),
                    RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "USER_INFO",
                    RegistrySettings.USER_INFO_CONFIG, new Password("alice:s3cret-pw"));
            try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(right)) {
                int id = client.register("requests-value", InferenceRequest.getClassSchema());
                try (SchemaRegistryClient other = fresh(secured, "alice:s3cret-pw")) {
                    assertEquals(InferenceRequest.getClassSchema(), other.getById(id));
                }
            }
            // Confluent's URL source: credentials in the URL, which are then kept out of the URLs used and shown.
            String withUserInfo = secured.url().replace("http://", "http://alice:s3cret-pw@");
            try (SchemaRegistryClient client = SchemaRegistryClient.fromConfig(Map.of(RegistrySettings.URL_CONFIG, withUserInfo,
                    RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "URL"))) {
                assertEquals(List.of(URI.create(secured.url())), client.settings().urls());
                assertEquals(InferenceRequest.getClassSchema(), client.getById(1));
                assertFalse(client.settings().toString().contains("s3cret-pw"));
            }
        }
    }

    @Test
    void readsConfluentPropertyNames() {
        RegistrySettings settings = RegistrySettings.fromConfig(Map.of(
                RegistrySettings.URL_CONFIG, List.of("http://a:8081", "https://b:8081/prefix"),
                "schema.registry.basic.auth.user.info", "bob:pw:with:colons",
                RegistrySettings.RETRIES_CONFIG, 5,
                RegistrySettings.RETRY_BACKOFF_MS_CONFIG, "50",
                RegistrySettings.REQUEST_TIMEOUT_MS_CONFIG, "2500",
                "bootstrap.servers", "ignored:9092"));
        assertEquals(List.of(URI.create("http://a:8081"), URI.create("https://b:8081/prefix")), settings.urls());
        assertEquals("bob", settings.username().orElseThrow());
        assertEquals("Basic " + java.util.Base64.getEncoder().encodeToString("bob:pw:with:colons".getBytes()),
                settings.authorizationHeader().orElseThrow());
        assertEquals(5, settings.retries());
        assertEquals(Duration.ofMillis(50), settings.retryBackoff());
        assertEquals(Duration.ofMillis(2500), settings.requestTimeout());

        RegistrySettings defaults = RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a:8081"));
        assertEquals(3, defaults.retries());
        assertEquals(Duration.ofMillis(200), defaults.retryBackoff());
        assertEquals(Duration.ofMillis(10_000), defaults.requestTimeout());
        assertTrue(defaults.username().isEmpty());
        assertTrue(defaults.sslContext().isEmpty());
    }

    @Test
    void rejectsBadConfiguration() {
        assertEquals("Missing required configuration \"schema.registry.url\" which has no default value.",
                assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of())).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(
                RegistrySettings.URL_CONFIG, "ftp://x"))).getMessage().contains("http(s)://host:port"));
        assertEquals("basic.auth.credentials.source is USER_INFO but basic.auth.user.info is not set",
                assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a",
                        RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "USER_INFO"))).getMessage());
        String noColon = assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a",
                RegistrySettings.USER_INFO_CONFIG, "secretwithoutcolon"))).getMessage();
        assertEquals("basic.auth.user.info must have the form user:password", noColon);
        assertTrue(assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a",
                RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "SASL_INHERIT"))).getMessage().contains("not supported"));
        assertTrue(assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a",
                RegistrySettings.RETRIES_CONFIG, "many"))).getMessage().contains(RegistrySettings.RETRIES_CONFIG));
        assertTrue(assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://a",
                RegistrySettings.RETRIES_CONFIG, "-1"))).getMessage().contains("at least 0"));
    }

    private Schema registerThenFetch(SchemaRegistryClient client) {
        int id = client.register("responses-value", InferenceResponse.getClassSchema());
        try (SchemaRegistryClient other = fresh(registry, null)) {
            return other.getById(id);
        }
    }

    private static SchemaRegistryClient fresh(InMemorySchemaRegistryServer server, String userInfo) {
        RegistrySettings.Builder b = RegistrySettings.builder().url(server.url());
        if (userInfo != null) {
            b.basicAuth(userInfo.split(":")[0], userInfo.split(":")[1]);
        }
        return new SchemaRegistryClient(b.build());
    }
}
