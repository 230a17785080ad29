package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The transform on small encoder transformers built in code, 120 random inputs each (decoders: GenerateEquivalenceTest). */
class TinyTransformerEquivalenceTest {
    private static final int INPUTS = 120;
    private final EeKey key = EeKey.generate();

    @ParameterizedTest(name = "encoder {0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void encoderMatchesPlaintext(String taskName, boolean hidden) {
        Task task = Task.parse(taskName);
        ModelProto source = TinyModels.encoder(7, null);
        float[][] prototypes = task == Task.CLASSIFY ? unitRows(4, TinyModels.HIDDEN, 3) : null;
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(task).key(key)
                .hiddenPermutation(hidden).labelPrototypes(prototypes).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(task)
                .labelPrototypes(prototypes).build());
        assertEquals(TinyModels.MAX_POSITIONS, ee.manifest().maxSequenceLength());

        List<long[]> inputs = randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1, TinyModels.MAX_POSITIONS, 11);
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        List<String> labels = List.of("a", "b", "c", "d");
        double worst = 0;
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < inputs.size(); from += 16) {
                List<long[]> clear = inputs.subList(from, Math.min(inputs.size(), from + 16));
                float[][] eeOut = eeSession.run(encrypt(clear, pi));
                float[][] plainOut = plainSession.run(clear);
                for (int i = 0; i < clear.size(); i++) {
                    float[] decrypted;
                    if (task == Task.EMBED) {
                        decrypted = decryptor.embedding(eeOut[i]);
                    } else {
                        Map<String, Float> scores = decryptor.classScores(eeOut[i], labels);
                        decrypted = new float[labels.size()];
                        for (int j = 0; j < labels.size(); j++) {
                            decrypted[j] = scores.get(labels.get(j));
                        }
                        assertEquals(Compare.argmax(plainOut[i]), Compare.argmax(decrypted));
                    }
                    if (hidden) {
                        worst = Math.max(worst, Compare.maxRelativeDifference(decrypted, plainOut[i]));
                    } else {
                        assertArrayEquals(plainOut[i], decrypted, 0f);
                    }
                }
            }
        }
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    @Test
    void anotherKeyDecryptsToWrongAnswers() {
        ModelProto source = TinyModels.encoder(7, null);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).key(key).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).build());
        List<long[]> inputs = randomSequences(32, TinyModels.ENCODER_VOCAB, 4, 20, 17);
        OutputDecryptor wrong = new OutputDecryptor(EeKey.generate());
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            float[][] plainOut = plainSession.run(inputs);
            // The wrong key both encrypts the ids and decrypts the outputs: answers are far off.
            float[][] eeOut = eeSession.run(encrypt(inputs, EeKey.generate().vocabPermutation(TinyModels.ENCODER_VOCAB)));
            for (int i = 0; i < inputs.size(); i++) {
                double diff = Compare.maxRelativeDifference(wrong.embedding(eeOut[i]), plainOut[i]);
                assertTrue(diff > 0.1, "a wrong key gave a near-correct embedding (" + diff + ")");
            }
        }
    }

    @Test
    void anOpTheAnalysisDoesNotKnowIsAnErrorNamingTheNode() {
        ModelProto source = TinyModels.encoder(7, "Trilu");
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).key(key).build()));
        assertEquals("suspicious", e.nodeName());
        assertTrue(e.getMessage().contains("'suspicious' (Trilu)"), e.getMessage());
        assertTrue(e.getMessage().contains("ρ"), e.getMessage());
    }

    @Test
    void embeddingWithoutHiddenPermutationIsRefusedAsPlaintextOutput() {
        // Without ρ the embedding would leave the server in the plaintext basis.
        ModelProto source = TinyModels.encoder(7, null);
        var spec = TransformSpec.builder(Task.EMBED).key(key).hiddenPermutation(false).build();
        var e = assertThrows(dev.eestream.runtime.EeException.class, () -> ModelTransformer.transform(source, spec));
        assertTrue(e.getMessage().contains("plaintext basis"), e.getMessage());
    }

    static List<long[]> randomSequences(int count, int vocab, int minLength, int maxLength, long seed) {
        Random r = new Random(seed);
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long[] s = new long[minLength + r.nextInt(maxLength - minLength + 1)];
            for (int j = 0; j < s.length; j++) {
                s[j] = r.nextInt(vocab);
            }
            out.add(s);
        }
        out.sort(Comparator.comparingInt(s -> s.length));
        return out;
    }

    static List<long[]> encrypt(List<long[]> clear, Permutation pi) {
        return encrypt(clear, t -> pi.apply(t));
    }

    /** Every id through {@code cipher} (π, or a homophone drawn afresh for each occurrence). */
    static List<long[]> encrypt(List<long[]> clear, java.util.function.IntToLongFunction cipher) {
        List<long[]> out = new ArrayList<>();
        for (long[] s : clear) {
            long[] c = new long[s.length];
            for (int i = 0; i < s.length; i++) {
                c[i] = cipher.applyAsLong((int) s[i]);
            }
            out.add(c);
        }
        return out;
    }

    static float[][] unitRows(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[][] out = new float[rows][cols];
        for (float[] row : out) {
            double norm = 0;
            for (int k = 0; k < cols; k++) {
                row[k] = (float) r.nextGaussian();
                norm += row[k] * row[k];
            }
            for (int k = 0; k < cols; k++) {
                row[k] /= (float) Math.sqrt(norm);
            }
        }
        return out;
    }
}
