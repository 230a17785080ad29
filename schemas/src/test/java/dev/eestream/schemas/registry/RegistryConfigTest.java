package dev.eestream.schemas.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class RegistryConfigTest {
    @Test
    void theDefinitionHasEveryConstant() {
        assertEquals(Set.of(RegistrySettings.URL_CONFIG, RegistrySettings.CREDENTIALS_SOURCE_CONFIG, RegistrySettings.USER_INFO_CONFIG,
                RegistrySettings.TRUSTSTORE_LOCATION_CONFIG, RegistrySettings.TRUSTSTORE_PASSWORD_CONFIG,
                RegistrySettings.TRUSTSTORE_TYPE_CONFIG, RegistrySettings.KEYSTORE_LOCATION_CONFIG,
                RegistrySettings.KEYSTORE_PASSWORD_CONFIG, RegistrySettings.KEYSTORE_TYPE_CONFIG, RegistrySettings.RETRIES_CONFIG,
                RegistrySettings.RETRY_BACKOFF_MS_CONFIG, RegistrySettings.REQUEST_TIMEOUT_MS_CONFIG),
                RegistrySettings.definition().names());
    }

    @Test
    void aUrlListWithoutAUrlIsMissing() {
        for (Object blank : List.of("", " , ", List.of())) {
            assertEquals("Missing required configuration \"schema.registry.url\": give at least one URL",
                    assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, blank)))
                            .getMessage(), String.valueOf(blank));
        }
        Map<String, Object> nullUrl = new HashMap<>();
        nullUrl.put(RegistrySettings.URL_CONFIG, null);
        assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(nullUrl));
    }

    @Test
    void blankEntriesAreSkippedAndCredentialsComeFromTheUrl() {
        RegistrySettings s = RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG, "http://u:p@a:8081,, http://b:8081",
                "schema.registry." + RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "url"));
        assertEquals(List.of(URI.create("http://a:8081"), URI.create("http://b:8081")), s.urls());
        assertEquals("u", s.username().orElseThrow());
    }

    @Test
    void aBadTimeoutNamesItsKey() {
        String message = assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(
                RegistrySettings.URL_CONFIG, "http://a:8081", RegistrySettings.REQUEST_TIMEOUT_MS_CONFIG, "0"))).getMessage();
        assertEquals("Invalid value 0 for configuration schema.registry.request.timeout.ms: Value must be at least 1", message);
        assertTrue(assertThrows(ConfigException.class, () -> RegistrySettings.fromConfig(Map.of(RegistrySettings.URL_CONFIG,
                "http://a:8081", RegistrySettings.CREDENTIALS_SOURCE_CONFIG, "SASL_INHERIT"))).getMessage()
                .startsWith("Invalid value SASL_INHERIT for configuration basic.auth.credentials.source: not supported"));
    }
}
