package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intsAttr;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.List;

/**
 * Tiny encoders of each family eestream serves, with random weights, built in code in the layout their Hugging Face
 * ONNX exports have (no such model can be downloaded here): the structure that matters to the transform is each
 * family's embeddings and attention, so those follow the exports; the layers are {@link TinyModels}'s.
 * <ul>
 *   <li>RoBERTa / XLM-R: position ids counted from {@code input_ids != padding_idx} (CumSum, offset by the padding id);
 *   <li>ALBERT: a factorised embedding (width {@link #EMBEDDING} &lt; hidden) projected into the residual stream, and
 *       one set of layer weights shared by every layer;
 *   <li>MPNet: RoBERTa's positions and a bucketed relative-position bias added to the attention scores;
 *   <li>DeBERTa-v2/v3: no absolute positions; disentangled attention (content-to-position and position-to-content
 *       scores from a relative-embedding table through the layer's own query and key projections, picked by
 *       GatherElements);
 *   <li>tf2onnx-style BERT: int32 inputs and LayerNorm spelled out in ReduceMean, Sub, Pow, Sqrt, Div (opset 13);
 *   <li>TorchScript at opset 11: attribute axes and the same spelled-out LayerNorm;
 *   <li>torch.onnx's dynamo exporter at opset 18: axes as inputs (ReduceMean), the padding mask as a Where over
 *       {@code attention_mask == 0}, LayerNorm spelled out.
 * </ul>
 */
final class TinyEncoderFamilies {
    static final int VOCAB = TinyModels.ENCODER_VOCAB;
    static final int HIDDEN = TinyModels.HIDDEN;
    static final int HEADS = TinyModels.HEADS;
    /** ALBERT's factorised embedding width. */
    static final int EMBEDDING = 8;
    /** RoBERTa's and MPNet's padding id; positions run from PADDING + 1. */
    static final int PADDING = 1;
    static final int MAX_LENGTH = 24;
    static final int RELATIVE_SPAN = 4;
    static final int BUCKETS = 8;

    private TinyEncoderFamilies() {
    }

    /** The families, by name, as {@code EncoderFamilyEquivalenceTest} runs them. */
    static ModelProto build(String family, long seed) {
        return switch (family) {
            case "roberta" -> roberta(seed);
            case "albert" -> albert(seed);
            case "mpnet" -> mpnet(seed);
            case "deberta-v2" -> debertaV2(seed);
            case "bert-tf2onnx-int32" -> tf2onnxBert(seed);
            case "bert-torchscript-opset11" -> torchScriptOpset11(seed);
            case "bert-dynamo-opset18" -> dynamoOpset18(seed);
            default -> throw new IllegalArgumentException(family);
        };
    }

