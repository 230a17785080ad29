package dev.eestream.core.key;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.io.SafeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Reads and writes key files: a small JSON document, created owner-only (0600), holding the public
 * key id and the secret, in clear or sealed with a passphrase (PBKDF2-HMAC-SHA256 + AES-256-GCM,
 * with the key id and format bound as associated data).
 */
public final class KeyFiles {
    static final String FORMAT = "eestream-key";
    static final int VERSION = 1;
    static final int PBKDF2_ITERATIONS = 600_000;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private KeyFiles() {
    }

    /**
     * Writes {@code key} to {@code file}, owner-only. Refuses to replace an existing file unless
     * {@code overwrite}. With a non-null {@code passphrase} the secret is sealed with it.
     */
    public static void write(EeKey key, Path file, char[] passphrase, boolean overwrite) throws IOException {
        if (Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !overwrite) {
            throw EeException.fixedBy("overwrite", "key file " + file + " already exists");
        }
        JsonObject json = new JsonObject();
        json.addProperty("format", FORMAT);
        json.addProperty("version", VERSION);
        json.addProperty("keyId", key.keyId());
        json.addProperty("created", Instant.now().toString());
        byte[] secret = key.secretBytes();
        try {
            if (passphrase == null) {
                json.addProperty("secret", Base64.getEncoder().encodeToString(secret));
            } else {
                json.add("sealed", seal(secret, passphrase, key.keyId()));
            }
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
        byte[] bytes = (GSON.toJson(json) + "\n").getBytes(StandardCharsets.UTF_8);
        writeOwnerOnly(file, bytes, overwrite);
    }

    /** Writes key material (a key, a private tokenizer, a client profile): owner-only from the first byte on. */
    public static void writeOwnerOnly(Path file, byte[] bytes, boolean overwrite) throws IOException {
        SafeFiles.write(file, bytes, true, overwrite);
    }

    /**
     * Reads a key file. {@code passphrase} may be null for an unsealed file. Refuses a file that
     * others can read or write, a file that is not an eestream key, and a wrong passphrase.
     */
    public static EeKey read(Path file, char[] passphrase) throws IOException {
        if (!Files.exists(file)) {
            throw EeException.fixedBy("keyFile", "key file " + file + " does not exist");
        }
        SafeFiles.requireOwnerOnly(file, "key file");
        JsonObject json;
        try {
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length > 64 * 1024) {
                throw new EeException(file + " is not an eestream key file (too large)");
            }
            json = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException | NoSuchFileException e) {
            throw new EeException(file + " is not an eestream key file (not JSON)");
        }
        if (!json.has("format") || !FORMAT.equals(json.get("format").getAsString())) {
            throw new EeException(file + " is not an eestream key file (no \"format\": \"" + FORMAT + "\")");
        }
        int version = json.has("version") ? json.get("version").getAsInt() : -1;
        if (version != VERSION) {
            throw new EeException(file + " is a key file of version " + version + "; this eestream reads version " + VERSION);
        }
        String keyId = json.get("keyId").getAsString();
        byte[] secret;
        if (json.has("secret")) {
            secret = decodeBase64(json.get("secret").getAsString(), file);
        } else if (json.has("sealed")) {
            if (passphrase == null) {
                throw EeException.fixedBy("passphrase", "key file " + file + " is passphrase-protected and no passphrase was given");
            }
            secret = unseal(json.getAsJsonObject("sealed"), passphrase, keyId, file);
        } else {
            throw new EeException(file + " is not an eestream key file (no secret)");
        }
        try {
            if (secret.length != EeKey.SECRET_BYTES) {
                throw new EeException(file + " is not an eestream key file (secret of " + secret.length + " bytes)");
            }
            EeKey key = EeKey.fromSecret(secret);
            if (!key.keyId().equals(keyId)) {
                throw new EeException("key file " + file + " is damaged: its key id does not match its secret");
            }
            return key;
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    private static JsonObject seal(byte[] secret, char[] passphrase, String keyId) {
        SecureRandom random = new SecureRandom();
        byte[] salt = new byte[16];
        byte[] nonce = new byte[12];
        random.nextBytes(salt);
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, deriveAesKey(passphrase, salt, PBKDF2_ITERATIONS), new GCMParameterSpec(128, nonce));
            cipher.updateAAD(aad(keyId));
            byte[] sealed = cipher.doFinal(secret);
            JsonObject out = new JsonObject();
            out.addProperty("kdf", "PBKDF2WithHmacSHA256");
            out.addProperty("iterations", PBKDF2_ITERATIONS);
            out.addProperty("salt", Base64.getEncoder().encodeToString(salt));
            out.addProperty("cipher", "AES-256-GCM");
            out.addProperty("nonce", Base64.getEncoder().encodeToString(nonce));
            out.addProperty("ciphertext", Base64.getEncoder().encodeToString(sealed));
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available in this JVM", e);
        }
    }

    private static byte[] unseal(JsonObject sealed, char[] passphrase, String keyId, Path file) {
        try {
            if (!"PBKDF2WithHmacSHA256".equals(sealed.get("kdf").getAsString())
                    || !"AES-256-GCM".equals(sealed.get("cipher").getAsString())) {
                throw new EeException("key file " + file + " uses an unknown protection scheme");
            }
            int iterations = sealed.get("iterations").getAsInt();
            if (iterations < 10_000 || iterations > 10_000_000) {
                throw new EeException("key file " + file + " has an implausible PBKDF2 iteration count " + iterations);
            }
            byte[] salt = decodeBase64(sealed.get("salt").getAsString(), file);
            byte[] nonce = decodeBase64(sealed.get("nonce").getAsString(), file);
            byte[] ciphertext = decodeBase64(sealed.get("ciphertext").getAsString(), file);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, deriveAesKey(passphrase, salt, iterations), new GCMParameterSpec(128, nonce));
            cipher.updateAAD(aad(keyId));
            return cipher.doFinal(ciphertext);
        } catch (AEADBadTagException e) {
            throw new EeException("wrong passphrase for key file " + file + " (or the file was altered)");
        } catch (GeneralSecurityException e) {
            throw new EeException("cannot open key file " + file + ": " + e.getMessage(), e);
        } catch (NullPointerException | UnsupportedOperationException | IllegalStateException e) {
            throw new EeException(file + " is not an eestream key file (incomplete \"sealed\" section)");
        }
    }

    private static SecretKeySpec deriveAesKey(char[] passphrase, byte[] salt, int iterations) throws GeneralSecurityException {
        PBEKeySpec spec = new PBEKeySpec(passphrase, salt, iterations, 256);
        try {
            byte[] key = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            return new SecretKeySpec(key, "AES");
        } finally {
            spec.clearPassword();
        }
    }

    private static byte[] aad(String keyId) {
        return (FORMAT + "/" + VERSION + "/" + keyId).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] decodeBase64(String text, Path file) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new EeException(file + " is not an eestream key file (bad base64)");
        }
    }
}
