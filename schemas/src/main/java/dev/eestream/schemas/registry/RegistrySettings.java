package dev.eestream.schemas.registry;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to reach a schema registry: one or more base URLs (tried in order), optional basic auth,
 * optional TLS stores, and retry/timeout policy. Immutable; build with {@link #builder()} or read
 * Confluent-style client properties with {@link #fromConfig(Map)}. Credentials never appear in
 * {@link #toString()}.
 */
public final class RegistrySettings {

    public static final String URL_CONFIG = "schema.registry.url";
    public static final String CREDENTIALS_SOURCE_CONFIG = "basic.auth.credentials.source";
    public static final String USER_INFO_CONFIG = "basic.auth.user.info";
    public static final String TRUSTSTORE_LOCATION_CONFIG = "schema.registry.ssl.truststore.location";
    public static final String TRUSTSTORE_PASSWORD_CONFIG = "schema.registry.ssl.truststore.password";
    public static final String TRUSTSTORE_TYPE_CONFIG = "schema.registry.ssl.truststore.type";
    public static final String KEYSTORE_LOCATION_CONFIG = "schema.registry.ssl.keystore.location";
    public static final String KEYSTORE_PASSWORD_CONFIG = "schema.registry.ssl.keystore.password";
    public static final String KEYSTORE_TYPE_CONFIG = "schema.registry.ssl.keystore.type";
    public static final String RETRIES_CONFIG = "schema.registry.retries";
    public static final String RETRY_BACKOFF_MS_CONFIG = "schema.registry.retry.backoff.ms";
    public static final String REQUEST_TIMEOUT_MS_CONFIG = "schema.registry.request.timeout.ms";

    public static final int DEFAULT_RETRIES = 3;
    public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofMillis(200);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMillis(10_000);

    private final List<URI> urls;
    private final String username;
    private final String password;
    private final KeyStoreFile trustStore;
    private final KeyStoreFile keyStore;
    private final SSLContext sslContext;
    private final int retries;
    private final Duration retryBackoff;
    private final Duration requestTimeout;

    private RegistrySettings(Builder b) {
        if (b.urls.isEmpty()) {
            throw new IllegalArgumentException("at least one schema registry URL is required");
        }
        if (b.sslContext != null && (b.trustStore != null || b.keyStore != null)) {
            throw new IllegalArgumentException("give either an SSLContext or key/trust stores, not both");
        }
        this.urls = List.copyOf(b.urls);
        this.username = b.username;
        this.password = b.password;
        this.trustStore = b.trustStore;
        this.keyStore = b.keyStore;
        this.retries = b.retries;
        this.retryBackoff = b.retryBackoff;
        this.requestTimeout = b.requestTimeout;
        // Built now so that a bad store fails at configuration time, not on the first record.
        this.sslContext = b.sslContext != null ? b.sslContext
                : trustStore != null || keyStore != null ? KeyStoreFile.sslContext(keyStore, trustStore)
                : null;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings for one plain URL with default retries and timeouts. */
    public static RegistrySettings forUrl(String url) {
        return builder().url(url).build();
    }

    /**
     * Reads Confluent client property names (see the {@code *_CONFIG} constants and {@link #definition()}).
     * Other entries are ignored, so a whole producer or consumer configuration can be passed.
     */
    public static RegistrySettings fromConfig(Map<String, ?> config) {
        try {
            return new RegistryConfig(config).toBuilder().build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** The client properties {@link #fromConfig} reads, for docs; a copy, since ConfigDef is mutable. */
    public static ConfigDef definition() {
        return new ConfigDef(RegistryConfig.CONFIG);
    }

    /** Base URLs in the order they are tried; never with user-info. */
    public List<URI> urls() {
        return urls;
    }

    /** The basic-auth user name, if basic auth is on. */
    public Optional<String> username() {
        return Optional.ofNullable(username);
    }

    public Optional<KeyStoreFile> trustStore() {
        return Optional.ofNullable(trustStore);
    }

    public Optional<KeyStoreFile> keyStore() {
        return Optional.ofNullable(keyStore);
    }

    /** The TLS context for https URLs: the one given, or one built from the stores. */
    public Optional<SSLContext> sslContext() {
        return Optional.ofNullable(sslContext);
    }

    /** Extra rounds over all URLs after the first, for I/O errors and HTTP 5xx/429. */
    public int retries() {
        return retries;
    }

    /** Wait before the first retry round; it doubles for each further round. */
    public Duration retryBackoff() {
        return retryBackoff;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** The {@code Authorization} header value; package-private so the password stays inside. */
    Optional<String> authorizationHeader() {
        if (username == null) {
            return Optional.empty();
        }
        String token = username + ":" + password;
        return Optional.of("Basic " + Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public String toString() {
        return "RegistrySettings{urls=" + urls
                + ", basicAuth=" + (username != null)
                + ", trustStore=" + (trustStore != null ? trustStore : "default")
                + ", keyStore=" + (keyStore != null ? keyStore : "none")
                + ", retries=" + retries
                + ", retryBackoff=" + retryBackoff.toMillis() + "ms"
                + ", requestTimeout=" + requestTimeout.toMillis() + "ms}";
    }

    static URI parseUrl(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("invalid schema registry URL " + redact(url) + ": " + e.getReason());
        }
    }

    /** Drops {@code user:password@} from a URL string, for messages. */
    static String redact(String url) {
        return url.replaceAll("//[^/]*@", "//");
    }

    public static final class Builder {
        private final List<URI> urls = new ArrayList<>();
        private String username;
        private String password;
        private KeyStoreFile trustStore;
        private KeyStoreFile keyStore;
        private SSLContext sslContext;
        private int retries = DEFAULT_RETRIES;
        private Duration retryBackoff = DEFAULT_RETRY_BACKOFF;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;

        private Builder() {
        }

        /** Adds a base URL such as {@code https://registry:8081}; call again to add fallbacks. */
        public Builder url(String url) {
            URI uri = parseUrl(Objects.requireNonNull(url, "url").trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                throw new IllegalArgumentException("schema registry URL must look like http(s)://host:port, got " + redact(url));
            }
            if (uri.getUserInfo() != null) {
                throw new IllegalArgumentException("put registry credentials in basicAuth(), not in the URL");
            }
            urls.add(uri);
            return this;
        }

        public Builder urls(Collection<String> urls) {
            urls.forEach(this::url);
            return this;
        }

        public Builder basicAuth(String username, String password) {
            this.username = Objects.requireNonNull(username, "username");
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        public Builder trustStore(KeyStoreFile trustStore) {
            this.trustStore = trustStore;
            return this;
        }

        public Builder keyStore(KeyStoreFile keyStore) {
            this.keyStore = keyStore;
            return this;
        }

        /** A ready TLS context, instead of key/trust stores. */
        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = sslContext;
            return this;
        }

        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException(RETRIES_CONFIG + " must be >= 0, got " + retries);
            }
            this.retries = retries;
            return this;
        }

        public Builder retryBackoff(Duration retryBackoff) {
            if (retryBackoff.isNegative()) {
                throw new IllegalArgumentException(RETRY_BACKOFF_MS_CONFIG + " must be >= 0, got " + retryBackoff.toMillis());
            }
            this.retryBackoff = retryBackoff;
            return this;
        }

        public Builder requestTimeout(Duration requestTimeout) {
            if (requestTimeout.isNegative() || requestTimeout.isZero()) {
                throw new IllegalArgumentException(REQUEST_TIMEOUT_MS_CONFIG + " must be > 0, got " + requestTimeout.toMillis());
            }
            this.requestTimeout = requestTimeout;
            return this;
        }

        public RegistrySettings build() {
            return new RegistrySettings(this);
        }
    }
}
