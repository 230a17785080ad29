package dev.eestream.core.model;

import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Texts through an EE session (encrypted ids) and a plaintext session (plain ids) side by side, in equal batches. */
final class PairedRuns {
    /** What to do with one text's two outputs. */
    interface Each {
        void accept(String text, float[] eeOutput, float[] plainOutput);
    }

    /** What to do with one input's two outputs; {@code index} counts the inputs from 0. */
    interface EachInput {
        void accept(int index, float[] eeOutput, float[] plainOutput);
    }

    /** What to do with one input's outputs when its ids were drawn twice among the homophones. */
    interface EachDrawnTwice {
        void accept(int index, float[] eeOutput, float[] eeAgain, float[] plainOutput);
    }

    private PairedRuns() {
    }

    /** Token-id sequences through an EE model (encrypted with π) and its plaintext twin, in equal batches. */
    static void idsInBatches(ModelTransformer.Result ee, ModelTransformer.Result plain, List<long[]> inputs, Permutation pi,
            int batch, EachInput each) {
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < inputs.size(); from += batch) {
                List<long[]> clear = inputs.subList(from, Math.min(inputs.size(), from + batch));
                float[][] eeOut = eeSession.run(TinyTransformerEquivalenceTest.encrypt(clear, pi));
                float[][] plainOut = plainSession.run(clear);
                for (int i = 0; i < clear.size(); i++) {
                    each.accept(from + i, eeOut[i], plainOut[i]);
                }
            }
        }
    }

    /**
     * Token-id sequences through an EE model with homophones, each batch encrypted twice (every occurrence drawing one of
     * its token's ids afresh), and through its plaintext twin, in equal batches.
     *
     * @return how many inputs came out as different ciphertexts in the two draws
     */
    static int homophonesInBatches(ModelTransformer.Result ee, ModelTransformer.Result plain, List<long[]> inputs,
            CipherVocabulary vocab, int batch, EachDrawnTwice each) {
        int different = 0;
        try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < inputs.size(); from += batch) {
                List<long[]> clear = inputs.subList(from, Math.min(inputs.size(), from + batch));
                List<long[]> first = TinyTransformerEquivalenceTest.encrypt(clear, vocab::encrypt);
                List<long[]> second = TinyTransformerEquivalenceTest.encrypt(clear, vocab::encrypt);
                float[][] eeOut = eeSession.run(first);
                float[][] eeAgain = eeSession.run(second);
                float[][] plainOut = plainSession.run(clear);
                for (int i = 0; i < clear.size(); i++) {
                    different += Arrays.equals(first.get(i), second.get(i)) ? 0 : 1;
                    each.accept(from + i, eeOut[i], eeAgain[i], plainOut[i]);
                }
            }
        }
        return different;
    }

    /** Values by label, in the labels' order. */
    static float[] byLabel(Map<String, Float> values, List<String> labels) {
        float[] out = new float[labels.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = values.get(labels.get(j));
        }
        return out;
    }

    static void inBatches(PrivateTokenizer tokenizer, ModelSession ee, ModelSession plain, List<String> texts, int batch, Each each) {
        for (int from = 0; from < texts.size(); from += batch) {
            List<String> chunk = texts.subList(from, Math.min(texts.size(), from + batch));
            List<long[]> cipher = new ArrayList<>();
            List<long[]> clear = new ArrayList<>();
            for (String text : chunk) {
                cipher.add(tokenizer.encrypt(text));
                clear.add(tokenizer.encodePlain(text));
            }
            float[][] eeOut = ee.run(cipher);
            float[][] plainOut = plain.run(clear);
            for (int i = 0; i < chunk.size(); i++) {
                each.accept(chunk.get(i), eeOut[i], plainOut[i]);
            }
        }
    }
}
