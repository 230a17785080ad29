package dev.eestream.processor.config;

import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Where settings come from, later ones winning: a properties file, then {@code EESTREAM_*} environment
 * variables ({@code EESTREAM_MAX_BATCH_SIZE} sets {@code max.batch.size}), then explicit overrides.
 */
final class SettingsSources {
    static final String ENV_PREFIX = "EESTREAM_";

    private SettingsSources() {
    }

    /** Every key given, as text; nothing is checked here. */
    static Map<String, String> merge(Path file, Map<String, String> env, Map<String, String> overrides) throws IOException {
        Map<String, String> given = new TreeMap<>();
        if (file != null) {
            given.putAll(readFile(file));
        }
        env.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
                given.put(keyOf(name), value);
            }
        });
        given.putAll(overrides);
        return given;
    }

    /** {@code EESTREAM_BOOTSTRAP_SERVERS} names {@code bootstrap.servers}. */
    static String keyOf(String environmentVariable) {
        return environmentVariable.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
    }

    private static Map<String, String> readFile(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            throw new EeException("configuration file " + file + " does not exist");
        }
        Map<String, String> values = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> values.put(k, p.getProperty(k).trim()));
        return values;
    }
}
