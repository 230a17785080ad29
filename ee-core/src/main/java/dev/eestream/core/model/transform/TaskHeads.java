package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.NodeFactory;
import dev.eestream.core.model.onnx.OnnxTensors;

/** The heads eestream appends inside the graph, so the server only ever emits the task's output. */
final class TaskHeads {
    static final String EMBEDDING_OUTPUT = "embedding";
    static final String SCORES_OUTPUT = "scores";

    private TaskHeads() {
    }

    /** The sentence embedding [batch, d]: the states pooled as {@code pooling} says, then L2-normalised. */
    static String poolNormalize(MutableGraph g, String hidden, String mask, Pooling pooling) {
        return pooling == Pooling.CLS ? clsPoolNormalize(g, hidden) : meanPoolNormalize(g, hidden, mask);
    }

    /** The first position's state (BGE's [CLS] pooling), {@code e = h₀ / max(‖h₀‖, 1e-12)}. */
    static String clsPoolNormalize(MutableGraph g, String hidden) {
        NodeFactory f = new NodeFactory(g);
        String first = g.freshName("cls_position");
        g.putInitializer(OnnxTensors.longTensor(first, new long[0], new long[] {0}));
        String cls = g.freshName("cls_state");
        g.addNode(ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setOpType("Gather").setName(cls).addInput(hidden).addInput(first)
                .addOutput(cls).addAttribute(dev.eestream.core.model.onnx.OnnxAttributes.intAttr("axis", 1)).build());
        String norm = f.op("Sqrt", f.reduceSum(f.op("Mul", cls, cls), -1, true));
        return f.op("Div", cls, f.op("Max", norm, f.scalar("min_norm", 1e-12f)));
    }

    /**
     * Masked mean pooling over the sequence and L2 normalisation, as sentence-transformers does:
     * {@code mean = Σ h·m / max(Σ m, 1e-9)}, {@code e = mean / max(‖mean‖, 1e-12)}. Returns the [batch, d] tensor.
     */
    static String meanPoolNormalize(MutableGraph g, String hidden, String mask) {
        NodeFactory f = new NodeFactory(g);
        String m = f.cast(f.unsqueeze(mask, -1), TensorProto.DataType.FLOAT_VALUE);
        String sum = f.reduceSum(f.op("Mul", hidden, m), 1, false);
        String count = f.op("Max", f.reduceSum(m, 1, false), f.scalar("min_count", 1e-9f));
        String mean = f.op("Div", sum, count);
        String norm = f.op("Sqrt", f.reduceSum(f.op("Mul", mean, mean), -1, true));
        return f.op("Div", mean, f.op("Max", norm, f.scalar("min_norm", 1e-12f)));
    }

    /**
     * {@code tensor}, a graph output, as float32: a float16 (or bfloat16, double) model's output gets a Cast, which
     * float16 and bfloat16 values survive exactly, so heads and sessions work in float32 alike.
     */
    static String asFloat(MutableGraph g, String tensor) {
        int type = g.outputs().stream().filter(o -> o.getName().equals(tensor)).findFirst()
                .map(o -> o.getType().getTensorType().getElemType()).orElse(TensorProto.DataType.FLOAT_VALUE);
        if (type == TensorProto.DataType.FLOAT_VALUE || type == TensorProto.DataType.UNDEFINED_VALUE) {
            return tensor;
        }
        // The float32 copy may take the output's name (a classifier's logits), so the original gets another.
        String narrow = g.freshName("float16_output");
        g.renameTensor(tensor, narrow);
        return new NodeFactory(g).cast(narrow, TensorProto.DataType.FLOAT_VALUE);
    }

    /** Cosine scores against unit-length label prototypes: {@code embedding · Pᵀ}, [batch, C]. */
    static String zeroShotScores(MutableGraph g, String embedding, float[][] prototypes) {
        int c = prototypes.length;
        int d = prototypes[0].length;
        float[] pt = new float[d * c];
        for (int j = 0; j < c; j++) {
            for (int k = 0; k < d; k++) {
                pt[k * c + j] = prototypes[j][k];
            }
        }
        String name = g.freshName("label_prototypes");
        g.putInitializer(OnnxTensors.floatTensor(name, new long[] {d, c}, pt));
        return new NodeFactory(g).op("MatMul", embedding, name);
    }

    /**
     * Keeps only graph output {@code tensor}, exposed as {@code firstName} (through an Identity when
     * the names differ), followed by the outputs named in {@code rest}; drops every other output.
     */
    static void keepOutputs(MutableGraph g, String tensor, String firstName, java.util.List<String> rest) {
        java.util.List<ValueInfoProto> kept = new java.util.ArrayList<>();
        ValueInfoProto first = g.outputs().stream().filter(o -> o.getName().equals(tensor)).findFirst().orElseThrow();
        if (!tensor.equals(firstName)) {
            g.addNode(ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("ee/" + firstName)
                    .addInput(tensor).addOutput(firstName).build());
            first = first.toBuilder().setName(firstName).build();
        }
        kept.add(first);
        for (String name : rest) {
            kept.add(g.outputs().stream().filter(o -> o.getName().equals(name)).findFirst().orElseThrow());
        }
        g.outputs().clear();
        g.outputs().addAll(kept);
    }

    /** Sets axis {@code axis} of graph output {@code name} to {@code size} where its declared shape fixes it. */
    static void resizeOutput(MutableGraph g, String name, int axis, long size) {
        for (int i = 0; i < g.outputs().size(); i++) {
            ValueInfoProto o = g.outputs().get(i);
            if (o.getName().equals(name) && o.getType().getTensorType().getShape().getDimCount() > axis
                    && o.getType().getTensorType().getShape().getDim(axis).hasDimValue()) {
                ValueInfoProto.Builder b = o.toBuilder();
                b.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(axis).setDimValue(size);
                g.outputs().set(i, b.build());
            }
        }
    }

    /** Renames {@code tensor} to {@code outputName} with an Identity and makes it the graph's only output. */
    static void exposeOnly(MutableGraph g, String tensor, String outputName, Object... dims) {
        if (!tensor.equals(outputName)) {
            g.addNode(ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("ee/" + outputName)
                    .addInput(tensor).addOutput(outputName).build());
        }
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            shape.addDim(d instanceof Number n ? TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue())
                    : TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
        }
        ValueInfoProto out = ValueInfoProto.newBuilder().setName(outputName).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
                .build();
        g.outputs().clear();
        g.outputs().add(out);
    }
}
