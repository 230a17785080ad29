package dev.eestream.schemas.registry;

import static dev.eestream.schemas.registry.RegistrySettings.CREDENTIALS_SOURCE_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.KEYSTORE_LOCATION_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.KEYSTORE_PASSWORD_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.KEYSTORE_TYPE_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.REQUEST_TIMEOUT_MS_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.RETRIES_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.RETRY_BACKOFF_MS_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.TRUSTSTORE_LOCATION_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.TRUSTSTORE_TYPE_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.URL_CONFIG;
import static dev.eestream.schemas.registry.RegistrySettings.USER_INFO_CONFIG;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * Confluent-style schema registry client properties, parsed and checked against their definition, turned
 * into a {@link RegistrySettings.Builder}. Keys that are not the registry's are ignored, so a whole producer
 * or consumer configuration can be given.
 */
final class RegistryConfig extends AbstractConfig {
    /** Confluent also accepts the auth properties with this prefix. */
    private static final String PREFIX = "schema.registry.";
    private static final String USER_INFO = "USER_INFO";
    private static final String URL = "URL";

    static final ConfigDef CONFIG = new ConfigDef()
            .define(URL_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, atLeastOneUrl(), Importance.HIGH,
                    "Confluent-compatible schema registry: `http(s)://host:port`, several separated by commas "
                            + "(tried in order)")
            .define(CREDENTIALS_SOURCE_CONFIG, Type.STRING, null, userInfoOrUrl(), Importance.MEDIUM,
                    "`USER_INFO` (basic auth from `basic.auth.user.info`) or `URL` (from `user:password@` in the URL); "
                            + "`USER_INFO` when `basic.auth.user.info` is set, else `URL`")
            .define(USER_INFO_CONFIG, Type.PASSWORD, null, Importance.MEDIUM, "basic auth as `user:password`")
            .define(TRUSTSTORE_LOCATION_CONFIG, Type.STRING, null, Importance.MEDIUM,
                    "certificates to trust for `https` (the JDK's CAs when not set)")
            .define(TRUSTSTORE_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.MEDIUM, "the truststore's password")
            .define(TRUSTSTORE_TYPE_CONFIG, Type.STRING, KeyStoreFile.DEFAULT_TYPE, Importance.LOW,
                    "`JKS` (also reads PKCS12) or `PKCS12`")
            .define(KEYSTORE_LOCATION_CONFIG, Type.STRING, null, Importance.MEDIUM,
                    "client key for registries that ask for one (mutual TLS)")
            .define(KEYSTORE_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.MEDIUM, "the keystore's and its key's password")
            .define(KEYSTORE_TYPE_CONFIG, Type.STRING, KeyStoreFile.DEFAULT_TYPE, Importance.LOW,
                    "`JKS` (also reads PKCS12) or `PKCS12`")
            .define(RETRIES_CONFIG, Type.INT, RegistrySettings.DEFAULT_RETRIES, Range.atLeast(0), Importance.LOW,
                    "extra rounds over all URLs after the first, for I/O errors and HTTP 5xx/429")
            .define(RETRY_BACKOFF_MS_CONFIG, Type.LONG, RegistrySettings.DEFAULT_RETRY_BACKOFF.toMillis(), Range.atLeast(0),
                    Importance.LOW, "wait before the first retry round; it doubles for each further round")
            .define(REQUEST_TIMEOUT_MS_CONFIG, Type.LONG, RegistrySettings.DEFAULT_REQUEST_TIMEOUT.toMillis(), Range.atLeast(1),
                    Importance.LOW, "how long one request may take");

    RegistryConfig(Map<String, ?> config) {
        super(CONFIG, withUnprefixedAuth(config), false);
    }

