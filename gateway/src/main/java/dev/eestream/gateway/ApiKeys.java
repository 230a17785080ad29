package dev.eestream.gateway;

import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.io.SafeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bearer API keys applications must send ({@code Authorization: Bearer KEY}), read from an owner-only file, one
 * key per line (blank lines and lines starting with {@code #} skipped). Only SHA-256 digests are kept, and they are
 * compared in constant time. {@link #none()} lets every request in.
 */
public final class ApiKeys {
    private final List<byte[]> digests;

    private ApiKeys(List<byte[]> digests) {
        this.digests = List.copyOf(digests);
    }

    public static ApiKeys none() {
        return new ApiKeys(List.of());
    }

    /** @throws EeException for a missing file, one others can read, or one without a key */
    public static ApiKeys read(Path file) throws IOException {
        List<String> lines;
        try {
            SafeFiles.requireOwnerOnly(file, "API key file");
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new EeException("API key file " + file + " does not exist");
        }
        List<String> keys = new ArrayList<>();
        for (String line : lines) {
            String k = line.strip();
            if (!k.isEmpty() && !k.startsWith("#")) {
                keys.add(k);
            }
        }
        return of(keys, file.toString());
    }

    /** The keys given, each at least 16 characters: short keys are guessable. */
    public static ApiKeys of(List<String> keys, String source) {
        if (keys.isEmpty()) {
            throw new EeException("API key file " + source + " holds no key (one key per line)");
        }
        List<byte[]> digests = new ArrayList<>();
        for (String k : keys) {
            if (k.length() < 16 || k.chars().anyMatch(Character::isWhitespace)) {
                throw new EeException("an API key in " + source + " is shorter than 16 characters or holds spaces;"
                        + " make keys long and random (e.g. openssl rand -hex 32)");
            }
            digests.add(sha256(k));
        }
        return new ApiKeys(digests);
    }

    public boolean required() {
        return !digests.isEmpty();
    }

    public int size() {
        return digests.size();
    }

    /**
     * Checks a request's {@code Authorization} header.
     *
     * @throws OpenAiException 401 when a key is required and the header lacks it or holds another
     */
    public void check(String authorization) {
        if (!required()) {
            return;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                || authorization.substring(7).isBlank()) {
            throw OpenAiException.missingApiKey();
        }
        byte[] given = sha256(authorization.substring(7).strip());
        boolean match = false;
        for (byte[] d : digests) {
            match |= MessageDigest.isEqual(d, given);
        }
        if (!match) {
            throw OpenAiException.wrongApiKey();
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
