package dev.eestream.processor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.schemas.registry.RegistrySettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's settings tables are the definitions' own: a changed key, default or doc fails here. */
class ReadmeSettingsTablesTest {
    private static final Path README = Path.of("..", "README.md");
    private static final String SECTION = "## Processor settings";

    @Test
    void theReadmeShowsExactlyTheDefinedSettings() throws IOException {
        List<String> expected = List.of(SettingsTable.markdown(ProcessorSettings.definition()),
                SettingsTable.markdown(KafkaSettings.definition()), SettingsTable.markdown(RegistrySettings.definition()));
        assertEquals(expected, tablesOf(section(Files.readString(README))),
                "the tables in the README's '" + SECTION + "' are out of date; in order, they should be:\n\n"
                        + String.join("\n", expected));
    }

    private static String section(String readme) {
        int start = readme.indexOf("\n" + SECTION + "\n");
        assertTrue(start >= 0, "the README has a '" + SECTION + "' section");
        int end = readme.indexOf("\n## ", start + 1);
        return readme.substring(start, end < 0 ? readme.length() : end);
    }

    /** Each run of lines starting with '|', lines ending in a newline. */
    private static List<String> tablesOf(String section) {
        List<String> tables = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        for (String line : (section + "\n").split("\n", -1)) {
            if (line.startsWith("|")) {
                table.append(line).append('\n');
            } else if (!table.isEmpty()) {
                tables.add(table.toString());
                table.setLength(0);
            }
        }
        return tables;
    }
}
