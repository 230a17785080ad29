package dev.eestream.runtime.model;

import dev.eestream.runtime.EeException;
import dev.eestream.runtime.io.SafeFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One EE model on disk, the only place that knows the layout: {@code DIR/model.onnx} beside
 * {@code DIR/manifest.json}; a processor's model directory holds one such DIR per model id
 * ({@code <models>/<id>/}). A model over protobuf's 2 GB limit keeps its large weights in
 * {@code DIR/model.onnx_data} (ONNX external data), which ONNX Runtime reads relative to the model
 * file. The data file is written first, then the model file, and the manifest last, each whole or not
 * at all, so a processor that scans while a bundle is being written never loads half a model.
 */
public final class ModelBundle {
    public static final String MODEL_FILE = "model.onnx";
    public static final String MANIFEST_FILE = "manifest.json";
    /** The external-data file, named as optimum names its own. */
    public static final String DATA_FILE = "model.onnx_data";

    private final Path dir;

    private ModelBundle(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    /** The bundle in {@code dir} (which need not exist yet). */
    public static ModelBundle at(Path dir) {
        return new ModelBundle(dir);
    }

    /** The bundle of {@code modelId} in a processor's model directory. */
    public static ModelBundle in(Path modelsDir, String modelId) {
        return new ModelBundle(modelsDir.resolve(modelId));
    }

    public Path dir() {
        return dir;
    }

    public Path modelFile() {
        return dir.resolve(MODEL_FILE);
    }

    public Path dataFile() {
        return dir.resolve(DATA_FILE);
    }

    public Path manifestFile() {
        return dir.resolve(MANIFEST_FILE);
    }

    /** Whether either file is there: a bundle, or half of one that should not be overwritten unasked. */
    public boolean existsAny() {
        return Files.exists(modelFile()) || Files.exists(manifestFile()) || hasData();
    }

    /** Whether both files are there: a processor loads a bundle only then. */
    public boolean isComplete() {
        return Files.exists(modelFile()) && Files.exists(manifestFile());
    }

    /**
     * Writes the model, then its manifest (readable by all: nothing in either decrypts anything).
     *
     * @param overwrite replace an existing bundle; otherwise an existing file is an {@link EeException}
     */
    public ModelBundle write(byte[] model, ModelManifest manifest, boolean overwrite) throws IOException {
        return write(model, null, manifest, overwrite);
    }

    /**
     * Writes the external data (when there is any), the model that refers to it, then the manifest. A
     * self-contained model removes a data file left by an earlier model in the same directory.
     *
     * @param data the content of {@link #dataFile()}, or null for a self-contained model
     */
    public ModelBundle write(byte[] model, SafeFiles.Content data, ModelManifest manifest, boolean overwrite) throws IOException {
        Files.createDirectories(dir);
        if (data != null) {
            SafeFiles.write(dataFile(), data, false, overwrite);
        }
        SafeFiles.write(modelFile(), model, false, overwrite);
        if (data == null) {
            Files.deleteIfExists(dataFile());
        }
        SafeFiles.write(manifestFile(), manifest.toJson().getBytes(StandardCharsets.UTF_8), false, overwrite);
        return this;
    }

    /** Whether the model keeps weights in {@link #dataFile()}. */
    public boolean hasData() {
        return Files.exists(dataFile());
    }

    /** Bytes on disk of the model file and its data file. */
    public long modelSize() throws IOException {
        return Files.size(modelFile()) + (hasData() ? Files.size(dataFile()) : 0);
    }

    public ModelManifest readManifest() throws IOException {
        return ModelManifest.read(manifestFile());
    }

    public byte[] readModel() throws IOException {
        return Files.readAllBytes(modelFile());
    }

    /** Size and modification time of the model file: a broken file that has not changed is not retried. */
    public String modelStamp() {
        try {
            String stamp = Files.getLastModifiedTime(modelFile()) + "/" + Files.size(modelFile());
            return hasData() ? stamp + "+" + Files.getLastModifiedTime(dataFile()) + "/" + Files.size(dataFile()) : stamp;
        } catch (IOException e) {
            return "unreadable";
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
