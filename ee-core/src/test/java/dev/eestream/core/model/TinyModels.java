package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intsAttr;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.synthetic.SyntheticGraph;
import java.util.List;
import java.util.Random;

/** Small transformers with random weights, built in code to exercise the transform on other architectures. */
public final class TinyModels {
    public static final int ENCODER_VOCAB = 50;
    public static final int HIDDEN = 16;
    public static final int HEADS = 2;
    public static final int MAX_POSITIONS = 32;

    private TinyModels() {
    }

    /**
     * A BERT-like encoder (opset 17): word + position embeddings, LayerNormalization, masked
     * multi-head attention, Erf-GELU feed-forward, residuals; output last_hidden_state [B, S, d].
     * With {@code extraOp} non-null, a node of that op type named "suspicious" is applied to the
     * residual stream after the first LayerNorm.
     */
    public static ModelProto encoder(long seed, String extraOp) {
        Builder b = new Builder(seed, 17);
        b.output(b.identity(encoderBody(b, extraOp, false), "last_hidden_state"), "batch", "sequence", HIDDEN);
        return b.build();
    }

    /**
     * The encoder's inputs and layers, in {@code b}; returns the last hidden states [B, S, d]. With
     * {@code tokenTypes}, a {@code token_type_ids} input and its embedding table join the embeddings, as in BERT.
     */
    static String encoderBody(Builder b, String extraOp, boolean tokenTypes) {
        b.input("input_ids", TensorProto.DataType.INT64_VALUE, "batch", "sequence");
        b.input("attention_mask", TensorProto.DataType.INT64_VALUE, "batch", "sequence");
        if (tokenTypes) {
            b.input("token_type_ids", TensorProto.DataType.INT64_VALUE, "batch", "sequence");
        }
        String words = b.gather(b.random("word_embeddings", ENCODER_VOCAB, HIDDEN), "input_ids");
        String positions = b.node("Slice", b.longs("position_ids", new long[] {1, MAX_POSITIONS}, range(MAX_POSITIONS)),
                b.longs("zero", new long[] {1}, 0), b.node("Gather", b.node("Shape", "input_ids"), b.longs("one", new long[] {1}, 1)),
                b.longs("axis1", new long[] {1}, 1));
        String x = b.node("Add", words, b.gather(b.random("position_embeddings", MAX_POSITIONS, HIDDEN), positions));
        if (tokenTypes) {
            x = b.node("Add", x, b.gather(b.random("token_type_embeddings", 2, HIDDEN), "token_type_ids"));
        }
        x = b.layerNorm(x);
        if (extraOp != null) {
            x = b.named("suspicious", extraOp, x, b.longs("axis_last", new long[0], -1));
        }
        String maskBias = b.node("Mul", b.node("Sub", b.scalar(1f), b.cast(b.unsqueeze(b.unsqueeze("attention_mask", 1), 2))),
                b.scalar(-10000f));
        x = b.layerNorm(b.node("Add", x, b.attention(x, maskBias)));
        String up = b.node("Add", b.node("MatMul", x, b.random("ffn_in", HIDDEN, 4 * HIDDEN)), b.random("ffn_in_bias", 4 * HIDDEN));
        String gelu = b.node("Mul", b.node("Mul", up, b.node("Add", b.node("Erf", b.node("Div", up, b.scalar((float) Math.sqrt(2)))),
                b.scalar(1f))), b.scalar(0.5f));
        String down = b.node("Add", b.random("ffn_out_bias", HIDDEN), b.node("MatMul", gelu, b.random("ffn_out", 4 * HIDDEN, HIDDEN)));
        return b.layerNorm(b.node("Add", down, x));
    }

    /** One encoder layer's weights, so a model can share them between layers (ALBERT). */
    record LayerWeights(String[] qkv, String[] qkvBias, String out, String outBias, String ffnIn, String ffnInBias,
            String ffnOut, String ffnOutBias) {
        static LayerWeights random(Builder b) {
            String[] w = new String[3];
            String[] bias = new String[3];
            for (int i = 0; i < 3; i++) {
                w[i] = b.random("attn_w" + b.counter++, HIDDEN, HIDDEN);
                bias[i] = b.random("attn_b" + b.counter++, HIDDEN);
            }
            return new LayerWeights(w, bias, b.random("attn_out" + b.counter++, HIDDEN, HIDDEN),
                    b.random("attn_out_b" + b.counter++, HIDDEN), b.random("ffn_in" + b.counter++, HIDDEN, 4 * HIDDEN),
                    b.random("ffn_in_bias" + b.counter++, 4 * HIDDEN), b.random("ffn_out" + b.counter++, 4 * HIDDEN, HIDDEN),
                    b.random("ffn_out_bias" + b.counter++, HIDDEN));
        }
    }

