package dev.eestream.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eestream.gateway.ApiKeys;
import dev.eestream.gateway.ModelClients;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP layer on a real server without models: keys, limits, routing and the error shape. */
class GatewayServerTest {
    private static final String KEY = "sk-0123456789abcdef0123";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newHttpClient();
    private GatewayServer server;

    @BeforeEach
    void start() {
        server = GatewayServer.builder().port(0).models(new ModelClients(Map.of())).apiKeys(ApiKeys.of(List.of(KEY), "test"))
                .maxBodyBytes(1000).start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> post(String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertTrue(e.get("message").isTextual() && e.get("type").isTextual() && e.has("param") && e.has("code"), r.body());
        return e;
    }

    /** A client still uploading when the gateway refuses its body gets the 413, not a reset connection. */
    @Test
    void anOversizedUploadAlwaysGetsIts413() throws Exception {
        String body = "{\"input\": \"" + "x".repeat(200_000) + "\"}";
        for (int i = 0; i < 200; i++) {
            assertEquals(413, post("/embeddings", body, KEY).statusCode(), "upload " + i);
        }
    }

    @Test
    void eachRefusalHasItsStatusAndOpenAisShape() throws Exception {
        assertTrue(server.baseUrl().matches("http://127\\.0\\.0\\.1:\\d+/v1"), server.baseUrl());
        error(post("/embeddings", "{}", null), 401);
        assertEquals("invalid_api_key", error(post("/embeddings", "{}", "sk-wrong-wrong-wrong-wrong"), 401).get("code").asText());
        assertEquals("model_not_found", error(post("/embeddings", "{\"model\": \"m\", \"input\": \"x\"}", KEY), 404).get("code").asText());
        assertEquals("input", error(post("/embeddings", "{\"model\": \"m\", \"input\": 3}", KEY), 400).get("param").asText());
        assertEquals("model", error(post("/chat/completions", "{\"messages\": []}", KEY), 400).get("param").asText());
        error(post("/chat/completions", "not json", KEY), 400);
        error(post("/chat/completions", "[1, 2]", KEY), 400);
        error(post("/embeddings", "{\"input\": \"" + "x".repeat(2000) + "\"}", KEY), 413);
        error(post("/audio/speech", "{}", KEY), 404);

        HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models"))
                .header("Authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, models.statusCode());
        assertEquals("list", JSON.readTree(models.body()).get("object").asText());
        String root = server.baseUrl().replace("/v1", "");
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(root + "/health")).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode());
        String metrics = http.send(HttpRequest.newBuilder(URI.create(root + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.contains("eestream_gateway_requests_total{endpoint=\"embeddings\",status=\"401\"} 2.0"), metrics);
        assertTrue(metrics.contains("eestream_gateway_requests_total{endpoint=\"embeddings\",status=\"413\"} 1.0"), metrics);
    }
}
