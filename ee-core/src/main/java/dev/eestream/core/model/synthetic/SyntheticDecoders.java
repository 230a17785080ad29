package dev.eestream.core.model.synthetic;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec.Family;
import dev.eestream.runtime.model.KvCacheNames;
import java.util.List;

/**
 * Decoders with <b>random weights</b>, built in code because no trained decoder can be downloaded
 * where eestream is built and tested. They generate meaningless text, but they have the architecture,
 * the sizes and so the cost of real ones, so they serve tests, the demo and benchmarks; the same
 * transform and runtime then run a user's real export unchanged.
 *
 * <p>The layout is the one Hugging Face optimum exports for {@code text-generation-with-past}:
 * inputs {@code input_ids} [batch, seq], {@code attention_mask} [batch, past + seq],
 * {@code position_ids} [batch, seq] and {@code past_key_values.{i}.key|value} [batch, kv heads,
 * past, head size]; outputs {@code logits} [batch, seq, vocab] and {@code present.{i}.key|value}.
 * Attention combines the causal mask over past + seq with the attention mask's padding. Two
 * families: Llama (decomposed RMSNorm, rotary embeddings, grouped-query attention, SwiGLU) and
 * GPT-2 (LayerNormalization, learned positions, fused QKV split three ways, Erf-GELU).
 */
public final class SyntheticDecoders {
    private static final int OPSET = 17;

    private SyntheticDecoders() {
    }

    /** The decoder the spec describes; the same spec gives the same model, byte for byte. */
    public static ModelProto build(SyntheticDecoderSpec spec) {
        return spec.family() == Family.LLAMA ? llama(spec) : gpt2(spec);
    }

    private static ModelProto llama(SyntheticDecoderSpec spec) {
        DecoderGraph g = new DecoderGraph(new SyntheticGraph("synthetic-llama", spec.seed(), OPSET), spec);
        SyntheticGraph b = g.b;
        int d = spec.hiddenSize();
        int heads = spec.heads();
        int kv = spec.kvHeads();
        int dh = spec.headSize();
        int ff = spec.intermediateSize();
        String table = b.gaussian("embed_tokens", 1.0, spec.vocabSize(), d);
        String x = b.gather(table, "input_ids");
        String[] rotary = spec.computedRotary() ? g.rotaryComputed() : g.rotaryTables();
        for (int layer = 0; layer < spec.layers(); layer++) {
            String h = g.rmsNorm(x);
            String q = g.rotate(g.heads(b.node("MatMul", h, b.fanInScaled("q_proj" + layer, d, heads * dh)), heads), rotary);
            String k = g.rotate(g.heads(b.node("MatMul", h, b.fanInScaled("k_proj" + layer, d, kv * dh)), kv), rotary);
            String v = g.heads(b.node("MatMul", h, b.fanInScaled("v_proj" + layer, d, kv * dh)), kv);
            String ctx = g.attend(layer, q, k, v);
            x = b.node("Add", x, b.node("MatMul", ctx, b.gaussian("o_proj" + layer, 0.5, heads * dh, d)));
            h = g.rmsNorm(x);
            String gate = b.node("MatMul", h, b.fanInScaled("gate_proj" + layer, d, ff));
            String up = b.node("MatMul", h, b.fanInScaled("up_proj" + layer, d, ff));
            String silu = b.node("Mul", gate, b.node("Sigmoid", gate));
            x = b.node("Add", x, b.node("MatMul", b.node("Mul", silu, up), b.gaussian("down_proj" + layer, 0.3, ff, d)));
        }
        String head = spec.tiedHead() ? b.transpose(table, 1, 0) : b.gaussian("lm_head", 0.5, d, spec.vocabSize());
        g.logits(g.rmsNorm(x), head);
        return b.build("eestream-synthetic");
    }

    private static ModelProto gpt2(SyntheticDecoderSpec spec) {
        DecoderGraph g = new DecoderGraph(new SyntheticGraph("synthetic-gpt2", spec.seed(), OPSET), spec);
        SyntheticGraph b = g.b;
        int d = spec.hiddenSize();
        int heads = spec.heads();
        int ff = spec.intermediateSize();
        String wte = b.gaussian("wte", 1.0, spec.vocabSize(), d);
        String wpe = b.gaussian("wpe", 0.3, spec.contextLength(), d);
        String x = b.node("Add", b.gather(wte, "input_ids"), b.gather(wpe, KvCacheNames.POSITION_IDS));
        for (int layer = 0; layer < spec.layers(); layer++) {
            String h = g.layerNorm(x);
            String qkv = b.node("Add", b.node("MatMul", h, b.fanInScaled("c_attn" + layer, d, 3 * d)),
                    b.fanInScaled("c_attn_bias" + layer, 3 * d));
            String[] parts = b.multi("Split", List.of(intAttr("axis", 2)), 3, qkv, b.longs("split", new long[] {3}, d, d, d));
            String ctx = g.attend(layer, g.heads(parts[0], heads), g.heads(parts[1], heads), g.heads(parts[2], heads));
            x = b.node("Add", x, b.node("Add", b.node("MatMul", ctx, b.gaussian("c_proj" + layer, 0.5, d, d)),
                    b.fanInScaled("c_proj_bias" + layer, d)));
            h = g.layerNorm(x);
            String up = b.node("Add", b.node("MatMul", h, b.fanInScaled("c_fc" + layer, d, ff)), b.fanInScaled("c_fc_bias" + layer, ff));
            String gelu = b.node("Mul", b.node("Mul", up, b.node("Add", b.node("Erf",
                    b.node("Div", up, b.scalar((float) Math.sqrt(2)))), b.scalar(1f))), b.scalar(0.5f));
            x = b.node("Add", x, b.node("Add", b.node("MatMul", gelu, b.gaussian("mlp_proj" + layer, 0.3, ff, d)),
                    b.fanInScaled("mlp_proj_bias" + layer, d)));
        }
        g.logits(g.layerNorm(x), b.transpose(wte, 1, 0));
        return b.build("eestream-synthetic");
    }
}
