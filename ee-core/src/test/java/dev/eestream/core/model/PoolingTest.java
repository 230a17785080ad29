package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.Pooling;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.nio.LongBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** [CLS] pooling (BGE): the embed head takes the first position's state, L2-normalised, and stays exact under ρ. */
class PoolingTest {
    private final EeKey key = EeKey.generate();

    @Test
    void clsPoolingIsTheFirstStateNormalisedAndExactUnderRho() throws Exception {
        var source = TinyModels.encoder(7, null);
        var ee = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).key(key).pooling(Pooling.CLS).build());
        var plain = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).pooling(Pooling.CLS).build());
        var mean = ModelTransformer.transform(source, TransformSpec.builder(Task.EMBED).build());
        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(48, TinyModels.ENCODER_VOCAB, 2,
                TinyModels.MAX_POSITIONS, 13);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        double worst = 0;
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest());
             ModelSession meanSession = ModelSession.open(mean.modelBytes(), mean.manifest());
             OrtEnvironment env = OrtEnvironment.getEnvironment();
             OrtSession raw = env.createSession(source.toByteArray())) {
            for (int from = 0; from < inputs.size(); from += 16) {
                List<long[]> clear = inputs.subList(from, from + 16);
                float[][] eeOut = eeSession.run(TinyTransformerEquivalenceTest.encrypt(clear, key.vocabPermutation(TinyModels.ENCODER_VOCAB)));
                float[][] plainOut = plainSession.run(clear);
                float[][] meanOut = meanSession.run(clear);
                for (int i = 0; i < clear.size(); i++) {
                    worst = Math.max(worst, Compare.maxRelativeDifference(decryptor.embedding(eeOut[i]), plainOut[i]));
                    assertArrayEquals(normalisedFirstState(env, raw, clear.get(i)), plainOut[i], 1e-6f);
                    assertTrue(Compare.maxRelativeDifference(meanOut[i], plainOut[i]) > 1e-3, "cls differs from mean pooling");
                }
            }
        }
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    @Test
    void aClassifierWithItsOwnHeadRefusesAPooling() {
        EeException e = assertThrows(EeException.class, () -> ModelTransformer.transform(TinyClassifiers.bert(5, 3),
                TransformSpec.builder(Task.CLASSIFY).key(key).pooling(Pooling.CLS).build()));
        assertTrue(e.getMessage().contains("does its own pooling"), e.getMessage());
    }

    /** last_hidden_state[0] of the source model for one unpadded sequence, divided by its norm. */
    private static float[] normalisedFirstState(OrtEnvironment env, OrtSession raw, long[] ids) throws Exception {
        long[] mask = new long[ids.length];
        java.util.Arrays.fill(mask, 1);
        long[] shape = {1, ids.length};
        try (OnnxTensor idsTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor maskTensor = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OrtSession.Result r = raw.run(Map.of("input_ids", idsTensor, "attention_mask", maskTensor))) {
            float[] first = ((float[][][]) r.get(0).getValue())[0][0];
            double norm = 0;
            for (float v : first) {
                norm += v * v;
            }
            float[] out = new float[first.length];
            for (int k = 0; k < out.length; k++) {
                out[k] = (float) (first[k] / Math.max(Math.sqrt(norm), 1e-12));
            }
            return out;
        }
    }
}
