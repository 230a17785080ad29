package dev.eestream.processor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.processor.cli.ProcessorCommand;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.junit.jupiter.api.Test;

class SettingsTableTest {
    private static final ConfigDef EXAMPLE = new ConfigDef()
            .define("a.dir", Type.STRING, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH, "where `a` is")
            .define("b.size", Type.INT, 32, Importance.LOW, "x | y")
            .define("c.password", Type.PASSWORD, null, Importance.LOW, "secret");

    @Test
    void markdownHasOneRowPerKeyInDefinitionOrder() {
        assertEquals("""
                | setting | default | meaning |
                |---|---|---|
                | `a.dir` | (required) | where `a` is |
                | `b.size` | `32` | x \\| y |
                | `c.password` | (none) | secret |
                """, SettingsTable.markdown(EXAMPLE));
    }

    @Test
    void textDropsTheCodeSpans() {
        assertEquals(String.format("  a.dir = (required)%n      where a is%n  b.size = 32%n      x | y%n"
                + "  c.password = (none)%n      secret%n"), SettingsTable.text(EXAMPLE));
    }

    @Test
    void helpListsEveryProcessorSetting() {
        String help = ProcessorCommand.settingsTable();
        for (String key : ProcessorSettings.definition().names()) {
            assertTrue(help.contains("  " + key + " = "), key + " is in --help");
        }
        assertTrue(help.contains("  models.dir = (required)\n".replace("\n", System.lineSeparator())), help);
        assertTrue(help.contains("  max.batch.size = 32"), help);
        assertFalse(help.contains("`"), help);
    }
}
