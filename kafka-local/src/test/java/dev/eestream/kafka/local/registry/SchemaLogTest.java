package dev.eestream.kafka.local.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's file on a real file system: what survives a reopen, and what a crash can leave behind. */
class SchemaLogTest {
    private static final String THING = "{\"type\":\"record\",\"name\":\"Thing\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
    private static final String THING_V2 = "{\"type\":\"record\",\"name\":\"Thing\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
            + "{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}";
    private static final String OTHER = "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[]}";
    private static final List<Registration> THREE = List.of(new Registration("things-value", 1, 1, THING),
            new Registration("others-value", 1, 2, OTHER), new Registration("things-value", 2, 3, THING_V2));

    @TempDir
    Path dir;

    @Test
    void readsBackEveryAppendAfterAReopen() throws Exception {
        Path file = dir.resolve("registry").resolve("schemas.log");
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(List.of(), log.registrations(), "a new log is empty");
            for (Registration registration : THREE.subList(0, 2)) {
                log.append(registration);
            }
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE.subList(0, 2), log.registrations());
            log.append(THREE.get(2));
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE, log.registrations(), "appends after a reopen go after the earlier ones");
        }
        assertEquals(3, Files.readAllLines(file).size(), "one line per registration");
    }

    @Test
    void keepsSchemaTextThatNeedsEscaping() throws Exception {
        Registration odd = new Registration("orders eu+1/\"x\"\n-value", 1, 7,
                "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"line one\\nline \u00e9 two <&>\",\"fields\":[]}");
        Path file = dir.resolve("schemas.log");
        try (SchemaLog log = SchemaLog.open(file)) {
            log.append(odd);
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(List.of(odd), log.registrations());
        }
    }

    @Test
    void skipsATornLastLineWithAWarningAndAppendsCleanlyAfterIt() throws Exception {
        Path file = dir.resolve("schemas.log");
        writeLines(file, THREE.subList(0, 2));
        long intact = Files.size(file);
        byte[] third = SchemaLog.line(THREE.get(2));
        // A crash in the middle of the third append: only part of its line reached the disk.
        Files.write(file, Arrays.copyOf(third, third.length / 2), StandardOpenOption.APPEND);

        String warnings = stderrOf(() -> {
            try (SchemaLog log = SchemaLog.open(file)) {
                assertEquals(THREE.subList(0, 2), log.registrations(), "the lines before the torn one are read");
            }
            return null;
        });
        assertTrue(warnings.contains("WARN") && warnings.contains("torn last line") && warnings.contains(file.toString()), warnings);
        assertEquals(intact, Files.size(file), "the torn line is cut off, so the next append starts a line of its own");

        try (SchemaLog log = SchemaLog.open(file)) {
            log.append(THREE.get(2));
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE, log.registrations());
        }
    }

    @Test
    void skipsAWholeLastLineThatFailsItsChecksum() throws Exception {
        Path file = dir.resolve("schemas.log");
        writeLines(file, THREE.subList(0, 2));
        long intact = Files.size(file);
        byte[] third = SchemaLog.line(THREE.get(2));
        third[third.length - 5] ^= 0x01; // a flipped bit inside the JSON; the newline made it to disk
        Files.write(file, third, StandardOpenOption.APPEND);

        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE.subList(0, 2), log.registrations());
        }
        assertEquals(intact, Files.size(file));
    }

    @Test
    void aTornFirstLineLeavesAnEmptyLog() throws Exception {
        Path file = dir.resolve("schemas.log");
        byte[] first = SchemaLog.line(THREE.get(0));
        Files.write(file, Arrays.copyOf(first, 5));
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(List.of(), log.registrations());
            log.append(THREE.get(0));
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE.subList(0, 1), log.registrations());
        }
    }

    @Test
    void refusesDamageBeforeTheLastLineAndLeavesTheFileAlone() throws Exception {
        Path file = dir.resolve("schemas.log");
        List<byte[]> lines = new ArrayList<>();
        THREE.forEach(registration -> lines.add(SchemaLog.line(registration)));
        lines.get(1)[12] ^= 0x01;
        Files.write(file, concat(lines));
        byte[] before = Files.readAllBytes(file);

        SchemaLogException refused = assertThrows(SchemaLogException.class, () -> SchemaLog.open(file));
        assertTrue(refused.getMessage().contains("damaged at line 2 (checksum mismatch), not at its end") && refused.getMessage().contains(file.toString()),
                refused.getMessage());
        assertTrue(refused.damaged());
        assertArrayEquals(before, Files.readAllBytes(file), "nothing is cut off a log that is refused");
    }

    @Test
    void refusesAnIdThatNamesTwoSchemas() throws Exception {
        Path file = dir.resolve("schemas.log");
        // Each line checks out on its own; together they are no history a registry writes.
        writeLines(file, List.of(new Registration("things-value", 1, 1, THING), new Registration("others-value", 1, 1, OTHER)));
        SchemaLogException refused = assertThrows(SchemaLogException.class, () -> SchemaLog.open(file));
        assertTrue(refused.getMessage().contains("line 2 gives schema id 1 to a second schema"), refused.getMessage());
        assertTrue(refused.damaged());
    }

    @Test
    void refusesAVersionOutOfSequence() throws Exception {
        Path file = dir.resolve("schemas.log");
        writeLines(file, List.of(new Registration("things-value", 1, 1, THING), new Registration("things-value", 3, 2, THING_V2)));
        SchemaLogException refused = assertThrows(SchemaLogException.class, () -> SchemaLog.open(file));
        assertTrue(refused.getMessage().contains("line 2 is version 3 of subject 'things-value', where version 2 was due"),
                refused.getMessage());
    }

    @Test
    void oneRegistryAtATime() throws Exception {
        Path file = dir.resolve("schemas.log");
        try (SchemaLog log = SchemaLog.open(file)) {
            SchemaLogException refused = assertThrows(SchemaLogException.class, () -> SchemaLog.open(file));
            assertTrue(refused.getMessage().contains("in use by another schema registry"), refused.getMessage());
            assertFalse(refused.damaged(), "the file is fine, only taken");
            log.append(THREE.get(0));
        }
        try (SchemaLog log = SchemaLog.open(file)) {
            assertEquals(THREE.subList(0, 1), log.registrations(), "closing releases the file");
        }
    }

    private static void writeLines(Path file, List<Registration> registrations) throws Exception {
        List<byte[]> lines = new ArrayList<>();
        registrations.forEach(registration -> lines.add(SchemaLog.line(registration)));
        Files.write(file, concat(lines));
    }

    private static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        parts.forEach(all::writeBytes);
        return all.toByteArray();
    }

    /** What slf4j-simple wrote to stderr while {@code action} ran. */
    private static String stderrOf(Supplier<Void> action) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.get();
        } finally {
            System.setErr(original);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        System.err.print(text);
        return text;
    }
}
