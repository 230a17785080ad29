package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.synthetic.SyntheticGraph;
import java.util.List;
import java.util.Random;

/**
 * A small encoder written directly in the fused com.microsoft ops that ONNX Runtime's transformer optimizer and model
 * builders emit (ORT's in-session optimizer does not produce these on dynamic shapes), with random weights:
 * <ol>
 *   <li>EmbedLayerNormalization over int32 ids, Attention with a packed QKV weight and the mask index,
 *       SkipLayerNormalization with the output bias, FastGelu with its bias;</li>
 *   <li>Q/K/V MatMuls into MultiHeadAttention (bias, key padding mask), BiasGelu, a MatMulNBits down-projection
 *       (4-bit blocks) writing the stream, SkipSimplifiedLayerNormalization;</li>
 *   <li>SimplifiedLayerNormalization, RotaryEmbedding on Q and K, GroupQueryAttention, then a LayerNormalization
 *       into {@code last_hidden_state}.</li>
 * </ol>
 * With {@code nBitsReadsStream}, the first layer's feed-forward up-projection is a MatMulNBits that reads the
 * residual stream itself, which the hidden permutation cannot follow.
 */
final class TinyFusedEncoders {
    static final int VOCAB = 50;
    static final int HIDDEN = 16;
    static final int HEADS = 2;
    static final int HEAD_SIZE = HIDDEN / HEADS;
    static final int MAX_POSITIONS = 32;
    static final int FFN = 64;
    static final int BLOCK = 16;
    static final String MS = "com.microsoft";

    private final Random random;
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("tiny-fused");
    private int counter;

    private TinyFusedEncoders(long seed) {
        this.random = new Random(seed);
    }

    static ModelProto encoder(long seed, boolean nBitsReadsStream) {
        return new TinyFusedEncoders(seed).build(nBitsReadsStream);
    }

