package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.model.transform.ClassifierHead;
import java.util.List;

/**
 * Fine-tuned sequence classifiers with random weights, in the layout Hugging Face exports
 * {@code AutoModelForSequenceClassification} to ONNX (inputs {@code input_ids}, {@code attention_mask}
 * and, for BERT, {@code token_type_ids}; one output {@code logits} [batch, C]). No fine-tuned classifier
 * can be downloaded here, so tests build the two head structures in code, on {@link TinyModels}'s encoder.
 */
public final class TinyClassifiers {
    private TinyClassifiers() {
    }

    /**
     * BERT's head: the [CLS] position picked by a Gather, the pooler (Gemm, Tanh), then the classifier
     * Gemm with its weight stored [C, d] ({@code transB} 1), as torch exports {@code nn.Linear} on 2-D input.
     */
    public static ModelProto bert(long seed, int classes) {
        TinyModels.Builder builder = new TinyModels.Builder(seed, 17);
        return poolerHead(builder, TinyModels.encoderBody(builder, null, true), classes);
    }

    /** ALBERT ({@link TinyEncoderFamilies#albert}: factorised embedding, shared layers) with BERT's pooler head. */
    public static ModelProto albert(long seed, int classes) {
        TinyModels.Builder builder = new TinyModels.Builder(seed, 17);
        return poolerHead(builder, TinyEncoderFamilies.albertBody(builder), classes);
    }

    /** RoBERTa ({@link TinyEncoderFamilies#roberta}) with its classification head: dense, Tanh, out_proj on [CLS]. */
    public static ModelProto roberta(long seed, int classes) {
        TinyModels.Builder builder = new TinyModels.Builder(seed, 17);
        return poolerHead(builder, TinyEncoderFamilies.robertaBody(builder), classes);
    }

    private static ModelProto poolerHead(TinyModels.Builder builder, String states, int classes) {
        String first = builder.nodeWith("Gather", List.of(intAttr("axis", 1)), states,
                builder.longs("cls_position", new long[0], 0));
        String pooled = builder.node("Tanh", builder.nodeWith("Gemm", List.of(intAttr("transB", 1)), first,
                builder.random("pooler_dense_weight", TinyModels.HIDDEN, TinyModels.HIDDEN),
                builder.random("pooler_dense_bias", TinyModels.HIDDEN)));
        builder.namedWith(ClassifierHead.LOGITS, "Gemm", List.of(intAttr("transB", 1)), pooled,
                builder.random("classifier_weight", classes, TinyModels.HIDDEN), builder.random("classifier_bias", classes));
        builder.output(ClassifierHead.LOGITS, "batch", classes);
        return builder.build();
    }

    /**
     * DistilBERT's head: no token types, no pooler; {@code hidden_state[:, 0]} as Slice and Squeeze, then
     * {@code pre_classifier} (MatMul + Add, weight stored [d, d]), ReLU, and the classifier as MatMul + Add
     * with its weight stored [d, C].
     */
    public static ModelProto distilBert(long seed, int classes) {
        TinyModels.Builder builder = new TinyModels.Builder(seed, 17);
        String states = TinyModels.encoderBody(builder, null, false);
        String firstPosition = builder.node("Slice", states, builder.longs("cls_start", new long[] {1}, 0),
                builder.longs("cls_end", new long[] {1}, 1), builder.longs("cls_axis", new long[] {1}, 1));
        String first = builder.node("Squeeze", firstPosition, builder.longs("squeezed_axis", new long[] {1}, 1));
        String preClassified = builder.node("Relu", builder.node("Add",
                builder.node("MatMul", first, builder.random("pre_classifier_weight", TinyModels.HIDDEN, TinyModels.HIDDEN)),
                builder.random("pre_classifier_bias", TinyModels.HIDDEN)));
        builder.named(ClassifierHead.LOGITS, "Add",
                builder.node("MatMul", preClassified, builder.random("classifier_weight", TinyModels.HIDDEN, classes)),
                builder.random("classifier_bias", classes));
        builder.output(ClassifierHead.LOGITS, "batch", classes);
        return builder.build();
    }
}
