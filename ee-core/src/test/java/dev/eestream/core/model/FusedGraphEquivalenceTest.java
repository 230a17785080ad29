package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused com.microsoft ops on small encoders built in code, EE against plaintext on 128 random inputs in batches of
 * 16: the tiny encoder as ORT's own optimizer leaves it (dynamic and fixed shapes), and an encoder written in the ops
 * ORT's transformer optimizer and model builders emit ({@link TinyFusedEncoders}). MiniLM: {@link OrtOptimizedGraphTest}.
 */
class FusedGraphEquivalenceTest {
    private static final int INPUTS = 128;
    private static final int BATCH = 16;
    private static final List<String> LABELS = List.of("a", "b", "c", "d");

    private final EeKey key = EeKey.generate();

    @Test
    void ortFusesTheTinyEncoder() throws Exception {
        Set<String> dynamic = OrtOptimizer.opTypes(OrtOptimizer.extended(TinyModels.encoder(7, null), Map.of()));
        assertTrue(dynamic.containsAll(List.of("com.microsoft:FusedMatMul", "com.microsoft:BiasGelu")), dynamic.toString());
        Set<String> fixed = OrtOptimizer.opTypes(tinyFixed());
        assertTrue(fixed.containsAll(List.of("com.microsoft:FusedMatMul", "com.microsoft:SkipLayerNormalization")), fixed.toString());
        System.out.println("ORT EXTENDED on the tiny encoder, dynamic shapes: " + dynamic + "; fixed: " + fixed);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void tinyEncoderAsOrtOptimizesItMatchesPlaintext(String task, boolean hidden) throws Exception {
        ModelProto optimized = OrtOptimizer.extended(TinyModels.encoder(7, null), Map.of());
        check("tiny encoder (ORT dynamic) " + task, Task.parse(task), compare(optimized, Task.parse(task), hidden, TinyModels.ENCODER_VOCAB,
                TinyModels.HIDDEN, TinyModels.MAX_POSITIONS, false), hidden);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void tinyEncoderAsOrtOptimizesItWithFixedShapesMatchesPlaintext(String task, boolean hidden) throws Exception {
        check("tiny encoder (ORT fixed shape) " + task, Task.parse(task), compare(tinyFixed(), Task.parse(task), hidden, TinyModels.ENCODER_VOCAB,
                TinyModels.HIDDEN, TinyModels.MAX_POSITIONS, true), hidden);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void encoderInFusedOpsMatchesPlaintext(String task, boolean hidden) throws Exception {
        ModelProto fused = TinyFusedEncoders.encoder(3, false);
        check("encoder in fused ops " + task, Task.parse(task), compare(fused, Task.parse(task), hidden, TinyFusedEncoders.VOCAB, TinyFusedEncoders.HIDDEN,
                TinyFusedEncoders.MAX_POSITIONS, false), hidden);
    }

    /**
     * Homophones through EmbedLayerNormalization: each word-table row is copied to every id of its token before π, so
     * inputs encrypted twice, with fresh ids drawn, both give the plaintext outputs.
     */
    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void encoderInFusedOpsWithHomophonesMatchesPlaintextWhicheverIdsAreSent(String task, boolean hidden) {
        Homophones homophones = HomophoneEquivalenceTest.zipf(TinyFusedEncoders.VOCAB, 4, 17);
        check("encoder in fused ops with homophones " + task, Task.parse(task), compareWithHomophones(TinyFusedEncoders.encoder(3, false),
                Task.parse(task), hidden, homophones), hidden);
    }

    @Test
    void theFusedEmbeddingsAreFoundAsTheTokenEmbedding() {
        ModelTransformer.TokenEmbedding embedding = ModelTransformer.tokenEmbedding(TinyFusedEncoders.encoder(3, false), null);
        assertEquals("input_ids", embedding.idsInput());
        assertTrue(embedding.table().startsWith("word_embeddings"), embedding.table());
        assertEquals(TinyFusedEncoders.VOCAB, embedding.vocabSize());
        assertEquals(TinyFusedEncoders.HIDDEN, embedding.hiddenSize());
        ModelTransformer.Result ee = ModelTransformer.transform(TinyFusedEncoders.encoder(3, false),
                TransformSpec.builder(Task.EMBED).key(key).build());
        assertEquals(TinyFusedEncoders.MAX_POSITIONS, ee.manifest().maxSequenceLength(), "from EmbedLayerNormalization's position table");
        ModelInspection inspection = ModelInspector.inspect(TinyFusedEncoders.encoder(3, false), "fused", ModelInspector.Options.defaults());
        assertEquals("encoder", inspection.architecture().family());
        assertEquals(TinyFusedEncoders.MAX_POSITIONS, inspection.architecture().maxSequenceLength());
        assertTrue(inspection.task("embed").hidden().possible(), "embed with ρ: " + inspection.task("embed").hidden().problem());
        assertTrue(inspection.task("classify").possible(), "classify: " + inspection.task("classify").problem());
        ModelInspection blocked = ModelInspector.inspect(TinyFusedEncoders.encoder(3, true), "fused-4bit", ModelInspector.Options.defaults());
        assertTrue(blocked.task("classify").possible(), "classify without ρ: " + blocked.task("classify").problem());
        assertTrue(!blocked.task("classify").hidden().possible() && blocked.task("classify").hidden().problem().node().startsWith("matmulnbits_"),
                "ρ blocked at the 4-bit projection: " + blocked.task("classify").hidden().problem());
    }

    /** A 4-bit weight that reads the permuted stream: its blocks run along the permuted axis, so ρ is refused there. */
    @Test
    void aMatMulNBitsReadingTheStreamIsRefusedWithTheHiddenPermutationNamingTheNode() throws Exception {
        ModelProto model = TinyFusedEncoders.encoder(3, true);
        UnsupportedModelException refused = assertThrows(UnsupportedModelException.class, () -> ModelTransformer.transform(model,
                TransformSpec.builder(Task.EMBED).key(key).build()));
        assertTrue(refused.nodeName().startsWith("matmulnbits_"), refused.getMessage());
        assertTrue(refused.getMessage().contains("(MatMulNBits)") && refused.getMessage().contains("quantization blocks"),
                refused.getMessage());
        OutputTally withoutHidden = compare(model, Task.CLASSIFY, false, TinyFusedEncoders.VOCAB, TinyFusedEncoders.HIDDEN,
                TinyFusedEncoders.MAX_POSITIONS, false);
        check("encoder with a 4-bit up-projection classify", Task.CLASSIFY, withoutHidden, false);
    }

    private static ModelProto tinyFixed() throws Exception {
        return OrtOptimizer.extended(TinyModels.encoder(7, null), Map.of("batch", (long) BATCH, "sequence", (long) TinyModels.MAX_POSITIONS));
    }

    private void check(String what, Task task, OutputTally o, boolean hidden) {
        System.out.println(what + (hidden ? " with ρ: " : " without ρ: ") + o.summary("inputs", BATCH));
        assertEquals(INPUTS, o.compared());
        assertEquals(INPUTS, o.sameArgmax());
        if (hidden) {
            assertTrue(o.worst() <= 1e-5, "max relative difference " + o.worst());
            // Class scores are reordered by σ only: a random key's σ over 4 labels is the identity once in 24, and then a
            // score vector may come out bit-equal (probably what failed CI once). Embeddings are reordered by ρ.
            if (task != Task.CLASSIFY || !key.labelPermutation(LABELS.size()).isIdentity()) {
                assertEquals(0, o.rawEqual(), "raw EE outputs differ from plaintext ones");
            }
        } else {
            assertEquals(INPUTS, o.identical(), "bit-identical");
        }
    }

    /** Like {@link #compare} on {@link TinyFusedEncoders}, each batch encrypted twice: both draws must give the same outputs. */
    private OutputTally compareWithHomophones(ModelProto model, Task task, boolean hidden, Homophones homophones) {
        float[][] prototypes = task == Task.CLASSIFY ? TinyTransformerEquivalenceTest.unitRows(LABELS.size(), TinyFusedEncoders.HIDDEN, 3)
                : null;
        ModelTransformer.Result ee = ModelTransformer.transform(model, TransformSpec.builder(task).key(key).hiddenPermutation(hidden)
                .labelPrototypes(prototypes).homophones(homophones).build());
        ModelTransformer.Result plain = ModelTransformer.transform(model, TransformSpec.builder(task).labelPrototypes(prototypes).build());
        assertEquals(homophones.slotCount(), ee.manifest().vocabSize());
        List<long[]> clear = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyFusedEncoders.VOCAB, 1,
                TinyFusedEncoders.MAX_POSITIONS, 11);
        OutputTally tally = new OutputTally(task, new OutputDecryptor(key), LABELS);
        int different = PairedRuns.homophonesInBatches(ee, plain, clear, key.vocabulary(homophones), BATCH,
                (index, eeOut, eeAgain, plainOut) -> {
                    assertArrayEquals(eeOut, eeAgain, 0f, "the ids drawn do not change the output, input " + index);
                    tally.accept("input " + index, eeOut, plainOut);
                });
        System.out.printf("homophones (%d ids for %d tokens): %d of %d inputs encrypted differently twice%n", homophones.slotCount(),
                homophones.vocabSize(), different, INPUTS);
        assertTrue(different >= INPUTS * 9 / 10, "the same input encrypts differently: " + different);
        return tally;
    }

    private OutputTally compare(ModelProto model, Task task, boolean hidden, int vocab, int width, int maxLength, boolean fixedShape)
            throws Exception {
        float[][] prototypes = task == Task.CLASSIFY ? TinyTransformerEquivalenceTest.unitRows(LABELS.size(), width, 3) : null;
        // ORT folds a fixed-shape graph's position lookup into a constant, so the maximum length is given, as a user would.
        Integer explicitLength = fixedShape ? maxLength : null;
        ModelTransformer.Result ee = ModelTransformer.transform(model, TransformSpec.builder(task).key(key).hiddenPermutation(hidden)
                .labelPrototypes(prototypes).maxSequenceLength(explicitLength).build());
        ModelTransformer.Result plain = ModelTransformer.transform(model, TransformSpec.builder(task).labelPrototypes(prototypes)
                .maxSequenceLength(explicitLength).build());
        assertEquals(hidden, ee.hiddenPermutation());
        List<long[]> clear = TinyTransformerEquivalenceTest.randomSequences(INPUTS, vocab, 1, maxLength, 11);
        List<long[]> cipher = TinyTransformerEquivalenceTest.encrypt(clear, key.vocabPermutation(vocab));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < clear.size(); i++) {
            names.add("input " + i);
        }
        OutputTally tally = new OutputTally(task, new OutputDecryptor(key), LABELS);
        if (fixedShape) {
            try (FixedShapeRuns runs = new FixedShapeRuns(ee.modelBytes(), ee.manifest(), plain.modelBytes(), plain.manifest(),
                    BATCH, maxLength)) {
                runs.inBatches(names, cipher, clear, tally);
            }
        } else {
            try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
                 ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
                for (int from = 0; from < INPUTS; from += BATCH) {
                    int to = Math.min(INPUTS, from + BATCH);
                    float[][] eeOut = eeSession.run(cipher.subList(from, to));
                    float[][] plainOut = plainSession.run(clear.subList(from, to));
                    for (int i = from; i < to; i++) {
                        tally.accept(names.get(i), eeOut[i - from], plainOut[i - from]);
                    }
                }
            }
        }
        return tally;
    }
}
