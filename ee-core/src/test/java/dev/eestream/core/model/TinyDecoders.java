package dev.eestream.core.model;

import static dev.eestream.core.model.TinyModels.Builder.floatAttr;
import static dev.eestream.core.model.TinyModels.Builder.intAttr;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.runtime.model.KvCacheNames;
import java.util.List;

/**
 * Small decoders with random weights, built in code in the layout Hugging Face optimum exports for
 * {@code text-generation-with-past}: inputs {@code input_ids} [batch, seq], {@code attention_mask}
 * [batch, past + seq], {@code position_ids} [batch, seq] and {@code past_key_values.{i}.key|value}
 * [batch, kv heads, past, head size]; outputs {@code logits} [batch, seq, vocab] and
 * {@code present.{i}.key|value}. Attention combines the causal mask over past + seq with the
 * attention mask's padding, built from shapes at run time as exports do. Two families:
 * Llama (decomposed RMSNorm, rotary embeddings gathered by position ids, grouped-query attention,
 * SwiGLU) and GPT-2 (LayerNormalization, learned positions, fused QKV split three ways, Erf-GELU).
 */
public final class TinyDecoders {
    public static final int VOCAB = 96;
    public static final int HIDDEN = 32;
    public static final int HEADS = 4;
    public static final int LLAMA_KV_HEADS = 2;
    public static final int HEAD_SIZE = HIDDEN / HEADS;
    public static final int LAYERS = 2;
    /** Rows of the rotary tables and of GPT-2's position table: the context length. */
    public static final int CONTEXT = 64;
    /** The node an extra op on the residual stream gets, for refusal tests. */
    public static final String SUSPICIOUS = "suspicious";

    private static final int OPSET = 17;
    private static final float MASKED = -3.4028235e38f;

    private TinyDecoders() {
    }

    /**
     * A Llama-style decoder; with {@code streamOp} non-null, a node of that op type named
     * {@value #SUSPICIOUS} is applied to the residual stream after the first attention block.
     */
    public static ModelProto llama(long seed, boolean tiedHead, String streamOp) {
        return llama(seed, tiedHead, streamOp, false);
    }

    /**
     * A Llama-style decoder as recent transformers versions export it: cos and sin computed in the
     * graph from the position ids (Cast, Mul by the inverse frequencies, Cos, Sin: no table, so the
     * context length must be given), KV heads repeated by an Expand and a Reshape to shapes computed
     * at run time (Shape, Slice, Concat).
     */
    public static ModelProto llamaComputedRotary(long seed) {
        return llama(seed, false, null, true);
    }

    private static ModelProto llama(long seed, boolean tiedHead, String streamOp, boolean computed) {
        Graph g = new Graph(seed, LLAMA_KV_HEADS);
        g.runTimeShapes = computed;
        String table = g.b.gaussian("embed_tokens", 1.0, VOCAB, HIDDEN);
        String x = g.b.gather(table, "input_ids");
        String[] rotary = computed ? g.rotaryComputed() : g.rotaryTables();
        for (int layer = 0; layer < LAYERS; layer++) {
            String h = g.rmsNorm(x);
            String q = g.rotate(g.heads(g.b.node("MatMul", h, g.b.random("q_proj" + layer, HIDDEN, HEADS * HEAD_SIZE)), HEADS), rotary);
            String k = g.rotate(g.heads(g.b.node("MatMul", h, g.b.random("k_proj" + layer, HIDDEN, g.kvHeads * HEAD_SIZE)),
                    g.kvHeads), rotary);
            String v = g.heads(g.b.node("MatMul", h, g.b.random("v_proj" + layer, HIDDEN, g.kvHeads * HEAD_SIZE)), g.kvHeads);
            String ctx = g.attend(layer, q, k, v);
            x = g.b.node("Add", x, g.b.node("MatMul", ctx, g.b.gaussian("o_proj" + layer, 0.5, HEADS * HEAD_SIZE, HIDDEN)));
            if (layer == 0 && streamOp != null) {
                x = g.b.named(SUSPICIOUS, streamOp, x, g.b.longs("axis_last", new long[0], -1));
            }
            h = g.rmsNorm(x);
            String gate = g.b.node("MatMul", h, g.b.random("gate_proj" + layer, HIDDEN, 3 * HIDDEN));
            String up = g.b.node("MatMul", h, g.b.random("up_proj" + layer, HIDDEN, 3 * HIDDEN));
            String silu = g.b.node("Mul", gate, g.b.node("Sigmoid", gate));
            x = g.b.node("Add", x, g.b.node("MatMul", g.b.node("Mul", silu, up),
                    g.b.gaussian("down_proj" + layer, 0.3, 3 * HIDDEN, HIDDEN)));
        }
        String head = tiedHead ? g.b.transpose(table, 1, 0) : g.b.gaussian("lm_head", 0.5, HIDDEN, VOCAB);
        g.logits(g.rmsNorm(x), head);
        return g.b.build();
    }

