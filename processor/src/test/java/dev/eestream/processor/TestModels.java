package dev.eestream.processor;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.Task;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes EE models into a model directory the way `eestream encrypt-model` lays them out. */
public final class TestModels {
    private TestModels() {
    }

    /** A tiny encoder as an EE embed model (with ρ) under {@code dir/modelId}. */
    public static ModelTransformer.Result writeTinyEmbed(Path dir, String modelId, EeKey key) throws IOException {
        ModelTransformer.Result r = ModelTransformer.transform(TinyModels.encoder(7, null),
                TransformSpec.builder(Task.EMBED).key(key).modelId(modelId).build());
        write(dir, r);
        return r;
    }

    public static void write(Path dir, ModelTransformer.Result r) throws IOException {
        Path modelDir = dir.resolve(r.manifest().modelId());
        Files.createDirectories(modelDir);
        Files.write(modelDir.resolve("model.onnx"), r.modelBytes());
        r.manifest().write(modelDir.resolve("manifest.json"));
    }
}
