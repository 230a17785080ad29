package dev.eestream.runtime;

import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tiny EE embed model (vocabulary 50, hidden 16, 32 positions, ρ applied) as the server gets it:
 * a bundle kept as a test resource, so server-side tests need no key code to make one. ee-core's
 * {@code TinyBundleResourceTest} regenerates it from the tiny encoder and checks it is unchanged.
 */
public final class TinyBundle {
    /** Where the resource lives in this module's sources, relative to the project root. */
    public static final String SOURCE_DIR = "ee-runtime/src/test/resources/dev/eestream/runtime/tiny-embed";
    public static final String MODEL_ID = "tiny-embed";

    private static final Path RESOURCE = resourceDir();

    private TinyBundle() {
    }

    public static ModelManifest manifest() {
        try {
            return ModelBundle.at(RESOURCE).readManifest();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] modelBytes() {
        try {
            return ModelBundle.at(RESOURCE).readModel();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the bundle as {@code modelsDir/modelId}, its manifest naming {@code modelId}. */
    public static ModelManifest writeTo(Path modelsDir, String modelId) throws IOException {
        ModelManifest renamed = manifest().withModelId(modelId);
        ModelBundle.in(modelsDir, modelId).write(modelBytes(), renamed, false);
        return renamed;
    }

    private static Path resourceDir() {
        // Copied out of the (test-)jar or class directory once, so ModelBundle reads it like any bundle.
        try {
            Path dir = Files.createTempDirectory("eestream-tiny-bundle-");
            dir.toFile().deleteOnExit();
            for (String name : new String[] {ModelBundle.MODEL_FILE, ModelBundle.MANIFEST_FILE}) {
                try (InputStream in = TinyBundle.class.getResourceAsStream("tiny-embed/" + name)) {
                    if (in == null) {
                        throw new IllegalStateException("test resource tiny-embed/" + name + " is missing");
                    }
                    Path file = dir.resolve(name);
                    Files.copy(in, file);
                    file.toFile().deleteOnExit();
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
