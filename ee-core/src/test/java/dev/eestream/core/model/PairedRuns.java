package dev.eestream.core.model;

import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.List;

/** Texts through an EE session (encrypted ids) and a plaintext session (plain ids) side by side, in equal batches. */
final class PairedRuns {
    /** What to do with one text's two outputs. */
    interface Each {
        void accept(String text, float[] eeOutput, float[] plainOutput);
    }

    private PairedRuns() {
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
