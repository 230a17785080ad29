package dev.eestream.gateway.tls;

import dev.eestream.runtime.EeException;
import dev.eestream.runtime.io.SafeFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's TLS identity: a private key and its certificate chain, from PEM files (as web servers
 * and OpenAI-compatible servers take them) or from a PKCS12/JKS key store (as Kafka users keep them).
 * Key files must be owner-only. {@link #toString()} never shows the password.
 */
public final class ServerTls {
    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

    private final KeyStore keyStore;
    private final char[] password;

    private ServerTls(KeyStore keyStore, char[] password) {
        this.keyStore = keyStore;
        this.password = password;
    }

    /**
     * @param certificateChain PEM certificates, the server's first
     * @param privateKey       an unencrypted PKCS#8 PEM key ({@code BEGIN PRIVATE KEY}), owner-only
     */
    public static ServerTls fromPem(Path certificateChain, Path privateKey) throws IOException {
        List<Certificate> chain = certificates(certificateChain);
        SafeFiles.requireOwnerOnly(existing(privateKey, "TLS private key"), "TLS private key file");
        PrivateKey key = privateKey(privateKey);
        if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            throw new EeException("the TLS private key " + privateKey + " (" + key.getAlgorithm() + ") does not belong to the "
                    + "first certificate of " + certificateChain + " (" + chain.get(0).getPublicKey().getAlgorithm() + ")");
        }
        try {
            char[] password = randomPassword();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("gateway", key, password, chain.toArray(Certificate[]::new));
            return new ServerTls(store, password);
        } catch (GeneralSecurityException e) {
            throw new EeException("cannot use the TLS key and certificates: " + e.getMessage(), e);
        }
    }

    /** A PKCS12 or JKS key store holding one private key entry; the password opens both the store and the key. */
    public static ServerTls fromKeyStore(Path file, char[] password) throws IOException {
        SafeFiles.requireOwnerOnly(existing(file, "TLS key store"), "TLS key store");
        KeyStore store;
        try {
            store = KeyStore.getInstance(file.toFile(), password);
        } catch (IOException e) {
            throw new EeException("cannot open the TLS key store " + file + ": " + rootMessage(e)
                    + " (a wrong password, or not a PKCS12/JKS key store)");
        } catch (GeneralSecurityException e) {
            throw new EeException("cannot open the TLS key store " + file + ": " + e.getMessage());
        }
        try {
            boolean hasKey = false;
            for (String alias : Collections.list(store.aliases())) {
                hasKey |= store.isKeyEntry(alias);
            }
            if (!hasKey) {
                throw new EeException("the TLS key store " + file + " holds no private key, only certificates");
            }
        } catch (GeneralSecurityException e) {
            throw new EeException("cannot read the TLS key store " + file + ": " + e.getMessage());
        }
        return new ServerTls(store, password.clone());
    }

    public KeyStore keyStore() {
        return keyStore;
    }

    /** The password of {@link #keyStore()} and its key entry. */
    public char[] password() {
        return password.clone();
    }

    @Override
    public String toString() {
        return "ServerTls[password hidden]";
    }

    private static Path existing(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new EeException(what + " " + file + " does not exist");
        }
        return file;
    }

    private static List<Certificate> certificates(Path file) throws IOException {
        existing(file, "TLS certificate file");
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> read = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (read.isEmpty()) {
                throw new EeException("the TLS certificate file " + file + " holds no certificate");
            }
            return new ArrayList<>(read);
        } catch (CertificateException e) {
            throw new EeException("the TLS certificate file " + file + " is not a PEM certificate chain: " + e.getMessage());
        }
    }

    private static PrivateKey privateKey(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        if (!m.find()) {
            throw new EeException("the TLS private key file " + file + " is not PEM (no -----BEGIN … KEY----- block)");
        }
        String type = m.group(1);
        switch (type) {
            case "PRIVATE KEY" -> {
                // PKCS#8: the one PEM key form the JDK reads.
            }
            case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new EeException("the TLS private key " + file + " is in the "
                    + "older " + type + " form; convert it to PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in " + file
                    + " -out key.pk8.pem");
            case "ENCRYPTED PRIVATE KEY" -> throw new EeException("the TLS private key " + file + " is encrypted; give an "
                    + "unencrypted owner-only PKCS#8 key, or a PKCS12 key store with its password");
            default -> throw new EeException("the TLS private key file " + file + " holds a " + type + ", not a private key");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new EeException("the TLS private key file " + file + " is not valid base64: " + e.getMessage());
        }
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // not this algorithm; try the next
            }
        }
        throw new EeException("the TLS private key in " + file + " is not an RSA, EC or EdDSA PKCS#8 key");
    }

    private static char[] randomPassword() {
        byte[] secret = new byte[18];
        new SecureRandom().nextBytes(secret);
        return HexFormat.of().formatHex(secret).toCharArray();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }
}
