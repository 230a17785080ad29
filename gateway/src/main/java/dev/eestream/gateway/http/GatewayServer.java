package dev.eestream.gateway.http;

import dev.eestream.gateway.ApiKeys;
import dev.eestream.gateway.ModelClients;
import dev.eestream.gateway.api.Failures;
import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.gateway.tls.ServerTls;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP server (Javalin on Jetty): checks API keys, bounds body size and requests in flight,
 * and hands each request to its endpoint. {@code /health} and {@code /metrics} need no API key. Build with
 * {@link #builder()}, which starts it; close it to stop it (the model clients are the caller's to close).
 */
public final class GatewayServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);
    private static final long IDLE_TIMEOUT_MS = 330_000;

    private final Javalin app;
    private final String host;
    private final boolean tls;

    private GatewayServer(Builder b) {
        this.host = b.host;
        this.tls = b.tls != null;
        Semaphore inFlight = new Semaphore(b.maxInFlight);
        GatewayMetrics metrics = new GatewayMetrics(b.registry, inFlight, b.maxInFlight);
        Endpoints endpoints = new Endpoints(b.models);
        Route route = new Route(b.apiKeys, inFlight, b.maxInFlight, b.maxBodyBytes, metrics);
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.startup.showOldJavalinVersionWarning = false;
            config.jetty.host = b.host;
            config.jetty.port = b.port;
            if (b.tls != null) {
                // An HTTPS connector in place of Javalin's plain one: no plaintext port is opened at all.
                config.jetty.addConnector((server, http) -> httpsConnector(server, http, b));
            }
            config.http.maxRequestSize = b.maxBodyBytes;
            config.routes.get("/v1/models", route.open("models", endpoints::models));
            config.routes.post("/v1/embeddings", route.limited("embeddings", endpoints::embeddings));
            config.routes.post("/v1/classifications", route.limited("classifications", endpoints::classifications));
            config.routes.post("/v1/chat/completions", route.limited("chat.completions", endpoints::chatCompletions));
            config.routes.post("/v1/completions", route.limited("completions", endpoints::completions));
            config.routes.get("/health", ctx -> ctx.contentType("application/json").result("{\"status\":\"UP\"}"));
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
            // Javalin's own refusals (no such route, a body past its limit) in OpenAI's error shape.
            config.routes.exception(HttpResponseException.class, (e, ctx) -> {
                OpenAiException o = switch (e.getStatus()) {
                    case 404 -> OpenAiException.notFound(ctx.method() + " " + ctx.path());
                    case 413 -> OpenAiException.bodyTooLarge(b.maxBodyBytes);
                    default -> new OpenAiException(e.getStatus(), "invalid_request_error", e.getMessage(), null, null);
                };
                ctx.status(o.status()).contentType("application/json").result(Exchange.write(o.toJson()));
            });
        });
        app.start();
        // Longer than HTTP clients keep idle pooled connections (OkHttp, under the OpenAI Java SDK: 5 minutes), so a
        // client never sends a request down a connection the server has just closed.
        for (Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof AbstractConnector a) {
                a.setIdleTimeout(IDLE_TIMEOUT_MS);
            }
        }
    }

    private static Connector httpsConnector(Server server, HttpConfiguration http, Builder b) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(b.tls.keyStore());
        ssl.setKeyStorePassword(new String(b.tls.password()));
        ssl.setKeyManagerPassword(new String(b.tls.password()));
        HttpConfiguration https = new HttpConfiguration(http);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // Clients reach the gateway by whatever name or address they were given; the certificate is theirs to check.
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                new HttpConnectionFactory(https));
        connector.setHost(b.host);
        connector.setPort(b.port);
        return connector;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int port() {
        for (Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector s && s.getLocalPort() > 0) {
                return s.getLocalPort();
            }
        }
        return app.port();
    }

    /** Whether it serves HTTPS. */
    public boolean tls() {
        return tls;
    }

    /** Where OpenAI SDKs point their base URL: {@code http://HOST:PORT/v1}, or {@code https://…} with TLS. */
    public String baseUrl() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return (tls ? "https" : "http") + "://" + h + ":" + port() + "/v1";
    }

    @Override
    public void close() {
        app.stop();
    }

    /** What an endpoint does with one request; it answers through the exchange or throws an {@link OpenAiException}. */
    @FunctionalInterface
    interface Endpoint {
        void handle(Exchange ex) throws Exception;
    }

    /** The checks every /v1 request passes, and the error and metrics bookkeeping around it. */
    private record Route(ApiKeys apiKeys, Semaphore inFlight, int maxInFlight, long maxBodyBytes, GatewayMetrics metrics) {
        io.javalin.http.Handler open(String name, Endpoint endpoint) {
            return ctx -> run(name, ctx, false, endpoint);
        }

        io.javalin.http.Handler limited(String name, Endpoint endpoint) {
            return ctx -> run(name, ctx, true, endpoint);
        }

        private void run(String name, Context ctx, boolean limited, Endpoint endpoint) {
            long start = System.nanoTime();
            Exchange ex = new Exchange(ctx, maxBodyBytes);
            boolean acquired = false;
            try {
                apiKeys.check(ctx.header("Authorization"));
                if (limited) {
                    acquired = inFlight.tryAcquire();
                    if (!acquired) {
                        throw OpenAiException.tooManyInFlight(maxInFlight);
                    }
                }
                endpoint.handle(ex);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ex.error(OpenAiException.serverError("the gateway is stopping"));
            } catch (Exception e) {
                OpenAiException o = Failures.toOpenAi(e);
                if (o.status() >= 500 && o.status() != 504) {
                    LOG.warn("{} failed: {}", name, e.toString());
                }
                ex.error(o);
            } finally {
                if (acquired) {
                    inFlight.release();
                }
                metrics.record(name, ex.status(), start);
            }
        }
    }

    /** Options of a {@link GatewayServer}. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 8080;
        private ApiKeys apiKeys = ApiKeys.none();
        private long maxBodyBytes = 4L << 20;
        private int maxInFlight = 64;
        private ModelClients models;
        private PrometheusMeterRegistry registry;
        private ServerTls tls;

        private Builder() {
        }

        /** Serve HTTPS with this identity instead of plain HTTP. */
        public Builder tls(ServerTls identity) {
            this.tls = Objects.requireNonNull(identity);
            return this;
        }

        /** The address to bind; 127.0.0.1 by default, so only this machine can reach the keys' holder. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host);
            return this;
        }

        /** 0 for any free port. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder apiKeys(ApiKeys keys) {
            this.apiKeys = Objects.requireNonNull(keys);
            return this;
        }

        /** Larger request bodies get a 413. Default 4 MiB. */
        public Builder maxBodyBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be at least 1");
            }
            this.maxBodyBytes = bytes;
            return this;
        }

        /** Inference requests beyond this many at once get a 429. Default 64. */
        public Builder maxInFlight(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1");
            }
            this.maxInFlight = n;
            return this;
        }

        public Builder models(ModelClients models) {
            this.models = Objects.requireNonNull(models);
            return this;
        }

        /** Where /metrics reads from; give the one the model clients record into, so their meters show too. */
        public Builder meterRegistry(PrometheusMeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry);
            return this;
        }

        /** Starts the server. */
        public GatewayServer start() {
            Objects.requireNonNull(models, "models");
            if (registry == null) {
                registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            }
            return new GatewayServer(this);
        }
    }
}