    /** A GPT-2-style decoder with its head tied to the token embeddings. */
    public static ModelProto gpt2(long seed) {
        Graph g = new Graph(seed, HEADS);
        String wte = g.b.gaussian("wte", 1.0, VOCAB, HIDDEN);
        String wpe = g.b.gaussian("wpe", 0.3, CONTEXT, HIDDEN);
        String x = g.b.node("Add", g.b.gather(wte, "input_ids"), g.b.gather(wpe, KvCacheNames.POSITION_IDS));
        for (int layer = 0; layer < LAYERS; layer++) {
            String h = g.layerNorm(x);
            String qkv = g.b.node("Add", g.b.node("MatMul", h, g.b.random("c_attn" + layer, HIDDEN, 3 * HIDDEN)),
                    g.b.random("c_attn_bias" + layer, 3 * HIDDEN));
            String[] parts = g.b.multi("Split", List.of(intAttr("axis", 2)), 3, qkv,
                    g.b.longs("split", new long[] {3}, HIDDEN, HIDDEN, HIDDEN));
            String ctx = g.attend(layer, g.heads(parts[0], HEADS), g.heads(parts[1], HEADS), g.heads(parts[2], HEADS));
            x = g.b.node("Add", x, g.b.node("Add", g.b.node("MatMul", ctx, g.b.gaussian("c_proj" + layer, 0.5, HIDDEN, HIDDEN)),
                    g.b.random("c_proj_bias" + layer, HIDDEN)));
            h = g.layerNorm(x);
            String up = g.b.node("Add", g.b.node("MatMul", h, g.b.random("c_fc" + layer, HIDDEN, 4 * HIDDEN)),
                    g.b.random("c_fc_bias" + layer, 4 * HIDDEN));
            String gelu = g.b.node("Mul", g.b.node("Mul", up, g.b.node("Add", g.b.node("Erf",
                    g.b.node("Div", up, g.b.scalar((float) Math.sqrt(2)))), g.b.scalar(1f))), g.b.scalar(0.5f));
            x = g.b.node("Add", x, g.b.node("Add", g.b.node("MatMul", gelu, g.b.gaussian("mlp_proj" + layer, 0.3, 4 * HIDDEN, HIDDEN)),
                    g.b.random("mlp_proj_bias" + layer, HIDDEN)));
        }
        g.logits(g.layerNorm(x), g.b.transpose(wte, 1, 0));
        return g.b.build();
    }

    /**
     * A one-layer decoder whose key cache is the residual stream itself, not a projection of it (one
     * KV head as wide as the stream, past keys ignored): with the hidden permutation it would carry ρ
     * out of the model, so the transform must refuse it.
     */
    public static ModelProto streamInCache(long seed) {
        Graph g = new Graph(seed, 1, HIDDEN, 1);
        String x = g.b.gather(g.b.gaussian("embed_tokens", 1.0, VOCAB, HIDDEN), "input_ids");
        g.b.namedWith(KvCacheNames.present(0, true), "Unsqueeze", List.of(), x, g.b.longs("axes", new long[] {1}, 1));
        g.b.namedWith(KvCacheNames.present(0, false), "Concat", List.of(intAttr("axis", 2)), KvCacheNames.past(0, false),
                g.b.unsqueeze(g.b.node("MatMul", x, g.b.random("v_proj", HIDDEN, HIDDEN)), 1));
        g.logits(x, g.b.gaussian("lm_head", 0.5, HIDDEN, VOCAB));
        return g.b.build();
    }

    /** The graph under construction, with the pieces every layer shares. */
    private static final class Graph {
        final TinyModels.Builder b;
        final int kvHeads;
        final int headSize;
        final int layers;
        private String maskBias;
        private int norms;
        /** Whether repeated KV heads get shapes computed at run time, as exports make them. */
        boolean runTimeShapes;

        Graph(long seed, int kvHeads) {
            this(seed, kvHeads, HEAD_SIZE, LAYERS);
        }