    private ModelProto build(boolean nBitsReadsStream) {
        graph.addInput(SyntheticGraph.valueInfo("input_ids", TensorProto.DataType.INT64_VALUE, "batch", "sequence"));
        graph.addInput(SyntheticGraph.valueInfo("attention_mask", TensorProto.DataType.INT64_VALUE, "batch", "sequence"));
        String ids = node("", "Cast", List.of(intAttr("to", TensorProto.DataType.INT32_VALUE)), "input_ids");
        String mask = node("", "Cast", List.of(intAttr("to", TensorProto.DataType.INT32_VALUE)), "attention_mask");

        String[] embed = nodes(MS, "EmbedLayerNormalization", "embed", List.of(floatAttr("epsilon", 1e-12f)), 2, ids, "",
                random("word_embeddings", VOCAB, HIDDEN), random("position_embeddings", MAX_POSITIONS, HIDDEN), "",
                gamma(), random("embed_beta", HIDDEN), mask);
        String x = embed[0];

        // Layer 1: BERT fused by ORT's transformer optimizer.
        String attn = node(MS, "Attention", List.of(intAttr("num_heads", HEADS)), x, random("qkv_weight", HIDDEN, 3 * HIDDEN),
                random("qkv_bias", 3 * HIDDEN), embed[1]);
        x = node(MS, "SkipLayerNormalization", List.of(floatAttr("epsilon", 1e-12f)), matMul(attn, HIDDEN, HIDDEN), x, gamma(),
                random("ln_beta", HIDDEN), random("attn_out_bias", HIDDEN));
        String up = nBitsReadsStream ? matMulNBits(x, HIDDEN, FFN) : matMul(x, HIDDEN, FFN);
        String act = node(MS, "FastGelu", List.of(), up, random("ffn_in_bias", FFN));
        x = node(MS, "SkipLayerNormalization", List.of(floatAttr("epsilon", 1e-12f)), matMul(act, FFN, HIDDEN), x, gamma(),
                random("ln_beta", HIDDEN), random("ffn_out_bias", HIDDEN));

        // Layer 2: unpacked projections into MultiHeadAttention; a 4-bit down-projection writing the stream.
        String mha = node(MS, "MultiHeadAttention", List.of(intAttr("num_heads", HEADS)), matMul(x, HIDDEN, HIDDEN),
                matMul(x, HIDDEN, HIDDEN), matMul(x, HIDDEN, HIDDEN), random("mha_bias", 3 * HIDDEN), mask);
        x = node(MS, "SkipLayerNormalization", List.of(floatAttr("epsilon", 1e-12f)), matMul(mha, HIDDEN, HIDDEN), x, gamma(),
                random("ln_beta", HIDDEN));
        act = node(MS, "BiasGelu", List.of(), matMul(x, HIDDEN, FFN), random("ffn_in_bias", FFN));
        x = node(MS, "SkipSimplifiedLayerNormalization", List.of(floatAttr("epsilon", 1e-6f)), matMulNBits(act, FFN, HIDDEN), x,
                gamma());

        // Layer 3: what model builders emit for decoders: rotary embeddings and grouped-query attention.
        String normed = node("", "SimplifiedLayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-6f)), x, gamma());
        String positions = longs("position_offset", new long[] {1}, 0);
        String cos = random("cos_cache", MAX_POSITIONS, HEAD_SIZE / 2);
        String sin = random("sin_cache", MAX_POSITIONS, HEAD_SIZE / 2);
        String q = node(MS, "RotaryEmbedding", List.of(intAttr("num_heads", HEADS)), matMul(normed, HIDDEN, HIDDEN), positions, cos, sin);
        String k = node(MS, "RotaryEmbedding", List.of(intAttr("num_heads", 1)), matMul(normed, HIDDEN, HEAD_SIZE), positions, cos, sin);
        String v = matMul(normed, HIDDEN, HEAD_SIZE);
        String lengths = node("", "ReduceSum", List.of(intAttr("keepdims", 0)), "attention_mask", longs("axis1", new long[] {1}, 1));
        String seqlensK = node("", "Cast", List.of(intAttr("to", TensorProto.DataType.INT32_VALUE)),
                node("", "Sub", List.of(), lengths, longs("one", new long[0], 1)));
        String total = node("", "Cast", List.of(intAttr("to", TensorProto.DataType.INT32_VALUE)),
                node("", "Gather", List.of(), node("", "Shape", List.of(), "input_ids"), longs("seq_axis", new long[0], 1)));
        String[] gqa = nodes(MS, "GroupQueryAttention", "gqa", List.of(intAttr("num_heads", HEADS), intAttr("kv_num_heads", 1)), 3,
                q, k, v, "", "", seqlensK, total);
        x = node("", "Add", List.of(), x, matMul(gqa[0], HIDDEN, HIDDEN));
        String last = node("", "LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-12f)), x, gamma(),
                random("ln_beta", HIDDEN));
        graph.addNode(NodeProto.newBuilder().setName("output").setOpType("Identity").addInput(last).addOutput("last_hidden_state"));
        graph.addOutput(SyntheticGraph.valueInfo("last_hidden_state", TensorProto.DataType.FLOAT_VALUE, "batch", "sequence", HIDDEN));
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("eestream-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS).setVersion(1))
                .setGraph(graph).build();
    }

    private String matMul(String x, int in, int out) {
        return node("", "MatMul", List.of(), x, random("w", in, out));
    }

    /** {@code x · W} with W [in, out] stored as MatMulNBits stores it: 4-bit values in blocks along {@code in}, per-block scales. */
    private String matMulNBits(String x, int in, int out) {
        int blocks = in / BLOCK;
        byte[] packed = new byte[out * blocks * BLOCK / 2];
        random.nextBytes(packed);
        String b = name("nbits_weight");
        graph.addInitializer(TensorProto.newBuilder().setName(b).setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(out).addDims(blocks).addDims(BLOCK / 2).setRawData(ByteString.copyFrom(packed)));
        float[] scales = new float[out * blocks];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) (0.05 + 0.1 * random.nextDouble());
        }
        String s = name("nbits_scales");
        graph.addInitializer(OnnxTensors.floatTensor(s, new long[] {scales.length}, scales));
        byte[] zeroPoints = new byte[out * ((blocks + 1) / 2)];
        random.nextBytes(zeroPoints);
        String z = name("nbits_zero_points");
        graph.addInitializer(TensorProto.newBuilder().setName(z).setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(zeroPoints.length).setRawData(ByteString.copyFrom(zeroPoints)));
        return node(MS, "MatMulNBits", List.of(intAttr("K", in), intAttr("N", out), intAttr("bits", 4), intAttr("block_size", BLOCK)),
                x, b, s, z, "", random("nbits_bias", out));
    }

    private String gamma() {
        float[] g = new float[HIDDEN];
        for (int i = 0; i < HIDDEN; i++) {
            g[i] = 1f + 0.1f * (float) random.nextGaussian();
        }
        String name = name("gamma");
        graph.addInitializer(OnnxTensors.floatTensor(name, new long[] {HIDDEN}, g));
        return name;
    }

    private String random(String hint, int... dims) {
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
        String name = name(hint);
        graph.addInitializer(OnnxTensors.floatTensor(name, d, v));
        return name;
    }

    private String longs(String hint, long[] dims, long... values) {
        String name = name(hint);
        graph.addInitializer(OnnxTensors.longTensor(name, dims, values));
        return name;
    }

    private String name(String hint) {
        return hint + "_" + (counter++);
    }

    private String node(String domain, String op, List<AttributeProto> attrs, String... inputs) {
        return nodes(domain, op, op.toLowerCase(), attrs, 1, inputs)[0];
    }

    /** A node named after {@code hint} with {@code outputs} outputs. */
    private String[] nodes(String domain, String op, String hint, List<AttributeProto> attrs, int outputs, String... inputs) {
        String name = name(hint);
        NodeProto.Builder n = NodeProto.newBuilder().setName(name).setDomain(domain).setOpType(op).addAllInput(List.of(inputs))
                .addAllAttribute(attrs);
        String[] out = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            out[i] = outputs == 1 ? name : name + "_out" + i;
            n.addOutput(out[i]);
        }
        graph.addNode(n);
        return out;
    }
}
