package dev.eestream.schemas.registry;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

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

    /** Confluent also accepts the auth properties with this prefix. */
    private static final String PREFIX = "schema.registry.";

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
     * Reads Confluent client property names (see the {@code *_CONFIG} constants). Other entries are
     * ignored, so a whole producer or consumer configuration can be passed.
     */
    public static RegistrySettings fromConfig(Map<String, ?> config) {
        try {
            return builderFrom(config).build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    private static Builder builderFrom(Map<String, ?> config) {
        String urlList = string(config, URL_CONFIG);
        if (urlList == null || urlList.isBlank()) {
            throw new ConfigException("Missing required configuration \"" + URL_CONFIG + "\"");
        }
        String userInfo = string(config, USER_INFO_CONFIG);
        String source = string(config, CREDENTIALS_SOURCE_CONFIG);
        // Confluent's default source is URL; a lone user.info is taken as meaning USER_INFO.
        source = source != null ? source.trim().toUpperCase(Locale.ROOT) : userInfo != null ? "USER_INFO" : "URL";
        if (!source.equals("USER_INFO") && !source.equals("URL")) {
            throw new ConfigException(CREDENTIALS_SOURCE_CONFIG + " " + source + " is not supported; use USER_INFO or URL");
        }
        Builder b = builder();
        for (String entry : urlList.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            URI uri = parseUrl(entry.trim());
            if (uri.getUserInfo() != null) {
                if (source.equals("URL") && userInfo == null) {
                    userInfo = uri.getUserInfo();
                }
                uri = withoutUserInfo(uri);
            }
            b.url(uri.toString());
        }
        if (source.equals("USER_INFO") && userInfo == null) {
            throw new ConfigException(CREDENTIALS_SOURCE_CONFIG + " is USER_INFO but " + USER_INFO_CONFIG + " is not set");
        }
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            if (colon < 0) {
                throw new ConfigException(USER_INFO_CONFIG + " must have the form user:password");
            }
            b.basicAuth(userInfo.substring(0, colon), userInfo.substring(colon + 1));
        }
        String trustLocation = string(config, TRUSTSTORE_LOCATION_CONFIG);
        if (trustLocation != null && !trustLocation.isBlank()) {
            b.trustStore(new KeyStoreFile(Path.of(trustLocation.trim()),
                    string(config, TRUSTSTORE_PASSWORD_CONFIG), string(config, TRUSTSTORE_TYPE_CONFIG)));
        }
        String keyLocation = string(config, KEYSTORE_LOCATION_CONFIG);
        if (keyLocation != null && !keyLocation.isBlank()) {
            b.keyStore(new KeyStoreFile(Path.of(keyLocation.trim()),
                    string(config, KEYSTORE_PASSWORD_CONFIG), string(config, KEYSTORE_TYPE_CONFIG)));
        }
        b.retries(integer(config, RETRIES_CONFIG, DEFAULT_RETRIES));
        b.retryBackoff(Duration.ofMillis(integer(config, RETRY_BACKOFF_MS_CONFIG, (int) DEFAULT_RETRY_BACKOFF.toMillis())));
        b.requestTimeout(Duration.ofMillis(integer(config, REQUEST_TIMEOUT_MS_CONFIG, (int) DEFAULT_REQUEST_TIMEOUT.toMillis())));
        return b;
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

    /** Reads {@code name}, or {@code schema.registry.name} for the auth properties; unwraps Kafka's {@link Password}. */
    private static String string(Map<String, ?> config, String name) {
        Object value = config.get(name);
        if (value == null && !name.startsWith(PREFIX)) {
            value = config.get(PREFIX + name);
        }
        if (value == null) {
            return null;
        }
        if (value instanceof Password p) {
            return p.value();
        }
        if (value instanceof Collection<?> list) {
            return list.stream().map(String::valueOf).collect(Collectors.joining(","));
        }
        return value.toString();
    }

    private static int integer(Map<String, ?> config, String name, int defaultValue) {
        String value = string(config, name);
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(name, value, "must be an integer");
        }
    }

    private static URI parseUrl(String url) {
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("invalid schema registry URL " + redact(url) + ": " + e.getReason());
        }
    }

    private static URI withoutUserInfo(URI uri) {
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("invalid schema registry URL " + redact(uri.toString()));
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
