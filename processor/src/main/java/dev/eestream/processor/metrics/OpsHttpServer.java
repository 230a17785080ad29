package dev.eestream.processor.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The processor's operations endpoints: {@code /metrics} (Prometheus text format), {@code /health}
 * (the process is alive) and {@code /ready} (Kafka Streams RUNNING and every model loaded; 503 with
 * the reason otherwise).
 */
public final class OpsHttpServer implements AutoCloseable {
    /** Readiness: null when ready, else the reason. */
    @FunctionalInterface
    public interface Readiness {
        String notReadyBecause();
    }

    private final HttpServer server;

    private OpsHttpServer(HttpServer server) {
        this.server = server;
    }

    public static OpsHttpServer start(String host, int port, Supplier<String> scrape, Readiness readiness) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "eestream-ops-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", scrape.get()));
        server.createContext("/health", ex -> send(ex, 200, "application/json", "{\"status\":\"UP\"}\n"));
        server.createContext("/ready", ex -> {
            String why = readiness.notReadyBecause();
            if (why == null) {
                send(ex, 200, "application/json", "{\"status\":\"READY\"}\n");
            } else {
                send(ex, 503, "application/json", "{\"status\":\"NOT_READY\",\"reason\":" + quote(why) + "}\n");
            }
        });
        server.start();
        return new OpsHttpServer(server);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String url() {
        return "http://" + server.getAddress().getHostString() + ":" + port();
    }

    private static String quote(String s) {
        return new com.google.gson.JsonPrimitive(s).toString();
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
