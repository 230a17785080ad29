package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.eestream.core.model.transform.ModelTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * ONNX Runtime's own offline optimizer, as a user runs it: a session created with an optimized-model path writes the
 * graph it would run. Its fusions depend on what it can infer of shapes (SkipLayerNormalization, for one, only fuses
 * when the sequence length is a number), so symbolic dimensions may be fixed as ORT's session option does it.
 */
final class OrtOptimizer {
    private OrtOptimizer() {
    }

    /** The graph ORT's EXTENDED level makes of {@code model}, with the named symbolic dimensions fixed. */
    static ModelProto extended(ModelProto model, Map<String, Long> fixedDims) throws Exception {
        Path dir = Files.createTempDirectory("ort-optimized");
        Path source = dir.resolve("model.onnx");
        Path optimized = dir.resolve("optimized.onnx");
        try {
            Files.write(source, model.toByteArray());
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
                options.setOptimizedModelFilePath(optimized.toString());
                for (Map.Entry<String, Long> d : fixedDims.entrySet()) {
                    options.setSymbolicDimensionValue(d.getKey(), d.getValue());
                }
                OrtEnvironment.getEnvironment().createSession(source.toString(), options).close();
            }
            return ModelTransformer.read(optimized);
        } finally {
            Files.deleteIfExists(source);
            Files.deleteIfExists(optimized);
            Files.deleteIfExists(dir);
        }
    }

    /** The op types of {@code model}'s nodes, as "domain:Op" for contrib ops and "Op" for standard ones. */
    static Set<String> opTypes(ModelProto model) {
        Set<String> ops = new TreeSet<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            ops.add(n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx") ? n.getOpType() : n.getDomain() + ":" + n.getOpType());
        }
        return ops;
    }
}
