package dev.eestream.kafka.local.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.regex.Pattern;

/** A SASL/SCRAM-SHA-512 user. {@link #toString()} never shows the password. */
public record ScramUser(String name, String password) {
    public static final String MECHANISM = "SCRAM-SHA-512";
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]+");
    private static final char[] ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    public ScramUser {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(password, "password");
        // Both go into a JAAS line and the storage formatter's argument: no quotes, commas or brackets.
        if (!SAFE.matcher(name).matches() || !SAFE.matcher(password).matches()) {
            throw new IllegalArgumentException("SCRAM user name and password may hold only letters, digits, '.', '_' and '-'");
        }
    }

    /** A user with a fresh 32-character random password. */
    public static ScramUser random(String name) {
        SecureRandom random = new SecureRandom();
        StringBuilder password = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            password.append(ALPHABET[random.nextInt(ALPHABET.length)]);
        }
        return new ScramUser(name, password.toString());
    }

    /** The user kept in {@code file} (owner-only), or a new random one written there. */
    public static ScramUser createOrLoad(Path file, String name) throws IOException {
        if (Files.exists(file)) {
            String[] parts = Files.readString(file, StandardCharsets.UTF_8).trim().split(":", 2);
            if (parts.length != 2) {
                throw new IOException(file + " does not hold NAME:PASSWORD");
            }
            return new ScramUser(parts[0], parts[1]);
        }
        ScramUser user = random(name);
        OwnerOnly.directory(file.toAbsolutePath().getParent());
        OwnerOnly.writeNew(file, user.name() + ":" + user.password() + "\n");
        return user;
    }

    /** The client's {@code sasl.jaas.config} value. */
    public String jaasConfig() {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + name + "\" password=\"" + password + "\";";
    }

    /** The storage formatter's {@code --add-scram} argument, so the user exists from the first start. */
    String formatterArgument() {
        return MECHANISM + "=[name=" + name + ",password=" + password + "]";
    }

    @Override
    public String toString() {
        return "ScramUser[" + name + ", password hidden]";
    }
}
