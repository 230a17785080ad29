package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec.Family;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.synthetic.SyntheticGraph;
import dev.eestream.runtime.model.KvCacheNames;
import java.util.List;

/**
 * Tiny {@link SyntheticDecoders} for tests (random weights, optimum with-past layout), and two
 * decoders the transform must refuse: one with an op no rule proves safe on the residual stream, and
 * one whose KV cache is the residual stream itself.
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

    private TinyDecoders() {
    }

    /** The tiny size of a family, Llama with grouped-query attention (2 KV heads for 4 heads). */
    public static SyntheticDecoderSpec.Builder spec(Family family, long seed) {
        return SyntheticDecoderSpec.builder(family).vocabSize(VOCAB).hiddenSize(HIDDEN).layers(LAYERS).heads(HEADS)
                .kvHeads(family == Family.LLAMA ? LLAMA_KV_HEADS : HEADS).contextLength(CONTEXT).seed(seed);
    }

    /**
     * A Llama-style decoder; with {@code streamOp} non-null, a node of that op type named
     * {@value #SUSPICIOUS} is applied to the residual stream after the first attention block.
     */
    public static ModelProto llama(long seed, boolean tiedHead, String streamOp) {
        ModelProto model = SyntheticDecoders.build(spec(Family.LLAMA, seed).tiedHead(tiedHead).build());
        return streamOp == null ? model : withStreamOp(model, streamOp);
    }

    /**
     * A Llama-style decoder as recent transformers versions export it: cos and sin computed in the
     * graph from the position ids, KV heads repeated to shapes computed at run time.
     */
    public static ModelProto llamaComputedRotary(long seed) {
        return SyntheticDecoders.build(spec(Family.LLAMA, seed).tiedHead(false).computedRotary(true).build());
    }

    /** A GPT-2-style decoder with its head tied to the token embeddings. */
    public static ModelProto gpt2(long seed) {
        return SyntheticDecoders.build(spec(Family.GPT2, seed).build());
    }

    /**
     * Applies {@code op(x, axis -1)} to the residual stream x right after layer 0's attention adds
     * its output projection (the Add that reads {@code MatMul(ctx, o_proj0)}).
     */
    private static ModelProto withStreamOp(ModelProto model, String op) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        String projected = g.getNodeList().stream().filter(n -> n.getInputList().contains("o_proj0")).findFirst()
                .orElseThrow().getOutput(0);
        int add = 0;
        while (!(g.getNode(add).getOpType().equals("Add") && g.getNode(add).getInputList().contains(projected))) {
            add++;
        }
        String stream = g.getNode(add).getOutput(0);
        for (int i = add + 1; i < g.getNodeCount(); i++) {
            NodeProto.Builder n = g.getNodeBuilder(i);
            for (int j = 0; j < n.getInputCount(); j++) {
                if (n.getInput(j).equals(stream)) {
                    n.setInput(j, SUSPICIOUS);
                }
            }
        }
        g.addInitializer(OnnxTensors.longTensor("axis_last", new long[0], new long[] {-1}));
        g.addNode(add + 1, NodeProto.newBuilder().setName(SUSPICIOUS).setOpType(op).addInput(stream).addInput("axis_last")
                .addOutput(SUSPICIOUS));
        return model.toBuilder().setGraph(g).build();
    }

    /**
     * A one-layer decoder whose key cache is the residual stream itself, not a projection of it (one
     * KV head as wide as the stream, past keys ignored): with the hidden permutation it would carry ρ
     * out of the model, so the transform must refuse it.
     */
    public static ModelProto streamInCache(long seed) {
        SyntheticGraph b = new SyntheticGraph("stream-in-cache", seed, 17);
        int i64 = TensorProto.DataType.INT64_VALUE;
        b.input("input_ids", i64, "batch", "sequence");
        b.input("attention_mask", i64, "batch", "total_sequence");
        b.input(KvCacheNames.POSITION_IDS, i64, "batch", "sequence");
        for (boolean key : new boolean[] {true, false}) {
            b.input(KvCacheNames.past(0, key), TensorProto.DataType.FLOAT_VALUE, "batch", 1, "past_sequence", HIDDEN);
        }
        String x = b.gather(b.gaussian("embed_tokens", 1.0, VOCAB, HIDDEN), "input_ids");
        b.namedWith(KvCacheNames.present(0, true), "Unsqueeze", List.of(), x, b.longs("axes", new long[] {1}, 1));
        b.namedWith(KvCacheNames.present(0, false), "Concat", List.of(intAttr("axis", 2)), KvCacheNames.past(0, false),
                b.unsqueeze(b.node("MatMul", x, b.fanInScaled("v_proj", HIDDEN, HIDDEN)), 1));
        String logits = b.node("MatMul", x, b.gaussian("lm_head", 0.5, HIDDEN, VOCAB));
        b.output(b.identityNamed(logits, KvCacheNames.LOGITS), "batch", "sequence", VOCAB);
        for (boolean key : new boolean[] {true, false}) {
            b.output(KvCacheNames.present(0, key), "batch", 1, "total_sequence", HIDDEN);
        }
        return b.build("eestream-tests");
    }
}
