package dev.eestream.kafka.local.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * TLS for one machine: a self-signed CA, a server key pair signed by it for {@code 127.0.0.1} and
 * {@code localhost}, and a truststore holding the CA, all PKCS12 in one owner-only directory. Made with
 * the JDK's keytool, so nothing beyond the JDK is needed. {@link #toString()} never shows the password.
 */
public final class LocalTls {
    private static final String PASSWORD_FILE = "stores.password";
    private static final String KEYSTORE = "server.p12";
    private static final String TRUSTSTORE = "truststore.p12";
    private static final String CA_CERT = "ca.pem";

    private final Path directory;
    private final String password;

    private LocalTls(Path directory, String password) {
        this.directory = directory;
        this.password = password;
    }

    /** Loads the material in {@code directory}, or generates it there first (a few seconds of keytool). */
    public static LocalTls createOrLoad(Path directory) throws IOException {
        Path dir = directory.toAbsolutePath();
        Path passwordFile = dir.resolve(PASSWORD_FILE);
        if (Files.exists(passwordFile) && Files.exists(dir.resolve(KEYSTORE)) && Files.exists(dir.resolve(TRUSTSTORE))) {
            return new LocalTls(dir, Files.readString(passwordFile, StandardCharsets.UTF_8).trim());
        }
        OwnerOnly.directory(dir);
        for (String name : List.of(PASSWORD_FILE, KEYSTORE, TRUSTSTORE, CA_CERT, "ca.p12", "server.csr", "server.pem")) {
            Files.deleteIfExists(dir.resolve(name)); // a half-made set from an interrupted run
        }
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);
        OwnerOnly.writeNew(passwordFile, password + "\n");
        LocalTls tls = new LocalTls(dir, password);
        tls.generate();
        return tls;
    }

    private void generate() throws IOException {
        String ca = dir("ca.p12");
        String server = dir(KEYSTORE);
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "825",
                "-dname", "CN=eestream local CA", "-ext", "bc:c", "-storetype", "PKCS12", "-keystore", ca, "-storepass", password);
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", password, "-file", dir(CA_CERT));
        keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "825",
                "-dname", "CN=localhost", "-storetype", "PKCS12", "-keystore", server, "-storepass", password);
        keytool("-certreq", "-alias", "server", "-keystore", server, "-storepass", password, "-file", dir("server.csr"));
        keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", ca, "-storepass", password, "-validity", "825",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-ext", "EKU=serverAuth,clientAuth",
                "-infile", dir("server.csr"), "-outfile", dir("server.pem"));
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", dir(CA_CERT), "-keystore", server, "-storepass", password);
        keytool("-importcert", "-alias", "server", "-file", dir("server.pem"), "-keystore", server, "-storepass", password);
        keytool("-importcert", "-noprompt", "-alias", "ca", "-file", dir(CA_CERT), "-storetype", "PKCS12",
                "-keystore", dir(TRUSTSTORE), "-storepass", password);
        // The CA's private key signs nothing more: keep only its certificate.
        Files.delete(Path.of(ca));
        Files.delete(Path.of(dir("server.csr")));
        try (var files = Files.list(directory)) {
            for (Path f : files.toList()) {
                OwnerOnly.restrict(f, "rw-------");
            }
        }
    }

    private String dir(String name) {
        return directory.resolve(name).toString();
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("keytool " + args[0] + " failed: " + output.strip());
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running keytool", e);
        }
    }

    /** The server's key pair and certificate chain (PKCS12). */
    public Path keyStore() {
        return directory.resolve(KEYSTORE);
    }

    /** The CA certificate, for clients (PKCS12). */
    public Path trustStore() {
        return directory.resolve(TRUSTSTORE);
    }

    /** The password of both stores. */
    public String password() {
        return password;
    }

    public Path directory() {
        return directory;
    }

    @Override
    public String toString() {
        return "LocalTls[" + directory + ", password hidden]";
    }
}
