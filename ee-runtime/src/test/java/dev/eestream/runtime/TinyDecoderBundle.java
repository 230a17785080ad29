package dev.eestream.runtime;

import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A tiny EE decoder (Llama-style, random weights: vocabulary 64, hidden 32, 2 layers, 4 heads / 2 KV
 * heads, context 48) as the server gets it, beside the same decoder transformed without a key (the
 * plaintext reference) and the key's vocabulary permutation π. ee-core's
 * {@code TinyDecoderBundleResourceTest} regenerates all three with a fixed key and checks them.
 *
 * <p>π is test data only, so that a test can compare EE tokens with plaintext ones; no key and no
 * key code is on the processor's classpath.
 */
public final class TinyDecoderBundle {
    public static final String MODEL_ID = "tiny-decoder";
    public static final String PLAIN_MODEL_ID = "tiny-decoder-plain";

    private static final Path EE = copied(MODEL_ID);
    private static final Path PLAIN = copied(PLAIN_MODEL_ID);

    private TinyDecoderBundle() {
    }

    public static ModelManifest manifest() {
        return read(EE).manifest;
    }

    /** Writes the EE bundle as {@code modelsDir/modelId}, its manifest naming {@code modelId}. */
    public static ModelManifest writeTo(Path modelsDir, String modelId) throws IOException {
        Loaded ee = read(EE);
        ModelManifest renamed = ee.manifest.withModelId(modelId);
        ModelBundle.in(modelsDir, modelId).write(ee.model, renamed, false);
        return renamed;
    }

    public static byte[] modelBytes() {
        return read(EE).model;
    }

    public static byte[] plainModelBytes() {
        return read(PLAIN).model;
    }

    public static ModelManifest plainManifest() {
        return read(PLAIN).manifest;
    }

    /** π: {@code pi()[t]} is the ciphertext of plaintext id t. */
    public static int[] pi() {
        try (InputStream in = TinyDecoderBundle.class.getResourceAsStream("tiny-decoder-pi.json")) {
            if (in == null) {
                throw new IllegalStateException("test resource tiny-decoder-pi.json is missing");
            }
            String json = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            return Arrays.stream(json.substring(1, json.length() - 1).split(",")).map(String::trim)
                    .mapToInt(Integer::parseInt).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Loaded(ModelManifest manifest, byte[] model) {
    }

    private static Loaded read(Path dir) {
        try {
            ModelBundle b = ModelBundle.at(dir);
            return new Loaded(b.readManifest(), b.readModel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path copied(String name) {
        // Copied out of the (test-)jar or class directory once, so ModelBundle reads it like any bundle.
        try {
            Path dir = Files.createTempDirectory("eestream-" + name + "-");
            dir.toFile().deleteOnExit();
            for (String file : new String[] {ModelBundle.MODEL_FILE, ModelBundle.MANIFEST_FILE}) {
                try (InputStream in = TinyDecoderBundle.class.getResourceAsStream(name + "/" + file)) {
                    if (in == null) {
                        throw new IllegalStateException("test resource " + name + "/" + file + " is missing");
                    }
                    Path target = dir.resolve(file);
                    Files.copy(in, target);
                    target.toFile().deleteOnExit();
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
