package dev.eestream.processor.config;

import java.util.stream.Collectors;
import org.apache.kafka.common.config.ConfigDef;

/**
 * A settings definition as a table: Markdown for the README, plain text for --help. Docs are written
 * with Markdown code spans, which the plain text drops.
 */
public final class SettingsTable {
    private SettingsTable() {
    }

    /** One row per key, in definition order; paste it into the README's "Processor settings" section. */
    public static String markdown(ConfigDef definition) {
        return "| setting | default | meaning |\n|---|---|---|\n" + definition.configKeys().values().stream()
                .map(k -> "| `" + k.name + "` | " + markdownDefault(k) + " | " + k.documentation.replace("|", "\\|") + " |\n")
                .collect(Collectors.joining());
    }

    /** Each key with its default, then its meaning indented below. */
    public static String text(ConfigDef definition) {
        return definition.configKeys().values().stream()
                .map(k -> String.format("  %s = %s%n      %s%n", k.name, defaultText(k), k.documentation.replace("`", "")))
                .collect(Collectors.joining());
    }

    private static String markdownDefault(ConfigDef.ConfigKey key) {
        String text = defaultText(key);
        return text.startsWith("(") ? text : "`" + text + "`";
    }

    private static String defaultText(ConfigDef.ConfigKey key) {
        if (!key.hasDefault()) {
            return "(required)";
        }
        String text = ConfigDef.convertToString(key.defaultValue, key.type);
        return text == null ? "(none)" : text.isEmpty() ? "(empty)" : text;
    }
}
