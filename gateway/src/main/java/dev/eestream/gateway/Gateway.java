package dev.eestream.gateway;

import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.gateway.http.GatewayServer;
import dev.eestream.gateway.tls.ServerTls;
import dev.eestream.runtime.EeException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A running gateway: one encrypting client per usable model profile and the HTTP server in front of them. Profiles
 * encrypted with another key are skipped (and reported); a gateway without API keys binds only a loopback address,
 * since whoever reaches it uses the key. Build with {@link #builder()}; close it to stop.
 *
 * <pre>{@code
 * try (Gateway g = Gateway.builder().key(key).kafka(props).profiles(profiles).port(0).start()) {
 *     String baseUrl = g.baseUrl(); // http://127.0.0.1:PORT/v1 — give it to any OpenAI SDK
 * }
 * }</pre>
 */
public final class Gateway implements AutoCloseable {
    private final ModelClients models;
    private final GatewayServer server;
    private final List<ClientProfile> served;

    private Gateway(ModelClients models, GatewayServer server, List<ClientProfile> served) {
        this.models = models;
        this.server = server;
        this.served = served;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Where OpenAI SDKs point their base URL: {@code http://HOST:PORT/v1}. */
    public String baseUrl() {
        return server.baseUrl();
    }

    public int port() {
        return server.port();
    }

    /** The profiles of the models served. */
    public List<ClientProfile> models() {
        return served;
    }

    @Override
    public void close() {
        server.close();
        models.close();
    }

    /** Options of a {@link Gateway}. */
    public static final class Builder {
        private EeKey key;
        private final Map<String, Object> kafka = new HashMap<>();
        private final List<ClientProfile> profiles = new ArrayList<>();
        private final GatewayServer.Builder server = GatewayServer.builder();
        private String host = "127.0.0.1";
        private ApiKeys apiKeys = ApiKeys.none();
        private Duration timeout = Duration.ofSeconds(120);
        private int maxInFlight = 64;
        private Consumer<String> warnings = w -> { };

        private Builder() {
        }

        public Builder key(EeKey key) {
            this.key = Objects.requireNonNull(key);
            return this;
        }

        /** Kafka client and schema registry settings; {@code bootstrap.servers} is required. */
        public Builder kafka(Map<String, ?> properties) {
            kafka.putAll(properties);
            return this;
        }

        public Builder profiles(Collection<ClientProfile> ps) {
            profiles.addAll(ps);
            return this;
        }

        public Builder host(String h) {
            this.host = Objects.requireNonNull(h);
            server.host(h);
            return this;
        }

        public Builder port(int port) {
            server.port(port);
            return this;
        }

        public Builder apiKeys(ApiKeys keys) {
            this.apiKeys = Objects.requireNonNull(keys);
            server.apiKeys(keys);
            return this;
        }

        public Builder maxBodyBytes(long bytes) {
            server.maxBodyBytes(bytes);
            return this;
        }

        /** Serve HTTPS with this identity instead of plain HTTP. */
        public Builder tls(ServerTls identity) {
            server.tls(identity);
            return this;
        }

        /** Most inference requests at once (429 beyond); also each model client's batch window. */
        public Builder maxInFlight(int n) {
            server.maxInFlight(n);
            this.maxInFlight = n;
            return this;
        }

        /** How long to wait for the processor's whole answer before a 504. Default 120 s. */
        public Builder timeout(Duration t) {
            if (t.isZero() || t.isNegative()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = t;
            return this;
        }

        /** Receives one line per profile skipped. */
        public Builder warnings(Consumer<String> w) {
            this.warnings = Objects.requireNonNull(w);
            return this;
        }

        /**
         * Connects a client per usable profile and starts the server.
         *
         * @throws EeException when no profile matches the key, or the address needs API keys it was not given
         */
        public Gateway start() throws IOException {
            Objects.requireNonNull(key, "key");
            if (!kafka.containsKey("bootstrap.servers")) {
                throw new IllegalArgumentException("the Kafka settings need bootstrap.servers");
            }
            if (!apiKeys.required() && !isLoopback(host)) {
                throw EeException.fixedBy("apiKeys", "listening on " + host + " without API keys would let anyone who reaches it"
                        + " use your key");
            }
            Map<String, ClientProfile> usable = new LinkedHashMap<>();
            for (ClientProfile p : profiles) {
                if (p.keyId() != null && !p.keyId().equals(key.keyId())) {
                    warnings.accept("skipping model '" + p.modelId() + "': it was encrypted with key " + p.keyId() + ", not "
                            + key.keyId());
                } else {
                    usable.put(p.modelId(), p);
                }
            }
            if (usable.isEmpty()) {
                throw new EeException("no client profile matches the key " + key.keyId() + ": nothing to serve");
            }
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            Map<String, EncryptedInferenceClient> clients = new LinkedHashMap<>();
            try {
                for (ClientProfile p : usable.values()) {
                    clients.put(p.modelId(), EncryptedInferenceClient.builder().properties(kafka)
                            .bootstrapServers((String) kafka.get("bootstrap.servers")).key(key).profile(p).timeout(timeout)
                            .maxInFlight(maxInFlight).meterRegistry(registry).build());
                }
            } catch (IOException | RuntimeException e) {
                clients.values().forEach(EncryptedInferenceClient::close);
                throw e;
            }
            ModelClients models = new ModelClients(clients);
            try {
                GatewayServer s = server.models(models).meterRegistry(registry).start();
                return new Gateway(models, s, List.copyOf(usable.values()));
            } catch (RuntimeException e) {
                models.close();
                throw new EeException("cannot listen on " + host + ": " + rootMessage(e), e);
            }
        }

        private static boolean isLoopback(String host) {
            try {
                return InetAddress.getByName(host).isLoopbackAddress();
            } catch (UnknownHostException e) {
                throw new EeException("unknown host to listen on: " + host);
            }
        }

        private static String rootMessage(Throwable t) {
            while (t.getCause() != null) {
                t = t.getCause();
            }
            return t.getMessage() == null ? t.toString() : t.getMessage();
        }
    }
}
