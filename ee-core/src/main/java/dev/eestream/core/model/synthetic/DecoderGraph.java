package dev.eestream.core.model.synthetic;

import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intsAttr;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.runtime.model.KvCacheNames;
import java.util.List;

/**
 * A decoder graph in the optimum with-past layout under construction: declares its inputs and
 * outputs, and builds the pieces every layer shares (norms, heads, attention over past + new keys,
 * rotary embeddings).
 */
final class DecoderGraph {
    private static final float MASKED = -3.4028235e38f;

    final SyntheticGraph b;
    private final SyntheticDecoderSpec spec;
    private final int headSize;
    private String maskBias;
    private int norms;

    DecoderGraph(SyntheticGraph b, SyntheticDecoderSpec spec) {
        this.b = b;
        this.spec = spec;
        this.headSize = spec.headSize();
        int i64 = TensorProto.DataType.INT64_VALUE;
        b.input("input_ids", i64, "batch", "sequence");
        b.input("attention_mask", i64, "batch", "total_sequence");
        b.input(KvCacheNames.POSITION_IDS, i64, "batch", "sequence");
        for (int layer = 0; layer < spec.layers(); layer++) {
            for (boolean key : new boolean[] {true, false}) {
                b.input(KvCacheNames.past(layer, key), TensorProto.DataType.FLOAT_VALUE, "batch", spec.kvHeads(), "past_sequence",
                        headSize);
            }
        }
    }

    /** The logits output and every present output, declared in the export's order. */
    void logits(String states, String head) {
        b.output(b.identityNamed(b.node("MatMul", states, head), KvCacheNames.LOGITS), "batch", "sequence", spec.vocabSize());
        for (int layer = 0; layer < spec.layers(); layer++) {
            for (boolean key : new boolean[] {true, false}) {
                b.output(KvCacheNames.present(layer, key), "batch", spec.kvHeads(), "total_sequence", headSize);
            }
        }
    }

    /** RMSNorm decomposed as Llama exports it: x / √(mean(x²) + ε) · γ. */
    String rmsNorm(String x) {
        String ms = b.nodeWith("ReduceMean", List.of(intsAttr("axes", -1), intAttr("keepdims", 1)), b.node("Pow", x, b.scalar(2f)));
        return b.node("Mul", b.node("Div", x, b.node("Sqrt", b.node("Add", ms, b.scalar(1e-6f)))), gamma("rms_gamma"));
    }

    String layerNorm(String x) {
        return b.nodeWith("LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-5f)), x,
                gamma("ln_gamma"), b.gaussian("ln_beta" + (norms++), 0.1, spec.hiddenSize()));
    }

    private String gamma(String name) {
        return b.gaussianAround(name + (norms++), 1, 0.1, spec.hiddenSize());
    }

    /** [batch, seq, n·head] → [batch, n, seq, head]. */
    String heads(String x, int n) {
        return b.transpose(b.node("Reshape", x, b.longs("heads_shape", new long[] {4}, 0, 0, n, headSize)), 0, 2, 1, 3);
    }

    /**
     * Appends the new keys and values to the past (the present outputs), repeats the KV heads for
     * grouped-query attention, and attends; returns the context [batch, seq, heads·head].
     */
    String attend(int layer, String q, String k, String v) {
        String presentK = b.namedWith(KvCacheNames.present(layer, true), "Concat", List.of(intAttr("axis", 2)),
                KvCacheNames.past(layer, true), k);
        String presentV = b.namedWith(KvCacheNames.present(layer, false), "Concat", List.of(intAttr("axis", 2)),
                KvCacheNames.past(layer, false), v);
        String keys = repeatKv(presentK);
        String values = repeatKv(presentV);
        String scores = b.node("Div", b.node("MatMul", q, b.transpose(keys, 0, 1, 3, 2)), b.scalar((float) Math.sqrt(headSize)));
        String probs = b.nodeWith("Softmax", List.of(intAttr("axis", -1)), b.node("Add", scores, maskBias()));
        return b.node("Reshape", b.transpose(b.node("MatMul", probs, values), 0, 2, 1, 3),
                b.longs("merge_shape", new long[] {3}, 0, 0, spec.heads() * headSize));
    }

