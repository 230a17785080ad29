package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.model.Task;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each encoder family and exporter layout of {@link TinyEncoderFamilies}: decrypt(EE model(encrypt(x))) against the
 * plaintext model(x) on 120 random inputs in batches of 16, as the processor runs them. Without ρ the outputs must
 * be bit-identical; with ρ the sums run in another order, so within 1e-5 relative.
 */
class EncoderFamilyEquivalenceTest {
    private static final int INPUTS = 120;
    private static final int BATCH = 16;
    private static final List<String> LABELS = List.of("a", "b", "c", "d");
    private final EeKey key = EeKey.generate();

    @ParameterizedTest(name = "{0}: {1}, hidden permutation {2}")
    @CsvSource({
        "roberta, embed, true", "roberta, classify, false", "roberta, classify, true",
        "albert, embed, true", "albert, classify, false", "albert, classify, true",
        "mpnet, embed, true", "mpnet, classify, false", "mpnet, classify, true",
        "deberta-v2, embed, true", "deberta-v2, classify, false", "deberta-v2, classify, true",
        "bert-tf2onnx-int32, embed, true", "bert-tf2onnx-int32, classify, false", "bert-tf2onnx-int32, classify, true",
        "bert-torchscript-opset11, embed, true", "bert-torchscript-opset11, classify, false",
        "bert-torchscript-opset11, classify, true",
        "bert-dynamo-opset18, embed, true", "bert-dynamo-opset18, classify, false", "bert-dynamo-opset18, classify, true"})
    void familyMatchesPlaintext(String family, String taskName, boolean hidden) {
        Task task = Task.parse(taskName);
        ModelProto source = TinyEncoderFamilies.build(family, 5);
        float[][] prototypes = task == Task.CLASSIFY ? TinyTransformerEquivalenceTest.unitRows(LABELS.size(),
                TinyEncoderFamilies.HIDDEN, 3) : null;
        // DeBERTa has no absolute position table to read the maximum length from.
        Integer fallback = family.startsWith("deberta") ? TinyEncoderFamilies.MAX_LENGTH : null;
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(task).key(key)
                .hiddenPermutation(hidden).labelPrototypes(prototypes).fallbackMaxSequenceLength(fallback).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(task)
                .labelPrototypes(prototypes).fallbackMaxSequenceLength(fallback).build());
        assertEquals(TinyEncoderFamilies.MAX_LENGTH, ee.manifest().maxSequenceLength());
        assertEquals(TinyEncoderFamilies.HIDDEN, ee.manifest().hiddenSize());

        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyEncoderFamilies.VOCAB, 1,
                TinyEncoderFamilies.MAX_LENGTH, 23);
        Permutation pi = key.vocabPermutation(TinyEncoderFamilies.VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        double[] worst = {0};
        int[] compared = {0};
        PairedRuns.idsInBatches(ee, plain, inputs, pi, BATCH, (index, eeOut, plainOut) -> {
            float[] decrypted = task == Task.EMBED ? decryptor.embedding(eeOut)
                    : PairedRuns.byLabel(decryptor.classScores(eeOut, LABELS), LABELS);
            if (task == Task.CLASSIFY) {
                assertEquals(Compare.argmax(plainOut), Compare.argmax(decrypted));
            }
            if (hidden) {
                worst[0] = Math.max(worst[0], Compare.maxRelativeDifference(decrypted, plainOut));
            } else {
                assertArrayEquals(plainOut, decrypted, 0f, family + " input " + index);
            }
            compared[0]++;
        });
        assertEquals(INPUTS, compared[0]);
        System.out.printf(java.util.Locale.ROOT, "%s, %s, hidden permutation %s: %d inputs, max relative difference %.3g%n",
                family, taskName, hidden, compared[0], worst[0]);
        assertTrue(worst[0] <= 1e-5, family + ": max relative difference " + worst[0]);
    }

    @Test
    void albertsFactorisedTableGetsItsOwnPermutationAndRhoEntersAtTheProjection() {
        ModelProto source = TinyEncoderFamilies.albert(5);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).key(key).build());
        TensorProto table = ee.model().getGraph().getInitializerList().stream()
                .filter(t -> t.getDimsCount() == 2 && t.getDims(0) == TinyEncoderFamilies.VOCAB).findFirst().orElseThrow();
        assertEquals(TinyEncoderFamilies.EMBEDDING, table.getDims(1));
        assertEquals(TinyEncoderFamilies.HIDDEN, ee.manifest().hiddenSize());
        // The three shared layers read one ρ copy of each weight, not three.
        long weights = ee.model().getGraph().getInitializerList().stream()
                .filter(t -> t.getDimsCount() == 2 && t.getDims(0) == TinyEncoderFamilies.HIDDEN
                        && t.getDims(1) == TinyEncoderFamilies.HIDDEN).count();
        assertEquals(4, weights, "query, key, value and output weights, once each");
        // The projection E → d: rows under ρₑ, columns under ρ; the same values, moved.
        float[] projection = floats(ee.model().getGraph().getInitializerList(), TinyEncoderFamilies.EMBEDDING);
        float[] original = floats(source.getGraph().getInitializerList(), TinyEncoderFamilies.EMBEDDING);
        assertFalse(java.util.Arrays.equals(original, projection), "the projection is permuted");
        java.util.Arrays.sort(projection);
        java.util.Arrays.sort(original);
        assertArrayEquals(original, projection, 0f);
    }

    @Test
    void robertaComparesWithTheCiphertextOfItsPaddingId() {
        ModelProto source = TinyEncoderFamilies.roberta(5);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).key(key).build());
        NodeProto equal = ee.model().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Equal"))
                .findFirst().orElseThrow();
        TensorProto constant = ee.model().getGraph().getInitializerList().stream()
                .filter(t -> equal.getInputList().contains(t.getName())).findFirst().orElseThrow();
        int pad = TinyEncoderFamilies.PADDING;
        assertEquals(key.vocabPermutation(TinyEncoderFamilies.VOCAB).apply(pad), OnnxTensors.longValues(constant)[0]);
        // Pads are the ciphertext of 0, so the padded rows' position ids are the plaintext model's.
        assertEquals(key.vocabPermutation(TinyEncoderFamilies.VOCAB).apply(0), ee.manifest().padId());
    }

    @Test
    void int32InputsAreFedAsInt64AndCastInsideTheModel() {
        ModelTransformer.Result ee = ModelTransformer.transform(TinyEncoderFamilies.tf2onnxBert(5),
                TransformSpec.builder(Task.EMBED).key(key).build());
        ee.model().getGraph().getInputList().forEach(in -> assertEquals(TensorProto.DataType.INT64_VALUE,
                in.getType().getTensorType().getElemType(), in.getName()));
    }

    @Test
    void comparingCiphertextIdsWithAComputedTensorIsRefusedNamingTheNode() {
        TinyModels.Builder b = new TinyModels.Builder(5, 17);
        b.input("input_ids", TensorProto.DataType.INT64_VALUE, "batch", "sequence");
        b.input("attention_mask", TensorProto.DataType.INT64_VALUE, "batch", "sequence");
        String words = b.gather(b.random("word_embeddings", TinyEncoderFamilies.VOCAB, TinyEncoderFamilies.HIDDEN), "input_ids");
        String shifted = b.node("Add", "attention_mask", b.longs("one", new long[0], 1));
        String same = b.cast(b.unsqueeze(b.named("compare_ids", "Equal", "input_ids", shifted), 2));
        b.output(b.identity(b.node("Mul", words, same), "last_hidden_state"), "batch", "sequence", TinyEncoderFamilies.HIDDEN);
        ModelProto source = b.build();
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelTransformer.transform(
                source, TransformSpec.builder(Task.EMBED).key(key).fallbackMaxSequenceLength(8).build()));
        assertEquals("compare_ids", e.nodeName());
        assertTrue(e.getMessage().contains("not a constant integer token id"), e.getMessage());
    }

    /** The values of the one [rows, HIDDEN] float initializer. */
    private static float[] floats(List<TensorProto> initializers, int rows) {
        TensorProto t = initializers.stream().filter(i -> i.getDimsCount() == 2 && i.getDims(0) == rows
                && i.getDims(1) == TinyEncoderFamilies.HIDDEN).findFirst().orElseThrow();
        java.nio.FloatBuffer values = java.nio.ByteBuffer.wrap(OnnxTensors.rawBytes(t)).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[] out = new float[values.remaining()];
        values.get(out);
        return out;
    }
}