        Graph(long seed, int kvHeads, int headSize, int layers) {
            this.b = new TinyModels.Builder(seed, OPSET);
            this.kvHeads = kvHeads;
            this.headSize = headSize;
            this.layers = layers;
            int i64 = TensorProto.DataType.INT64_VALUE;
            b.input("input_ids", i64, "batch", "sequence");
            b.input("attention_mask", i64, "batch", "total_sequence");
            b.input(KvCacheNames.POSITION_IDS, i64, "batch", "sequence");
            for (int layer = 0; layer < layers; layer++) {
                for (boolean key : new boolean[] {true, false}) {
                    b.input(KvCacheNames.past(layer, key), TensorProto.DataType.FLOAT_VALUE, "batch", kvHeads, "past_sequence", headSize);
                }
            }
        }

        /** The logits output and every present output, declared in the export's order. */
        void logits(String states, String head) {
            b.output(b.identityNamed(b.node("MatMul", states, head), KvCacheNames.LOGITS), "batch", "sequence", VOCAB);
            for (int layer = 0; layer < layers; layer++) {
                for (boolean key : new boolean[] {true, false}) {
                    b.output(KvCacheNames.present(layer, key), "batch", kvHeads, "total_sequence", headSize);
                }
            }
        }

        String rmsNorm(String x) {
            String ms = b.nodeWith("ReduceMean", List.of(TinyModels.Builder.intsAttr("axes", -1), intAttr("keepdims", 1)),
                    b.node("Pow", x, b.scalar(2f)));
            return b.node("Mul", b.node("Div", x, b.node("Sqrt", b.node("Add", ms, b.scalar(1e-6f)))), gamma("rms_gamma"));
        }

        String layerNorm(String x) {
            return b.nodeWith("LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-5f)), x,
                    gamma("ln_gamma"), b.gaussian("ln_beta" + (norms++), 0.1, HIDDEN));
        }

        private String gamma(String name) {
            return b.gaussianAround(name + (norms++), 1, 0.1, HIDDEN);
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
                    b.longs("merge_shape", new long[] {3}, 0, 0, HEADS * headSize));
        }

        /** [batch, kv, T, head] → [batch, heads, T, head], each KV head serving HEADS / kv query heads. */
        private String repeatKv(String x) {
            int rep = HEADS / kvHeads;
            if (rep == 1) {
                return x;
            }
            if (runTimeShapes) {
                String shape = b.node("Shape", x);
                String zero = b.longs("i0", new long[] {1}, 0);
                String two = b.longs("i2", new long[] {1}, 2);
                String four = b.longs("i4", new long[] {1}, 4);
                String front = b.node("Slice", shape, zero, two);
                String back = b.node("Slice", shape, two, four);
                String expandTo = b.nodeWith("Concat", List.of(intAttr("axis", 0)), front, b.longs("rep", new long[] {1}, rep), back);
                String batch = b.node("Slice", shape, zero, b.longs("i1", new long[] {1}, 1));
                String reshapeTo = b.nodeWith("Concat", List.of(intAttr("axis", 0)), batch,
                        b.longs("tail", new long[] {3}, HEADS, -1, headSize));
                return b.node("Reshape", b.node("Expand", b.unsqueeze(x, 2), expandTo), reshapeTo);
            }
            String expanded = b.node("Expand", b.unsqueeze(x, 2), b.longs("repeat", new long[] {5}, 1, 1, rep, 1, 1));
            return b.node("Reshape", expanded, b.longs("gqa_shape", new long[] {4}, 0, HEADS, -1, headSize));
        }

        /**
         * 0 where query i (at absolute position past + i) may see key j — j ≤ past + i and the mask
         * keeps j — else the most negative float; [batch, 1, seq, past + seq]. Built once per graph.
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

        /** cos and sin tables [CONTEXT, head] (frequencies repeated over both halves), gathered by position ids. */
        String[] rotaryTables() {
            float[] cos = new float[CONTEXT * headSize];
            float[] sin = new float[CONTEXT * headSize];
            int half = headSize / 2;
            for (int p = 0; p < CONTEXT; p++) {
                for (int i = 0; i < headSize; i++) {
                    double angle = p / Math.pow(10000, 2.0 * (i % half) / headSize);
                    cos[p * headSize + i] = (float) Math.cos(angle);
                    sin[p * headSize + i] = (float) Math.sin(angle);
                }
            }
            long[] dims = {CONTEXT, headSize};
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
}