    /** [batch, kv, T, head] → [batch, heads, T, head], each KV head serving heads / kv query heads. */
    private String repeatKv(String x) {
        int heads = spec.heads();
        int rep = heads / spec.kvHeads();
        if (rep == 1) {
            return x;
        }
        if (spec.computedRotary()) {
            // Recent exports compute the repeat's shapes at run time; the transform must follow them.
            String shape = b.node("Shape", x);
            String zero = b.longs("i0", new long[] {1}, 0);
            String two = b.longs("i2", new long[] {1}, 2);
            String four = b.longs("i4", new long[] {1}, 4);
            String front = b.node("Slice", shape, zero, two);
            String back = b.node("Slice", shape, two, four);
            String expandTo = b.nodeWith("Concat", List.of(intAttr("axis", 0)), front, b.longs("rep", new long[] {1}, rep), back);
            String batch = b.node("Slice", shape, zero, b.longs("i1", new long[] {1}, 1));
            String reshapeTo = b.nodeWith("Concat", List.of(intAttr("axis", 0)), batch,
                    b.longs("tail", new long[] {3}, heads, -1, headSize));
            return b.node("Reshape", b.node("Expand", b.unsqueeze(x, 2), expandTo), reshapeTo);
        }
        String expanded = b.node("Expand", b.unsqueeze(x, 2), b.longs("repeat", new long[] {5}, 1, 1, rep, 1, 1));
        return b.node("Reshape", expanded, b.longs("gqa_shape", new long[] {4}, 0, heads, -1, headSize));
    }

    /**
     * 0 where query i (at absolute position past + i) may see key j — j ≤ past + i and the mask
     * keeps j — else the most negative float; [batch, 1, seq, past + seq]. Built from shapes at run
     * time as exports do, once per graph.
     */
    private String maskBias() {
        if (maskBias != null) {
            return maskBias;
        }
        String one = b.longs("one", new long[0], 1);
        String zero = b.longs("zero", new long[0], 0);
        String seq = b.node("Gather", b.node("Shape", "input_ids"), one);
        String total = b.node("Gather", b.node("Shape", "attention_mask"), one);
        String rows = b.node("Add", b.node("Range", zero, seq, one), b.node("Sub", total, seq));
        String cols = b.node("Range", zero, total, one);
        String future = b.node("Greater", b.unsqueeze(cols, 0), b.unsqueeze(rows, 1));
        String kept = b.nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.BOOL_VALUE)),
                b.unsqueeze(b.unsqueeze("attention_mask", 1), 2));
        String allowed = b.node("And", kept, b.node("Not", future));
        maskBias = b.node("Where", allowed, b.scalar(0f), b.scalar(MASKED));
        return maskBias;
    }

    /** cos and sin tables [context, head] (frequencies repeated over both halves), gathered by position ids. */
    String[] rotaryTables() {
        int context = spec.contextLength();
        float[] cos = new float[context * headSize];
        float[] sin = new float[context * headSize];
        int half = headSize / 2;
        for (int p = 0; p < context; p++) {
            for (int i = 0; i < headSize; i++) {
                double angle = p / Math.pow(10000, 2.0 * (i % half) / headSize);
                cos[p * headSize + i] = (float) Math.cos(angle);
                sin[p * headSize + i] = (float) Math.sin(angle);
            }
        }
        long[] dims = {context, headSize};
        String c = b.unsqueeze(b.gather(b.floats("cos_cached", dims, cos), KvCacheNames.POSITION_IDS), 1);
        String s = b.unsqueeze(b.gather(b.floats("sin_cached", dims, sin), KvCacheNames.POSITION_IDS), 1);
        return new String[] {c, s};
    }

    /** cos and sin of position × inverse frequency [batch, 1, seq, head], computed from the position ids. */
    String[] rotaryComputed() {
        float[] inverse = new float[headSize];
        int half = headSize / 2;
        for (int i = 0; i < headSize; i++) {
            inverse[i] = (float) (1 / Math.pow(10000, 2.0 * (i % half) / headSize));
        }
        String positions = b.cast(b.unsqueeze(KvCacheNames.POSITION_IDS, -1));
        String angles = b.node("Mul", positions, b.floats("inv_freq", new long[] {headSize}, inverse));
        return new String[] {b.unsqueeze(b.node("Cos", angles), 1), b.unsqueeze(b.node("Sin", angles), 1)};
    }

    /** {@code x·cos + rotate_half(x)·sin}, rotate_half by Slice, Neg and Concat on the head axis. */
    String rotate(String x, String[] rotary) {
        int half = headSize / 2;
        String axis = b.longs("head_axis", new long[] {1}, 3);
        String first = b.node("Slice", x, b.longs("s0", new long[] {1}, 0), b.longs("e0", new long[] {1}, half), axis);
        String second = b.node("Slice", x, b.longs("s1", new long[] {1}, half), b.longs("e1", new long[] {1}, headSize), axis);
        String rotated = b.nodeWith("Concat", List.of(intAttr("axis", 3)), b.node("Neg", second), first);
        return b.node("Add", b.node("Mul", x, rotary[0]), b.node("Mul", rotated, rotary[1]));
    }
}
