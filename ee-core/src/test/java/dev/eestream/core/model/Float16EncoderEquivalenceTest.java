package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.model.Task;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * float16 encoders (weights, activations and outputs in float16, as onnxconverter-common converts them): π and ρ move
 * whole float16 rows and columns, and the heads read the output through an exact Cast to float32. 120 random inputs
 * in batches of 16: bit-identical without ρ; with ρ the float16 sums run in another order, so the bound is float16's.
 * The real MiniLM is not among them: converted naively (every op in float16) its LayerNorm variance overflows and the
 * plaintext model itself outputs NaN; converters keep such ops in float32.
 */
class Float16EncoderEquivalenceTest {
    private static final int INPUTS = 120;
    private static final List<String> LABELS = List.of("a", "b", "c", "d");
    private final EeKey key = EeKey.generate();

    @ParameterizedTest(name = "{0}: {1}, hidden permutation {2}")
    @CsvSource({"bert, embed, true", "bert, classify, false", "bert, classify, true", "roberta, classify, false",
        "bert-classifier, classify, false", "bert-classifier, classify, true"})
    void float16MatchesPlaintext(String family, String taskName, boolean hidden) {
        Task task = Task.parse(taskName);
        ModelProto source = float16(family);
        float[][] prototypes = prototypes(family, task);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(task).key(key)
                .hiddenPermutation(hidden).labelPrototypes(prototypes).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(task)
                .labelPrototypes(prototypes).build());

        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                ee.manifest().maxSequenceLength(), 29);
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        Agreement agreement = new Agreement(task, hidden);
        PairedRuns.idsInBatches(ee, plain, inputs, pi, 16, (index, eeOut, plainOut) -> {
            for (float v : plainOut) {
                assertTrue(Float.isFinite(v), "the float16 model's outputs are finite");
            }
            agreement.add(index, eeOut, plainOut);
        });
        System.out.printf(Locale.ROOT, "float16 %s, %s, hidden permutation %s: %d inputs, %s%n", family, taskName, hidden,
                INPUTS, agreement);
        agreement.assertClose();
    }

    /**
     * Homophones on a float16 table: its rows are copied whole to every id of their token, so whichever ids are drawn the
     * outputs are the plaintext ones, bit-identical without ρ and within float16's bound with it, and the same both times.
     * RoBERTa compares token ids, which homophones refuse ({@link HomophoneEquivalenceTest}).
     */
    @ParameterizedTest(name = "{0}: {1}, hidden permutation {2}")
    @CsvSource({"bert, embed, true", "bert, classify, false", "bert, classify, true", "bert-classifier, classify, false",
        "bert-classifier, classify, true"})
    void float16WithHomophonesMatchesPlaintextWhicheverIdsAreSent(String family, String taskName, boolean hidden) {
        Task task = Task.parse(taskName);
        ModelProto source = float16(family);
        float[][] prototypes = prototypes(family, task);
        Homophones homophones = HomophoneEquivalenceTest.zipf(TinyModels.ENCODER_VOCAB, 4, 13);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(task).key(key)
                .hiddenPermutation(hidden).labelPrototypes(prototypes).homophones(homophones).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(task)
                .labelPrototypes(prototypes).build());
        assertEquals(homophones.slotCount(), ee.manifest().vocabSize());

        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                ee.manifest().maxSequenceLength(), 29);
        Agreement agreement = new Agreement(task, hidden);
        int different = PairedRuns.homophonesInBatches(ee, plain, inputs, key.vocabulary(homophones), 16,
                (index, eeOut, eeAgain, plainOut) -> {
                    assertArrayEquals(eeOut, eeAgain, 0f, "the ids drawn do not change the output, input " + index);
                    agreement.add(index, eeOut, plainOut);
                });
        System.out.printf(Locale.ROOT, "float16 %s, %s, hidden permutation %s, homophones (%d ids for %d tokens): %d inputs, "
                + "%d encrypted differently twice, %s%n", family, taskName, hidden, homophones.slotCount(),
                homophones.vocabSize(), INPUTS, different, agreement);
        assertTrue(different >= INPUTS * 9 / 10, "the same input encrypts differently: " + different);
        agreement.assertClose();
    }

    /** Decrypted EE outputs against plaintext: bit-identical without ρ; with it, the worst difference and top labels. */
    private final class Agreement {
        private final Task task;
        private final boolean hidden;
        private final OutputDecryptor decryptor = new OutputDecryptor(key);
        double worst;
        int sameTop;

        Agreement(Task task, boolean hidden) {
            this.task = task;
            this.hidden = hidden;
        }

        void add(int index, float[] eeOut, float[] plainOut) {
            float[] decrypted = task == Task.EMBED ? decryptor.embedding(eeOut)
                    : PairedRuns.byLabel(decryptor.classScores(eeOut, LABELS), LABELS);
            if (hidden) {
                worst = Math.max(worst, maxAbsoluteDifference(decrypted, plainOut));
                sameTop += task == Task.CLASSIFY && Compare.argmax(plainOut) == Compare.argmax(decrypted) ? 1 : 0;
            } else {
                assertArrayEquals(plainOut, decrypted, 0f, "without ρ float16 outputs are bit-identical, input " + index);
            }
        }

        void assertClose() {
            // float16 keeps 11 significant bits: sums in another order differ by a few units in the last place.
            assertTrue(worst <= 1e-3, "max absolute difference " + worst);
            if (task == Task.CLASSIFY && hidden) {
                assertTrue(sameTop >= INPUTS * 0.95, "same top label for " + sameTop + " of " + INPUTS);
            }
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "max |EE - plaintext| %.3g%s", worst,
                    task == Task.CLASSIFY && hidden ? ", same top label " + sameTop : "");
        }
    }

    private static ModelProto float16(String family) {
        ModelProto source = Float16Models.convert(switch (family) {
            case "bert" -> TinyModels.encoder(7, null);
            case "roberta" -> TinyEncoderFamilies.roberta(5);
            default -> TinyClassifiers.bert(5, LABELS.size());
        });
        assertTrue(source.getGraph().getInitializerList().stream()
                .anyMatch(t -> t.getDataType() == TensorProto.DataType.FLOAT16_VALUE && t.getDimsCount() == 2));
        return source;
    }

    /** Zero-shot prototypes, except for a fine-tuned classifier, which has its own head. */
    private static float[][] prototypes(String family, Task task) {
        return task == Task.CLASSIFY && !family.endsWith("classifier")
                ? TinyTransformerEquivalenceTest.unitRows(LABELS.size(), TinyModels.HIDDEN, 3) : null;
    }

    private static double maxAbsoluteDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