    /** A post-norm encoder layer with fresh weights; see {@link #layer(Builder, String, String, LayerWeights, String)}. */
    static String layer(Builder b, String x, String scoreBias, String relEmbeddings) {
        return layer(b, x, scoreBias, LayerWeights.random(b), relEmbeddings);
    }

    /**
     * A post-norm encoder layer (attention, residual, LayerNorm, Erf-GELU feed-forward, residual, LayerNorm).
     * {@code scoreBias} is added to the attention scores; with {@code relEmbeddings} [2k, d], the attention is
     * DeBERTa's disentangled one.
     */
    static String layer(Builder b, String x, String scoreBias, LayerWeights w, String relEmbeddings) {
        String attended = relEmbeddings == null ? b.attention(x, scoreBias, w) : b.disentangledAttention(x, scoreBias, w, relEmbeddings);
        x = b.layerNorm(b.node("Add", x, attended));
        String up = b.node("Add", b.node("MatMul", x, w.ffnIn()), w.ffnInBias());
        String gelu = b.node("Mul", b.node("Mul", up, b.node("Add", b.node("Erf", b.node("Div", up, b.scalar((float) Math.sqrt(2)))),
                b.scalar(1f))), b.scalar(0.5f));
        String down = b.node("Add", w.ffnOutBias(), b.node("MatMul", gelu, w.ffnOut()));
        return b.layerNorm(b.node("Add", down, x));
    }

