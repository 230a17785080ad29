package dev.eestream.schemas.registry;

import org.apache.kafka.common.config.ConfigException;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Objects;

/**
 * A keystore or truststore file. The password never appears in {@link #toString()}.
 *
 * @param path     the file
 * @param password its password; null when it has none
 * @param type     {@code JKS} (the default, which also reads PKCS12) or {@code PKCS12}
 */
public record KeyStoreFile(Path path, String password, String type) {

    public static final String DEFAULT_TYPE = "JKS";

    public KeyStoreFile {
        Objects.requireNonNull(path, "path");
        type = type == null || type.isBlank() ? DEFAULT_TYPE : type.trim();
    }

    /** Reads the store; a missing file or a wrong password is a {@link ConfigException}. */
    public KeyStore load() {
        try (InputStream in = Files.newInputStream(path)) {
            KeyStore store = KeyStore.getInstance(type);
            store.load(in, chars(password));
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigException("Cannot load " + this + ": " + e.getMessage());
        }
    }

    /**
     * A TLS context that trusts {@code trustStore}'s certificates (the JDK's default CAs when null)
     * and presents {@code keyStore}'s key (none when null).
     */
    public static SSLContext sslContext(KeyStoreFile keyStore, KeyStoreFile trustStore) {
        try {
            KeyManager[] keyManagers = null;
            if (keyStore != null) {
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keyStore.load(), chars(keyStore.password()));
                keyManagers = kmf.getKeyManagers();
            }
            TrustManager[] trustManagers = null;
            if (trustStore != null) {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trustStore.load());
                trustManagers = tmf.getTrustManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, trustManagers, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new ConfigException("Cannot build a TLS context from keystore " + keyStore
                    + " and truststore " + trustStore + ": " + e.getMessage());
        }
    }

    private static char[] chars(String password) {
        return password == null ? null : password.toCharArray();
    }

    @Override
    public String toString() {
        return type + " " + path;
    }
}
