package dev.eestream.core.key;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.EeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysTest {
    private static EeKey fixedKey() {
        byte[] secret = new byte[32];
        for (int i = 0; i < secret.length; i++) {
            secret[i] = (byte) i;
        }
        return EeKey.fromSecret(secret);
    }

    @Test
    void fixedSecretGivesPinnedPermutationsOnEveryMachine() {
        // Known-answer vector for HMAC-SHA256 counter-mode DRBG + Fisher–Yates (see KeyedDrbg).
        EeKey key = fixedKey();
        assertEquals("eek-79b10c4473253136", key.keyId());
        assertArrayEquals(new int[] {4, 13, 8, 5, 11, 6, 7, 2, 0, 12, 1, 15, 10, 14, 9, 3}, key.vocabPermutation(16).toArray());
        assertArrayEquals(new int[] {5, 1, 3, 6, 7, 0, 2, 4}, key.hiddenPermutation(8).toArray());
        assertArrayEquals(new int[] {0, 4, 1, 2, 3}, key.labelPermutation(5).toArray());
        assertEquals(17380, key.vocabPermutation(30522).apply(101));
    }

    @Test
    void permutationsAreTruePermutationsOfTheRightSize() {
        EeKey key = EeKey.generate();
        for (int n : new int[] {1, 2, 5, 384, 30522}) {
            for (PermutationKind kind : PermutationKind.values()) {
                Permutation p = key.permutation(kind, n);
                assertEquals(n, p.size());
                boolean[] seen = new boolean[n];
                for (int i = 0; i < n; i++) {
                    int v = p.apply(i);
                    assertFalse(seen[v], "value " + v + " twice");
                    seen[v] = true;
                    assertEquals(i, p.invert(v));
                }
            }
        }
        assertFalse(key.vocabPermutation(30522).isIdentity());
    }

    @Test
    void purposesAndKeysAreSeparated() {
        EeKey key = EeKey.generate();
        assertNotEquals(key.vocabPermutation(384), key.hiddenPermutation(384));
        assertNotEquals(key.hiddenPermutation(384), key.labelPermutation(384));
        assertNotEquals(key.vocabPermutation(384), EeKey.generate().vocabPermutation(384));
        assertEquals(key.hiddenPermutation(384), EeKey.fromSecret(secretOf(key)).hiddenPermutation(384));
    }

    @Test
    void keyFileIsOwnerOnlyAndRoundTrips(@TempDir Path dir) throws Exception {
        EeKey key = EeKey.generate();
        Path file = dir.resolve("client.key");
        KeyFiles.write(key, file, null, false);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        EeKey read = KeyFiles.read(file, null);
        assertEquals(key, read);
        assertEquals(key.keyId(), read.keyId());
        String text = Files.readString(file);
        assertTrue(text.contains(key.keyId()));
        assertFalse(key.toString().contains(java.util.Base64.getEncoder().encodeToString(secretOf(key))));
    }

    @Test
    void existingKeyFileIsNotOverwrittenWithoutForce(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("k");
        EeKey first = EeKey.generate();
        KeyFiles.write(first, file, null, false);
        EeException e = assertThrows(EeException.class, () -> KeyFiles.write(EeKey.generate(), file, null, false));
        assertEquals(java.util.Optional.of("overwrite"), e.setting(), "the library names its own setting, not a CLI flag");
        assertFalse(e.getMessage().contains("--"), e.getMessage());
        assertEquals(first, KeyFiles.read(file, null));
        EeKey second = EeKey.generate();
        KeyFiles.write(second, file, null, true);
        assertEquals(second, KeyFiles.read(file, null));
    }

    @Test
    void passphraseSealsTheSecret(@TempDir Path dir) throws Exception {
        EeKey key = EeKey.generate();
        Path file = dir.resolve("sealed.key");
        KeyFiles.write(key, file, "correct horse".toCharArray(), false);
        String text = Files.readString(file);
        assertFalse(text.contains("\"secret\""));
        assertFalse(text.contains(java.util.Base64.getEncoder().encodeToString(secretOf(key))));
        assertEquals(key, KeyFiles.read(file, "correct horse".toCharArray()));
        EeException wrong = assertThrows(EeException.class, () -> KeyFiles.read(file, "wrong".toCharArray()));
        assertTrue(wrong.getMessage().contains("wrong passphrase"), wrong.getMessage());
        EeException missing = assertThrows(EeException.class, () -> KeyFiles.read(file, null));
        assertEquals(java.util.Optional.of("passphrase"), missing.setting());
        assertFalse(missing.getMessage().contains("--"), missing.getMessage());
    }

    @Test
    void filesThatAreNotKeysAreRefused(@TempDir Path dir) throws Exception {
        Path notJson = dir.resolve("a");
        Files.writeString(notJson, "hello");
        Files.setPosixFilePermissions(notJson, PosixFilePermissions.fromString("rw-------"));
        assertTrue(assertThrows(EeException.class, () -> KeyFiles.read(notJson, null)).getMessage().contains("not an eestream key"));
        Path otherJson = dir.resolve("b");
        Files.writeString(otherJson, "{\"format\":\"something-else\"}", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(otherJson, PosixFilePermissions.fromString("rw-------"));
        assertTrue(assertThrows(EeException.class, () -> KeyFiles.read(otherJson, null)).getMessage().contains("not an eestream key"));
        assertTrue(assertThrows(EeException.class, () -> KeyFiles.read(dir.resolve("missing"), null)).getMessage().contains("does not exist"));
    }

    @Test
    void keyFileReadableByOthersIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("k");
        KeyFiles.write(EeKey.generate(), file, null, false);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        EeException e = assertThrows(EeException.class, () -> KeyFiles.read(file, null));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    private static byte[] secretOf(EeKey key) {
        return key.secretBytes();
    }
}