    private static long[] range(int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    /** A minimal ONNX graph builder for tests. */
    static final class Builder {
        private final Random random;
        private final int opset;
        private final GraphProto.Builder graph = GraphProto.newBuilder().setName("tiny");
        private int counter;
        private boolean spelledOut;

        Builder(long seed, int opset) {
            this.random = new Random(seed);
            this.opset = opset;
        }

        void input(String name, int type, Object... dims) {
            graph.addInput(SyntheticGraph.valueInfo(name, type, dims));
        }

        void output(String name, Object... dims) {
            graph.addOutput(SyntheticGraph.valueInfo(name, TensorProto.DataType.FLOAT_VALUE, dims));
        }

        String random(String name, int... dims) {
            int n = 1;
            long[] d = new long[dims.length];
            for (int i = 0; i < dims.length; i++) {
                n *= dims[i];
                d[i] = dims[i];
            }
            float[] v = new float[n];
            double scale = 1.0 / Math.sqrt(dims[0]);
            for (int i = 0; i < n; i++) {
                v[i] = (float) (random.nextGaussian() * scale);
            }
            return floats(name, d, v);
        }

        String floats(String name, long[] dims, float[] values) {
            graph.addInitializer(OnnxTensors.floatTensor(name, dims, values));
            return name;
        }

        String longs(String name, long[] dims, long... values) {
            String unique = name + "_" + (counter++);
            graph.addInitializer(OnnxTensors.longTensor(unique, dims, values));
            return unique;
        }

        String scalar(float v) {
            return floats("c" + (counter++), new long[0], new float[] {v});
        }

        String node(String op, String... inputs) {
            return named(op.toLowerCase() + "_" + (counter++), op, inputs);
        }

        String named(String name, String op, String... inputs) {
            graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs)).addOutput(name));
            return name;
        }

        /** A node whose output is named {@code name} (e.g. a graph output) with attributes. */
        String namedWith(String name, String op, List<AttributeProto> attrs, String... inputs) {
            graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs)).addOutput(name)
                    .addAllAttribute(attrs));
            return name;
        }

        /** A node with {@code outputs} outputs, e.g. Split. */
        String[] multi(String op, List<AttributeProto> attrs, int outputs, String... inputs) {
            String name = op.toLowerCase() + "_" + (counter++);
            NodeProto.Builder n = NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs))
                    .addAllAttribute(attrs);
            String[] out = new String[outputs];
            for (int i = 0; i < outputs; i++) {
                out[i] = name + "_out" + i;
                n.addOutput(out[i]);
            }
            graph.addNode(n);
            return out;
        }

        /** Random normal values with standard deviation {@code std}. */
        String gaussian(String name, double std, int... dims) {
            return gaussianAround(name, 0, std, dims);
        }

        /** Random normal values with mean {@code mean} and standard deviation {@code std}. */
        String gaussianAround(String name, double mean, double std, int... dims) {
            int n = 1;
            long[] d = new long[dims.length];
            for (int i = 0; i < dims.length; i++) {
                n *= dims[i];
                d[i] = dims[i];
            }
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (mean + random.nextGaussian() * std);
            }
            return floats(name, d, v);
        }

        String nodeWith(String op, List<AttributeProto> attrs, String... inputs) {
            String name = op.toLowerCase() + "_" + (counter++);
            graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs)).addOutput(name)
                    .addAllAttribute(attrs));
            return name;
        }

        String gather(String table, String ids) {
            return node("Gather", table, ids);
        }

        String cast(String x) {
            return nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.FLOAT_VALUE)), x);
        }

        String unsqueeze(String x, long axis) {
            return opset >= 13 ? node("Unsqueeze", x, longs("axes", new long[] {1}, axis))
                    : nodeWith("Unsqueeze", List.of(intsAttr("axes", axis)), x);
        }

        String transpose(String x, long... perm) {
            return nodeWith("Transpose", List.of(intsAttr("perm", perm)), x);
        }

        String identity(String x, String name) {
            return identityNamed(x, name);
        }

        String identityNamed(String x, String name) {
            graph.addNode(NodeProto.newBuilder().setName(name).setOpType("Identity").addInput(x).addOutput(name));
            return name;
        }

        /** LayerNorm spelled out in ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add, as older exporters emit it. */
        Builder spelledOutLayerNorm() {
            spelledOut = true;
            return this;
        }

        /** ReduceMean over the last axis, keeping it: axes an attribute before opset 18, an input from it on. */
        String meanOverLastAxis(String x) {
            return opset >= 18 ? nodeWith("ReduceMean", List.of(intAttr("keepdims", 1)), x, longs("mean_axes", new long[] {1}, -1))
                    : nodeWith("ReduceMean", List.of(intsAttr("axes", -1), intAttr("keepdims", 1)), x);
        }

        String cast64(String x) {
            return nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.INT64_VALUE)), x);
        }

        String layerNorm(String x) {
            if (spelledOut) {
                String centred = node("Sub", x, meanOverLastAxis(x));
                String variance = meanOverLastAxis(node("Pow", centred, scalar(2f)));
                String normalised = node("Div", centred, node("Sqrt", node("Add", variance, scalar(1e-12f))));
                return node("Add", node("Mul", normalised, gammaLike("ln_gamma")), random("ln_beta" + (counter++), HIDDEN));
            }
            return nodeWith("LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-12f)), x,
                    gammaLike("ln_gamma"), random("ln_beta" + (counter++), HIDDEN));
        }

        String rmsNorm(String x) {
            String ms = nodeWith("ReduceMean", List.of(intsAttr("axes", -1), intAttr("keepdims", 1)), node("Pow", x, scalar(2f)));
            String rms = node("Sqrt", node("Add", ms, scalar(1e-6f)));
            return node("Mul", node("Div", x, rms), gammaLike("rms_gamma"));
        }

        private String gammaLike(String name) {
            float[] g = new float[HIDDEN];
            for (int i = 0; i < HIDDEN; i++) {
                g[i] = 1f + 0.1f * (float) random.nextGaussian();
            }
            return floats(name + "_" + (counter++), new long[] {HIDDEN}, g);
        }

        /** Multi-head self-attention on [B, S, d]; {@code maskBias} is added to the scores. */
        String attention(String x, String maskBias) {
            int dh = HIDDEN / HEADS;
            String shape = longs("heads_shape", new long[] {4}, 0, 0, HEADS, dh);
            String[] qkv = new String[3];
            for (int i = 0; i < 3; i++) {
                String proj = node("Add", random("attn_b" + (counter++), HIDDEN), node("MatMul", x, random("attn_w" + (counter++), HIDDEN, HIDDEN)));
                qkv[i] = transpose(node("Reshape", proj, shape), 0, 2, 1, 3);
            }
            String scores = node("Div", node("MatMul", qkv[0], transpose(qkv[1], 0, 1, 3, 2)), scalar((float) Math.sqrt(dh)));
            String probs = nodeWith("Softmax", List.of(intAttr("axis", -1)), node("Add", scores, maskBias));
            String ctx = node("Reshape", transpose(node("MatMul", probs, qkv[2]), 0, 2, 1, 3),
                    longs("merge_shape", new long[] {3}, 0, 0, HIDDEN));
            return node("Add", node("MatMul", ctx, random("attn_out" + (counter++), HIDDEN, HIDDEN)), random("attn_out_b" + (counter++), HIDDEN));
        }

        /** Multi-head self-attention with the given weights. */
        String attention(String x, String scoreBias, LayerWeights w) {
            String[] qkv = new String[3];
            for (int i = 0; i < 3; i++) {
                qkv[i] = heads(node("Add", w.qkvBias()[i], node("MatMul", x, w.qkv()[i])));
            }
            String scores = node("Div", node("MatMul", qkv[0], transpose(qkv[1], 0, 1, 3, 2)), scalar((float) Math.sqrt(HIDDEN / HEADS)));
            return attend(scores, scoreBias, qkv[2], w);
        }

        /**
         * DeBERTa-v2's disentangled attention (share_att_key): content-to-content scores, plus content-to-position
         * (queries against the relative embeddings through the key projection) and position-to-content (keys
         * against them through the query projection), each picked at the clipped relative distance by GatherElements.
         */
        String disentangledAttention(String x, String scoreBias, LayerWeights w, String relEmbeddings) {
            int dh = HIDDEN / HEADS;
            int span = TinyEncoderFamilies.RELATIVE_SPAN;
            String[] qkv = new String[3];
            for (int i = 0; i < 3; i++) {
                qkv[i] = heads(node("Add", w.qkvBias()[i], node("MatMul", x, w.qkv()[i])));
            }
            // [2k, d] → [heads, 2k, dh], through the same projections as the content.
            String posKey = transpose(node("Reshape", node("Add", w.qkvBias()[1], node("MatMul", relEmbeddings, w.qkv()[1])),
                    longs("rel_heads", new long[] {3}, 2 * span, HEADS, dh)), 1, 0, 2);
            String posQuery = transpose(node("Reshape", node("Add", w.qkvBias()[0], node("MatMul", relEmbeddings, w.qkv()[0])),
                    longs("rel_heads", new long[] {3}, 2 * span, HEADS, dh)), 1, 0, 2);
            String length = node("Gather", node("Shape", x), longs("seq_axis", new long[0], 1));
            String range = node("Range", longs("range_start", new long[0], 0), length, longs("range_step", new long[0], 1));
            String relative = node("Sub", unsqueeze(range, 1), unsqueeze(range, 0));
            String scoresShape = node("Shape", node("MatMul", qkv[0], transpose(qkv[1], 0, 1, 3, 2)));
            String c2pIndex = node("Expand", clip(node("Add", relative, longs("span", new long[0], span)), span), scoresShape);
            String p2cIndex = node("Expand", clip(node("Sub", longs("span", new long[0], span), relative), span), scoresShape);
            String c2c = node("MatMul", qkv[0], transpose(qkv[1], 0, 1, 3, 2));
            String c2p = nodeWith("GatherElements", List.of(intAttr("axis", -1)),
                    node("MatMul", qkv[0], transpose(posKey, 0, 2, 1)), c2pIndex);
            String p2c = transpose(nodeWith("GatherElements", List.of(intAttr("axis", -1)),
                    node("MatMul", qkv[1], transpose(posQuery, 0, 2, 1)), p2cIndex), 0, 1, 3, 2);
            String scores = node("Div", node("Add", node("Add", c2c, c2p), p2c), scalar((float) Math.sqrt(3.0 * dh)));
            return attend(scores, scoreBias, qkv[2], w);
        }

        private String clip(String relative, int span) {
            return node("Max", node("Min", relative, longs("clip_high", new long[0], 2L * span - 1)), longs("clip_low", new long[0], 0));
        }

        /** [B, S, d] → [B, heads, S, dh]. */
        private String heads(String x) {
            return transpose(node("Reshape", x, longs("heads_shape", new long[] {4}, 0, 0, HEADS, HIDDEN / HEADS)), 0, 2, 1, 3);
        }

        private String attend(String scores, String scoreBias, String values, LayerWeights w) {
            String probs = nodeWith("Softmax", List.of(intAttr("axis", -1)), node("Add", scores, scoreBias));
            String ctx = node("Reshape", transpose(node("MatMul", probs, values), 0, 2, 1, 3),
                    longs("merge_shape", new long[] {3}, 0, 0, HIDDEN));
            return node("Add", node("MatMul", ctx, w.out()), w.outBias());
        }

        ModelProto build() {
            return ModelProto.newBuilder().setIrVersion(8).setProducerName("eestream-tests")
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                    .setGraph(graph).build();
        }

    }
}
