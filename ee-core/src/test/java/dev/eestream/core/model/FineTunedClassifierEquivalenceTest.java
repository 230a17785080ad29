package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.decrypt.Softmax;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ClassifierHead;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Fine-tuned classifiers with their own heads (BERT-style pooler, DistilBERT-style pre_classifier):
 * σ on the head's class rows and bias, so the EE logits, decrypted, are the plaintext logits; 120
 * random inputs each.
 */
class FineTunedClassifierEquivalenceTest {
    private static final int INPUTS = 120;

    @ParameterizedTest(name = "{0} with {1} classes, hidden permutation {2}")
    @CsvSource({"bert, 3, false", "bert, 3, true", "distilbert, 5, false", "distilbert, 5, true", "bert, 4, true",
        "albert, 3, false", "albert, 3, true", "roberta, 3, false", "roberta, 3, true"})
    void decryptedLogitsAreThePlaintextLogits(String family, int classes, boolean hidden) {
        ModelProto source = switch (family) {
            case "bert" -> TinyClassifiers.bert(5, classes);
            case "albert" -> TinyClassifiers.albert(5, classes);
            case "roberta" -> TinyClassifiers.roberta(5, classes);
            default -> TinyClassifiers.distilBert(5, classes);
        };
        EeKey key = keyWithNonIdentityLabelPermutation(classes);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY).key(key)
                .hiddenPermutation(hidden).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY).build());
        assertEquals(classes, ee.manifest().outputWidth());
        assertEquals(classes, ee.manifest().labelCount());
        assertEquals(ClassifierHead.LOGITS, ee.manifest().output());
        assertEquals(family.endsWith("bert") && !family.startsWith("distil") && !family.startsWith("ro") ? "token_type_ids" : null,
                ee.manifest().tokenTypeIdsInput());
        // ALBERT exposes only logits: ρ's width is its residual stream's (the square weights'), not the narrow table's.
        assertEquals(TinyModels.HIDDEN, ee.manifest().hiddenSize());
        List<String> outputs = ee.model().getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
        assertEquals(List.of(ClassifierHead.LOGITS), outputs);
        // A zero-shot head would add pooling, normalisation and a MatMul against the prototypes (names are opaque now).
        assertTrue(ee.model().getGraph().getNodeCount() <= source.getGraph().getNodeCount(),
                "no zero-shot head is added to a model with its own: " + ee.model().getGraph().getNodeCount() + " nodes, "
                        + source.getGraph().getNodeCount() + " in the source");

        List<String> labels = IntStream.range(0, classes).mapToObj(i -> "label" + i).toList();
        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                ee.manifest().maxSequenceLength(), 23);
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        double worstRelative = 0;
        double worstAbsolute = 0;
        int permutedRows = 0;
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < inputs.size(); from += 16) {
                List<long[]> clear = inputs.subList(from, Math.min(inputs.size(), from + 16));
                float[][] eeOut = eeSession.run(TinyTransformerEquivalenceTest.encrypt(clear, pi));
                float[][] plainOut = plainSession.run(clear);
                for (int i = 0; i < clear.size(); i++) {
                    Map<String, Float> logits = decryptor.classScores(eeOut[i], labels);
                    float[] decrypted = inLabelOrder(logits, labels);
                    permutedRows += java.util.Arrays.equals(eeOut[i], plainOut[i]) ? 0 : 1;
                    worstAbsolute = Math.max(worstAbsolute, maxAbsoluteDifference(decrypted, plainOut[i]));
                    if (hidden) {
                        worstRelative = Math.max(worstRelative, Compare.maxRelativeDifference(decrypted, plainOut[i]));
                    } else {
                        assertArrayEquals(plainOut[i], decrypted, 0f, "without ρ the logits are bit-identical");
                    }
                    assertEquals(Compare.argmax(plainOut[i]), Compare.argmax(decrypted));
                    float[] probabilities = inLabelOrder(Softmax.probabilities(logits), labels);
                    assertArrayEquals(softmax(plainOut[i]), probabilities, 1e-6f);
                }
            }
        }
        System.out.printf(Locale.ROOT, "%s, %d classes, hidden permutation %s: %d inputs, max |EE - plaintext| %.3g, "
                + "max relative %.3g%n", family, classes, hidden, INPUTS, worstAbsolute, worstRelative);
        assertTrue(worstRelative <= 1e-5, "max relative difference " + worstRelative);
        assertTrue(permutedRows > INPUTS / 2, "the server's logits come out permuted by σ (" + permutedRows + " of " + INPUTS + ")");
    }

    @Test
    void labelPrototypesForAModelWithItsOwnHeadAreRefused() {
        float[][] prototypes = TinyTransformerEquivalenceTest.unitRows(3, TinyModels.HIDDEN, 3);
        EeException e = assertThrows(EeException.class, () -> ModelTransformer.transform(TinyClassifiers.bert(5, 3),
                TransformSpec.builder(Task.CLASSIFY).key(EeKey.generate()).labelPrototypes(prototypes).build()));
        assertTrue(e.getMessage().contains("its own classifier head"), e.getMessage());
    }

    /** A head the analysis cannot rewrite along the class axis is refused, naming the node that blocks it. */
    @Test
    void aHeadWhoseClassAxisCannotBePermutedIsRefusedNamingTheNode() {
        ModelProto source = TinyClassifiers.bert(5, 3);
        ModelProto blocked = withLogitsThrough(source, "CumSum");
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelTransformer.transform(blocked,
                TransformSpec.builder(Task.CLASSIFY).key(EeKey.generate()).build()));
        assertEquals("class_mixer", e.nodeName());
        assertTrue(e.getMessage().contains("'class_mixer' (CumSum)") && e.getMessage().contains("σ"), e.getMessage());
    }

    @Test
    void aModelWithoutItsOwnHeadStaysZeroShot() {
        assertTrue(ClassifierHead.find(TinyModels.encoder(7, null), null).isEmpty());
        assertEquals(new ClassifierHead(ClassifierHead.LOGITS, 4), ClassifierHead.find(TinyClassifiers.distilBert(5, 4), null)
                .orElseThrow());
    }

    /** An export that leaves the class count symbolic: it is read from the head's weight (Gemm [C, d]) or bias (MatMul + Add). */
    @Test
    void aSymbolicClassCountIsReadFromTheHeadsWeights() {
        assertEquals(3, ClassifierHead.find(withSymbolicClassCount(TinyClassifiers.bert(5, 3)), null).orElseThrow().classCount());
        assertEquals(4, ClassifierHead.find(withSymbolicClassCount(TinyClassifiers.distilBert(5, 4)), null).orElseThrow()
                .classCount());
        ModelTransformer.Result ee = ModelTransformer.transform(withSymbolicClassCount(TinyClassifiers.bert(5, 3)),
                TransformSpec.builder(Task.CLASSIFY).key(EeKey.generate()).build());
        assertEquals(3, ee.manifest().outputWidth());
    }

    private static ModelProto withSymbolicClassCount(ModelProto source) {
        var graph = source.getGraph().toBuilder();
        var logits = graph.getOutputBuilder(0);
        logits.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(1).setDimParam("num_labels");
        return source.toBuilder().setGraph(graph).build();
    }

    /** The classifier's output renamed, then a CumSum over the classes exposed as {@code logits}: no rule rewrites a CumSum. */
    private static ModelProto withLogitsThrough(ModelProto source, String opType) {
        var graph = source.getGraph().toBuilder();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto node = graph.getNode(i);
            if (node.getOutput(0).equals(ClassifierHead.LOGITS)) {
                graph.setNode(i, node.toBuilder().setOutput(0, "head_logits"));
            }
        }
        graph.addInitializer(dev.eestream.core.model.onnx.OnnxTensors.longTensor("class_axis", new long[0], new long[] {1}));
        graph.addNode(NodeProto.newBuilder().setName("class_mixer").setOpType(opType).addInput("head_logits")
                .addInput("class_axis").addOutput(ClassifierHead.LOGITS));
        return source.toBuilder().setGraph(graph).build();
    }

    static EeKey keyWithNonIdentityLabelPermutation(int classes) {
        EeKey key = EeKey.generate();
        while (key.labelPermutation(classes).isIdentity()) {
            key = EeKey.generate();
        }
        return key;
    }

    private static float[] inLabelOrder(Map<String, Float> byLabel, List<String> labels) {
        float[] out = new float[labels.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = byLabel.get(labels.get(j));
        }
        return out;
    }

    private static float[] softmax(float[] logits) {
        double largest = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            largest = Math.max(largest, logit);
        }
        double total = 0;
        for (float logit : logits) {
            total += Math.exp(logit - largest);
        }
        float[] out = new float[logits.length];
        for (int j = 0; j < logits.length; j++) {
            out[j] = (float) (Math.exp(logits[j] - largest) / total);
        }
        return out;
    }

    private static double maxAbsoluteDifference(float[] actual, float[] expected) {
        double worst = 0;
        for (int j = 0; j < actual.length; j++) {
            worst = Math.max(worst, Math.abs((double) actual[j] - expected[j]));
        }
        return worst;
    }
}