    /** The settings as a builder; a bad URL or user info is a {@link ConfigException} like a bad value. */
    RegistrySettings.Builder toBuilder() {
        Password userInfoPassword = getPassword(USER_INFO_CONFIG);
        String userInfo = userInfoPassword == null ? null : userInfoPassword.value();
        String source = credentialsSource(userInfo != null);
        RegistrySettings.Builder b = RegistrySettings.builder();
        for (String entry : getList(URL_CONFIG)) {
            if (entry.isBlank()) {
                continue;
            }
            URI uri = RegistrySettings.parseUrl(entry.trim());
            if (uri.getUserInfo() != null) {
                if (source.equals(URL) && userInfo == null) {
                    userInfo = uri.getUserInfo();
                }
                uri = withoutUserInfo(uri);
            }
            b.url(uri.toString());
        }
        if (source.equals(USER_INFO) && userInfo == null) {
            throw new ConfigException(CREDENTIALS_SOURCE_CONFIG + " is USER_INFO but " + USER_INFO_CONFIG + " is not set");
        }
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            if (colon < 0) {
                throw new ConfigException(USER_INFO_CONFIG + " must have the form user:password");
            }
            b.basicAuth(userInfo.substring(0, colon), userInfo.substring(colon + 1));
        }
        String trustLocation = getString(TRUSTSTORE_LOCATION_CONFIG);
        if (trustLocation != null && !trustLocation.isBlank()) {
            b.trustStore(new KeyStoreFile(Path.of(trustLocation), text(getPassword(TRUSTSTORE_PASSWORD_CONFIG)),
                    getString(TRUSTSTORE_TYPE_CONFIG)));
        }
        String keyLocation = getString(KEYSTORE_LOCATION_CONFIG);
        if (keyLocation != null && !keyLocation.isBlank()) {
            b.keyStore(new KeyStoreFile(Path.of(keyLocation), text(getPassword(KEYSTORE_PASSWORD_CONFIG)),
                    getString(KEYSTORE_TYPE_CONFIG)));
        }
        return b.retries(getInt(RETRIES_CONFIG))
                .retryBackoff(Duration.ofMillis(getLong(RETRY_BACKOFF_MS_CONFIG)))
                .requestTimeout(Duration.ofMillis(getLong(REQUEST_TIMEOUT_MS_CONFIG)));
    }

    // Confluent's default source is URL; a lone user.info is taken as meaning USER_INFO.
    private String credentialsSource(boolean hasUserInfo) {
        String source = getString(CREDENTIALS_SOURCE_CONFIG);
        return source != null ? source.toUpperCase(Locale.ROOT) : hasUserInfo ? USER_INFO : URL;
    }

    /** {@code schema.registry.basic.auth.user.info} counts as {@code basic.auth.user.info} when that is not given. */
    private static Map<String, Object> withUnprefixedAuth(Map<String, ?> config) {
        Map<String, Object> out = new HashMap<>(config);
        for (String name : List.of(CREDENTIALS_SOURCE_CONFIG, USER_INFO_CONFIG)) {
            if (!out.containsKey(name) && out.containsKey(PREFIX + name)) {
                out.put(name, out.get(PREFIX + name));
            }
        }
        return out;
    }

    private static ConfigDef.Validator atLeastOneUrl() {
        return ConfigDef.LambdaValidator.with((name, value) -> {
            if (!(value instanceof List<?> urls) || urls.stream().allMatch(u -> u == null || u.toString().isBlank())) {
                throw new ConfigException("Missing required configuration \"" + name + "\": give at least one URL");
            }
        }, () -> "one or more URLs");
    }

    private static ConfigDef.Validator userInfoOrUrl() {
        return ConfigDef.LambdaValidator.with((name, value) -> {
            if (value != null && !List.of(USER_INFO, URL).contains(value.toString().toUpperCase(Locale.ROOT))) {
                throw new ConfigException(name, value, "not supported; use USER_INFO or URL");
            }
        }, () -> "USER_INFO or URL");
    }

    private static URI withoutUserInfo(URI uri) {
        try {
            return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("invalid schema registry URL " + RegistrySettings.redact(uri.toString()));
        }
    }

    private static String text(Password password) {
        return password == null ? null : password.value();
    }
}
