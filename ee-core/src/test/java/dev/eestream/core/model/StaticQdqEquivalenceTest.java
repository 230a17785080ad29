package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.model.Task;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Static QDQ models (int8 weights and tables behind DequantizeLinear, QuantizeLinear/DequantizeLinear before every
 * MatMul's activation): π moves the int8 table's rows (and a per-row scale with them), so classification without ρ is
 * bit-identical on 120 inputs; ρ is refused at the first QuantizeLinear it would reach, naming it.
 */
class StaticQdqEquivalenceTest {
    private static final int INPUTS = 120;
    private static final List<String> LABELS = List.of("a", "b", "c", "d");
    /** σ must move something, or "the scores come out permuted" could not be checked. */
    private final EeKey key = FineTunedClassifierEquivalenceTest.keyWithNonIdentityLabelPermutation(LABELS.size());

    @ParameterizedTest(name = "per-row table scale {0}")
    @ValueSource(booleans = {false, true})
    void classificationWithoutHiddenPermutationIsBitIdentical(boolean perRowTable) {
        ModelProto source = QdqModels.quantizeStatic(TinyModels.encoder(7, null), "word_embeddings", perRowTable);
        assertTrue(source.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("QuantizeLinear")));
        float[][] prototypes = TinyTransformerEquivalenceTest.unitRows(LABELS.size(), TinyModels.HIDDEN, 3);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY).key(key)
                .hiddenPermutation(false).labelPrototypes(prototypes).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY)
                .labelPrototypes(prototypes).build());
        assertEquals(TinyModels.ENCODER_VOCAB, ee.manifest().vocabSize());
        assertEquals(TinyModels.MAX_POSITIONS, ee.manifest().maxSequenceLength());

        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                TinyModels.MAX_POSITIONS, 31);
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        int[] compared = {0};
        int[] permuted = {0};
        PairedRuns.idsInBatches(ee, plain, inputs, pi, 16, (index, eeOut, plainOut) -> {
            assertArrayEquals(plainOut, PairedRuns.byLabel(decryptor.classScores(eeOut, LABELS), LABELS), 0f, "input " + index);
            permuted[0] += java.util.Arrays.equals(eeOut, plainOut) ? 0 : 1;
            compared[0]++;
        });
        assertEquals(INPUTS, compared[0]);
        assertTrue(permuted[0] > INPUTS / 2, "the server's scores come out permuted by σ (" + permuted[0] + ")");
    }

    /**
     * Homophones on an int8 table: its rows, and a per-row scale and zero point with them, are copied to every id of their
     * token before π, so inputs encrypted twice, with fresh ids drawn, both classify bit-identically to plaintext.
     */
    @ParameterizedTest(name = "per-row table scale {0}")
    @ValueSource(booleans = {false, true})
    void classificationWithHomophonesIsBitIdenticalWhicheverIdsAreSent(boolean perRowTable) {
        ModelProto source = QdqModels.quantizeStatic(TinyModels.encoder(7, null), "word_embeddings", perRowTable);
        float[][] prototypes = TinyTransformerEquivalenceTest.unitRows(LABELS.size(), TinyModels.HIDDEN, 3);
        Homophones homophones = HomophoneEquivalenceTest.zipf(TinyModels.ENCODER_VOCAB, 4, 19);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY).key(key)
                .hiddenPermutation(false).labelPrototypes(prototypes).homophones(homophones).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.CLASSIFY)
                .labelPrototypes(prototypes).build());
        assertEquals(homophones.slotCount(), ee.manifest().vocabSize());

        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                TinyModels.MAX_POSITIONS, 31);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        int[] compared = {0};
        int different = PairedRuns.homophonesInBatches(ee, plain, inputs, key.vocabulary(homophones), 16,
                (index, eeOut, eeAgain, plainOut) -> {
                    assertArrayEquals(eeOut, eeAgain, 0f, "the ids drawn do not change the output, input " + index);
                    assertArrayEquals(plainOut, PairedRuns.byLabel(decryptor.classScores(eeOut, LABELS), LABELS), 0f,
                            "input " + index);
                    compared[0]++;
                });
        System.out.printf("static QDQ, per-row table scale %s, homophones (%d ids for %d tokens): %d inputs bit-identical, "
                + "%d encrypted differently twice%n", perRowTable, homophones.slotCount(), homophones.vocabSize(), compared[0],
                different);
        assertEquals(INPUTS, compared[0]);
        assertTrue(different >= INPUTS * 9 / 10, "the same input encrypts differently: " + different);
    }

    @Test
    void hiddenPermutationIsRefusedAtTheFirstQuantizeLinear() {
        ModelProto source = QdqModels.quantizeStatic(TinyModels.encoder(7, null), "word_embeddings", true);
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, () -> ModelTransformer.transform(source,
                TransformSpec.builder(Task.EMBED).key(key).build()));
        List<String> quantizers = source.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("QuantizeLinear"))
                .map(NodeProto::getName).toList();
        assertTrue(quantizers.contains(e.nodeName()), e.getMessage());
        assertTrue(e.getMessage().contains("(QuantizeLinear)") && e.getMessage().contains("token permutation alone is"),
                e.getMessage());
    }
}
