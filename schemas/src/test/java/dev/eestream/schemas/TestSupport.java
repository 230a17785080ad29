package dev.eestream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Sample records and a plain HTTP helper shared by the tests. */
public final class TestSupport {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private TestSupport() {
    }

    public static InferenceRequest request(String id) {
        return InferenceRequest.newBuilder()
                .setRequestId(id)
                .setModelId("minilm-topics")
                .setTokenIds(List.of(101L, 23_417L, 9_001L, 102L))
                .setReplyTopic("eestream.responses.alice")
                .setCreatedAt(Instant.ofEpochMilli(1_750_000_000_123L))
                .setAttributes(Map.of("tenant", "acme", "trace", "t-" + id))
                .build();
    }

    public static InferenceResponse response(String id) {
        return InferenceResponse.newBuilder()
                .setRequestId(id)
                .setModelId("minilm-topics")
                .setStatus(ResponseStatus.OK)
                .setScores(List.of(0.125f, -0.5f, 0.875f, 0.25f))
                .setTokenIds(List.of(7L, 8L))
                .setAttributes(Map.of("tenant", "acme"))
                .setCreatedAt(Instant.ofEpochMilli(1_750_000_000_123L))
                .setRespondedAt(Instant.ofEpochMilli(1_750_000_000_456L))
                .setQueuedMs(12L)
                .setInferenceMs(30L)
                .setBatchSize(8)
                .build();
    }

    /** Status and body of a plain HTTP request. */
    public record Reply(int status, String body) {
    }

    public static Reply http(String method, String url, String body) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            builder.header("Content-Type", "application/vnd.schemaregistry.v1+json");
        }
        try {
            HttpResponse<String> response = HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static Reply get(String url) {
        return http("GET", url, null);
    }

    /** A port on 127.0.0.1 that nothing listens on (just released). */
    public static int deadPort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
