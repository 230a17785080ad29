package dev.eestream.ops.support;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/** A plaintext model named on the command line: a bundled model's id, or a path to an .onnx file. */
public final class SourceModels {
    private SourceModels() {
    }

    /** The model, with its external data files read from beside it. */
    public static ModelProto read(String model) throws IOException {
        Optional<BundledModel> bundled = BundledModel.byId(model);
        if (bundled.isEmpty()) {
            return ModelTransformer.read(Path.of(model));
        }
        try (InputStream in = bundled.get().openModel()) {
            return ModelTransformer.read(in, "bundled model " + model);
        }
    }

    /** The tokenizer asked for, else the bundled model's own; a model given by path needs one. */
    public static String tokenizerFor(String model, String tokenizer) {
        if (tokenizer != null) {
            return tokenizer;
        }
        return BundledModel.byId(model).map(BundledModel::id).orElseThrow(
                () -> new EeException("--tokenizer is required for a model given by path"));
    }
}
