package dev.eestream.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.runtime.EeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
    private static final String KEY = "sk-0123456789abcdef0123";

    @TempDir
    Path dir;

    @Test
    void anOwnerOnlyFileGivesTheKeysABearerHeaderMustHold() throws Exception {
        Path file = dir.resolve("api-keys");
        Files.writeString(file, "# the apps' keys\n\n" + KEY + "\n  sk-another-key-of-enough-length  \n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        ApiKeys keys = ApiKeys.read(file);
        assertEquals(2, keys.size());
        keys.check("Bearer " + KEY);
        keys.check("bearer sk-another-key-of-enough-length");
        OpenAiException missing = assertThrows(OpenAiException.class, () -> keys.check(null));
        assertEquals(401, missing.status());
        assertEquals(401, assertThrows(OpenAiException.class, () -> keys.check("Basic " + KEY)).status());
        OpenAiException wrong = assertThrows(OpenAiException.class, () -> keys.check("Bearer " + KEY + "x"));
        assertEquals("invalid_api_key", wrong.code());
        ApiKeys.none().check(null);
    }

    @Test
    void aFileOthersCanReadAnEmptyFileAndShortKeysAreRefused() throws Exception {
        Path open = dir.resolve("open");
        Files.writeString(open, KEY + "\n");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        EeException e = assertThrows(EeException.class, () -> ApiKeys.read(open));
        assertTrue(e.getMessage().contains("accessible to others") && e.getMessage().contains("chmod 600"), e.getMessage());
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "# nothing\n");
        Files.setPosixFilePermissions(empty, PosixFilePermissions.fromString("rw-------"));
        assertTrue(assertThrows(EeException.class, () -> ApiKeys.read(empty)).getMessage().contains("holds no key"));
        Path shortKey = dir.resolve("short");
        Files.writeString(shortKey, "abc\n");
        Files.setPosixFilePermissions(shortKey, PosixFilePermissions.fromString("rw-------"));
        assertThrows(EeException.class, () -> ApiKeys.read(shortKey));
        assertThrows(EeException.class, () -> ApiKeys.read(dir.resolve("missing")));
    }
}