    static ModelProto roberta(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 17);
        return finish(b, robertaBody(b));
    }

    /** RoBERTa's inputs and layers in {@code b}; returns the last hidden states. */
    static String robertaBody(TinyModels.Builder b) {
        inputs(b, TensorProto.DataType.INT64_VALUE, false);
        String x = b.node("Add", b.gather(b.random("word_embeddings", VOCAB, HIDDEN), "input_ids"),
                b.gather(b.random("position_embeddings", MAX_LENGTH + PADDING + 1, HIDDEN), paddedPositions(b)));
        // RoBERTa's single token type, folded to a constant row by the exporter.
        x = b.node("Add", x, b.random("token_type_row", 1, HIDDEN));
        x = b.layerNorm(x);
        String bias = maskBias(b);
        for (int layer = 0; layer < 2; layer++) {
            x = TinyModels.layer(b, x, bias, null);
        }
        return x;
    }

    static ModelProto albert(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 17);
        return finish(b, albertBody(b));
    }

    /** ALBERT's inputs and layers in {@code b}; returns the last hidden states. */
    static String albertBody(TinyModels.Builder b) {
        inputs(b, TensorProto.DataType.INT64_VALUE, true);
        String e = b.node("Add", b.gather(b.random("word_embeddings", VOCAB, EMBEDDING), "input_ids"),
                b.gather(b.random("position_embeddings", MAX_LENGTH, EMBEDDING), positions(b)));
        e = b.node("Add", e, b.gather(b.random("token_type_embeddings", 2, EMBEDDING), "token_type_ids"));
        e = b.nodeWith("LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-12f)), e,
                b.gaussianAround("embedding_ln_gamma", 1, 0.1, EMBEDDING), b.gaussian("embedding_ln_beta", 0.1, EMBEDDING));
        String x = b.node("Add", b.node("MatMul", e, b.random("embedding_hidden_mapping_in", EMBEDDING, HIDDEN)),
                b.random("embedding_hidden_mapping_bias", HIDDEN));
        String bias = maskBias(b);
        TinyModels.LayerWeights shared = TinyModels.LayerWeights.random(b);
        for (int layer = 0; layer < 3; layer++) {
            x = TinyModels.layer(b, x, bias, shared, null);
        }
        return x;
    }

    static ModelProto mpnet(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 17);
        inputs(b, TensorProto.DataType.INT64_VALUE, false);
        String x = b.node("Add", b.gather(b.random("word_embeddings", VOCAB, HIDDEN), "input_ids"),
                b.gather(b.random("position_embeddings", MAX_LENGTH + PADDING + 1, HIDDEN), paddedPositions(b)));
        x = b.layerNorm(x);
        String bias = b.node("Add", maskBias(b), relativePositionBias(b));
        for (int layer = 0; layer < 2; layer++) {
            x = TinyModels.layer(b, x, bias, null);
        }
        return finish(b, x);
    }

    static ModelProto debertaV2(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 17);
        inputs(b, TensorProto.DataType.INT64_VALUE, false);
        String x = b.layerNorm(b.gather(b.random("word_embeddings", VOCAB, HIDDEN), "input_ids"));
        // DeBERTa zeroes the padded positions' embeddings.
        x = b.node("Mul", x, b.unsqueeze(b.cast("attention_mask"), 2));
        String relEmbeddings = b.layerNorm(b.random("rel_embeddings", 2 * RELATIVE_SPAN, HIDDEN));
        String bias = maskBias(b);
        for (int layer = 0; layer < 2; layer++) {
            x = TinyModels.layer(b, x, bias, TinyModels.LayerWeights.random(b), relEmbeddings);
        }
        return finish(b, x);
    }

    static ModelProto tf2onnxBert(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 13).spelledOutLayerNorm();
        inputs(b, TensorProto.DataType.INT32_VALUE, true);
        return bertLayers(b, positions(b), maskBias(b));
    }

    static ModelProto torchScriptOpset11(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 11).spelledOutLayerNorm();
        inputs(b, TensorProto.DataType.INT64_VALUE, true);
        String positions = b.nodeWith("Slice", List.of(), b.longs("position_ids", new long[] {1, MAX_LENGTH}, range(MAX_LENGTH)),
                b.longs("zero", new long[] {1}, 0), b.unsqueeze(b.node("Gather", b.node("Shape", "input_ids"),
                        b.longs("one", new long[0], 1)), 0), b.longs("axis1", new long[] {1}, 1));
        return bertLayers(b, positions, maskBias(b));
    }

    static ModelProto dynamoOpset18(long seed) {
        TinyModels.Builder b = new TinyModels.Builder(seed, 18).spelledOutLayerNorm();
        inputs(b, TensorProto.DataType.INT64_VALUE, true);
        String padded = b.node("Equal", b.unsqueeze(b.unsqueeze("attention_mask", 1), 2), b.longs("no", new long[0], 0));
        return bertLayers(b, positions(b), b.node("Where", padded, b.scalar(-3.4028235e38f), b.scalar(0f)));
    }

    /** BERT's embeddings (words, the given positions, token types, LayerNorm) and two layers adding {@code bias}. */
    private static ModelProto bertLayers(TinyModels.Builder b, String positions, String bias) {
        String x = b.node("Add", b.gather(b.random("word_embeddings", VOCAB, HIDDEN), "input_ids"),
                b.gather(b.random("position_embeddings", MAX_LENGTH, HIDDEN), positions));
        x = b.layerNorm(b.node("Add", x, b.gather(b.random("token_type_embeddings", 2, HIDDEN), "token_type_ids")));
        for (int layer = 0; layer < 2; layer++) {
            x = TinyModels.layer(b, x, bias, null);
        }
        return finish(b, x);
    }

    private static void inputs(TinyModels.Builder b, int type, boolean tokenTypes) {
        b.input("input_ids", type, "batch", "sequence");
        b.input("attention_mask", type, "batch", "sequence");
        if (tokenTypes) {
            b.input("token_type_ids", type, "batch", "sequence");
        }
    }

    private static ModelProto finish(TinyModels.Builder b, String states) {
        b.output(b.identity(states, "last_hidden_state"), "batch", "sequence", HIDDEN);
        return b.build();
    }

    /** BERT's absolute positions 0 … S-1: a slice of a constant [1, P] row, as torch exports the buffer. */
    private static String positions(TinyModels.Builder b) {
        return b.node("Slice", b.longs("position_ids", new long[] {1, MAX_LENGTH}, range(MAX_LENGTH)),
                b.longs("zero", new long[] {1}, 0), b.node("Gather", b.node("Shape", "input_ids"), b.longs("one", new long[] {1}, 1)),
                b.longs("axis1", new long[] {1}, 1));
    }

    /**
     * Hugging Face's {@code create_position_ids_from_input_ids}: mask = input_ids != padding_idx;
     * (cumsum(mask, 1) * mask) + padding_idx, as torch exports it (Equal, Not, Cast, CumSum, Mul, Add).
     */
    private static String paddedPositions(TinyModels.Builder b) {
        String notPad = b.nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.INT32_VALUE)),
                b.node("Not", b.node("Equal", "input_ids", b.longs("padding_idx", new long[0], PADDING))));
        String counted = b.node("Mul", b.node("CumSum", notPad, b.longs("cumsum_axis", new long[0], 1)), notPad);
        return b.node("Add", b.nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.INT64_VALUE)), counted),
                b.longs("padding_offset", new long[0], PADDING));
    }

    /** BERT's additive mask: (1 - mask) * -10000 as [B, 1, 1, S]. */
    private static String maskBias(TinyModels.Builder b) {
        return b.node("Mul", b.node("Sub", b.scalar(1f), b.cast(b.unsqueeze(b.unsqueeze("attention_mask", 1), 2))),
                b.scalar(-10000f));
    }

    /**
     * MPNet's (T5's) bucketed relative position bias [1, heads, S, S]: relative distance j - i from two Ranges, signed
     * buckets, exact below half the buckets and logarithmic above, clipped; the bias table is [buckets, heads].
     */
    private static String relativePositionBias(TinyModels.Builder b) {
        String length = b.node("Gather", b.node("Shape", "input_ids"), b.longs("seq_axis", new long[0], 1));
        String range = b.node("Range", b.longs("range_start", new long[0], 0), length, b.longs("range_step", new long[0], 1));
        String relative = b.node("Sub", b.unsqueeze(range, 0), b.unsqueeze(range, 1));
        int half = BUCKETS / 2;
        int exact = half / 2;
        String signed = b.node("Mul", b.cast64(b.node("Greater", relative, b.longs("zero_distance", new long[0], 0))),
                b.longs("half_buckets", new long[0], half));
        String distance = b.node("Abs", relative);
        String small = b.node("Less", distance, b.longs("max_exact", new long[0], exact));
        String logScaled = b.node("Mul", b.node("Div", b.node("Log", b.node("Div", b.cast(distance), b.scalar(exact))),
                b.scalar((float) Math.log(128.0 / exact))), b.scalar(half - exact));
        String large = b.node("Min", b.node("Add", b.cast64(logScaled), b.longs("exact_offset", new long[0], exact)),
                b.longs("last_bucket", new long[0], half - 1));
        String bucket = b.node("Add", signed, b.node("Where", small, distance, large));
        String bias = b.gather(b.random("relative_attention_bias", BUCKETS, HEADS), bucket);
        return b.unsqueeze(b.transpose(bias, 2, 0, 1), 0);
    }

    static long[] range(int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}
