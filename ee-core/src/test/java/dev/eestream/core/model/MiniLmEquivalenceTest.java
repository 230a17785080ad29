package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.Compare;
import dev.eestream.core.TestTexts;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** decrypt(EE model(encrypt(x))) against plaintext model(x) on the real all-MiniLM-L6-v2. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MiniLmEquivalenceTest {
    private static final List<String> LABELS = List.of("finance and payments", "sports", "technology and computing",
            "health and medicine", "politics");
    private static final int BATCH = 16;

    private ModelProto source;
    private TokenizerJson tokenizerJson;
    private final EeKey key = EeKey.generate();
    private List<String> texts;

    @BeforeAll
    void load() throws Exception {
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        tokenizerJson = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        // Sorted by length, as the processor batches, so one long text does not pad a whole batch.
        texts = new ArrayList<>(TestTexts.varied(110, 42));
        texts.sort(java.util.Comparator.comparingInt(String::length));
    }

    @Test
    void embeddingsWithHiddenPermutationMatchPlaintextWithin1e5() throws Exception {
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizerJson,
                TransformSpec.builder(Task.EMBED).key(key).modelId("emb").build(), null, s -> { });
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizerJson,
                TransformSpec.builder(Task.EMBED).modelId("emb-plain").build(), null, s -> { });
        assertTrue(ee.hiddenPermutation());
        assertEquals(384, ee.manifest().outputWidth());

        OutputDecryptor decryptor = new OutputDecryptor(key);
        double[] worst = {0};
        int[] rawDiffers = {0};
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizerJson, key, ee.manifest().vocabSize(), null);
             ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            PairedRuns.inBatches(tok, eeSession, plainSession, texts, BATCH, (text, eeOut, plainOut) -> {
                worst[0] = Math.max(worst[0], Compare.maxRelativeDifference(decryptor.embedding(eeOut), plainOut));
                rawDiffers[0] += Arrays.equals(eeOut, plainOut) ? 0 : 1;
            });
        }
        System.out.printf("MiniLM embed with ρ: %d texts, max relative difference %.3g%n", texts.size(), worst[0]);
        assertTrue(worst[0] <= 1e-5, "max relative difference " + worst[0]);
        assertEquals(texts.size(), rawDiffers[0], "raw EE embeddings must differ from plaintext ones");
    }

    @Test
    void classificationWithoutHiddenPermutationIsBitIdentical() throws Exception {
        checkClassification(false);
    }

    @Test
    void classificationWithHiddenPermutationAgreesOnEveryLabel() throws Exception {
        checkClassification(true);
    }

    private void checkClassification(boolean hidden) throws Exception {
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizerJson,
                TransformSpec.builder(Task.CLASSIFY).key(key).hiddenPermutation(hidden).modelId("cls").build(), LABELS, s -> { });
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizerJson,
                TransformSpec.builder(Task.CLASSIFY).modelId("cls-plain").build(), LABELS, s -> { });
        assertEquals(hidden, ee.hiddenPermutation());
        OutputDecryptor decryptor = new OutputDecryptor(key);
        int maxLength = ee.manifest().maxSequenceLength();
        double worst = 0;
        int checked = 0;
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizerJson, key, ee.manifest().vocabSize(), maxLength);
             ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < texts.size(); from += BATCH) {
                List<String> chunk = texts.subList(from, Math.min(texts.size(), from + BATCH));
                List<long[]> cipher = new ArrayList<>();
                List<long[]> clear = new ArrayList<>();
                for (String t : chunk) {
                    long[] c = tok.encrypt(t);
                    long[] p = tok.encodePlain(t);
                    assertFalse(Arrays.equals(c, p), "ciphertext ids must differ from plaintext ids");
                    assertTrue(c.length <= maxLength);
                    cipher.add(c);
                    clear.add(p);
                }
                float[][] eeOut = eeSession.run(cipher);
                float[][] plainOut = plainSession.run(clear);
                for (int i = 0; i < chunk.size(); i++) {
                    Map<String, Float> decrypted = decryptor.classScores(eeOut[i], LABELS);
                    float[] ordered = new float[LABELS.size()];
                    for (int j = 0; j < ordered.length; j++) {
                        ordered[j] = decrypted.get(LABELS.get(j));
                    }
                    if (hidden) {
                        worst = Math.max(worst, Compare.maxRelativeDifference(ordered, plainOut[i]));
                    } else {
                        assertArrayEquals(plainOut[i], ordered, 0.0f, "scores of \"" + chunk.get(i) + "\"");
                    }
                    assertEquals(Compare.argmax(plainOut[i]), Compare.argmax(ordered), "label of \"" + chunk.get(i) + "\"");
                    checked++;
                }
            }
        }
        assertEquals(texts.size(), checked);
        System.out.printf("MiniLM classify (ρ %s): %d texts, labels all equal, max relative difference %.3g%n",
                hidden ? "on" : "off", checked, worst);
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }
}
