package dev.eestream.ops.privacy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The label attack of whoever holds a zero-shot classify model and the public base weights, after
 * {@link WeightMatching}: the head holds each label's embedding (a [hidden, labels] constant, its rows under ρ, its
 * columns under σ). With ρ undone, every vocabulary word is embedded by the public model and each column is named by
 * the word whose embedding points closest: a one-word label is named outright, and with it σ. No guess list.
 */
final class LabelRecovery {
    private static final int BATCH = 256;

    /**
     * @param found   whether a [hidden, labels] constant was found in the model
     * @param guesses the word named for each of the model's output columns (ciphertext order)
     * @param cosines how close each named word's embedding is (1: the label is that word)
     * @param named   columns whose word is the true label
     */
    record Outcome(boolean found, List<String> guesses, List<Float> cosines, int named, int words, double seconds) {
    }

    private LabelRecovery() {
    }

    /**
     * @param eeColumnOfHidden the attack's ρ: for each hidden unit, the EE model's column holding it (-1: not found)
     * @param truth            the true label of each output column, to score the attack (it never reads them)
     */
    static Outcome attack(ModelProto base, TokenizerJson tokenizer, ModelProto ee, int hidden, int[] eeColumnOfHidden,
            List<String> truth) throws IOException {
        long started = System.nanoTime();
        int labels = truth.size();
        float[][] columns = prototypes(ee, hidden, labels, eeColumnOfHidden);
        if (columns == null) {
            return new Outcome(false, List.of(), List.of(), 0, 0, (System.nanoTime() - started) / 1e9);
        }
        ModelTransformer.Result plain = ModelTransformer.transform(base, TransformSpec.builder(Task.EMBED).modelId("public")
                .fallbackMaxSequenceLength(tokenizer.truncationLength()).build());
        List<String> words = new ArrayList<>();
        List<long[]> sequences = new ArrayList<>();
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, null, plain.manifest().vocabSize(), null)) {
            for (int t = 0; t < tokenizer.vocabSize(); t++) {
                String word = tok.decodePlain(new long[] {t}).strip();
                if (word.isEmpty() || word.startsWith("[") || word.startsWith("##") || word.startsWith("<")) {
                    continue;
                }
                // Tokenized as a label text is, special tokens included.
                words.add(word);
                sequences.add(tok.encodePlain(word));
            }
        }
        float[] best = new float[labels];
        java.util.Arrays.fill(best, -2f);
        String[] guess = new String[labels];
        try (ModelSession session = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < sequences.size(); from += BATCH) {
                float[][] embeddings = session.run(sequences.subList(from, Math.min(sequences.size(), from + BATCH)));
                for (int i = 0; i < embeddings.length; i++) {
                    float[] e = unit(embeddings[i]);
                    for (int j = 0; j < labels; j++) {
                        float cos = dot(e, columns[j]);
                        if (cos > best[j]) {
                            best[j] = cos;
                            guess[j] = words.get(from + i);
                        }
                    }
                }
            }
        }
        int named = 0;
        List<Float> cosines = new ArrayList<>();
        for (int j = 0; j < labels; j++) {
            named += guess[j] != null && guess[j].equalsIgnoreCase(truth.get(j).strip()) ? 1 : 0;
            cosines.add(best[j]);
        }
        return new Outcome(true, List.of(guess), cosines, named, words.size(), (System.nanoTime() - started) / 1e9);
    }

    /** Each output column's prototype in the plaintext basis (unit length), or null when no such constant is found. */
    private static float[][] prototypes(ModelProto ee, int hidden, int labels, int[] eeColumnOfHidden) {
        TensorProto found = null;
        for (TensorProto t : ee.getGraph().getInitializerList()) {
            long[] dims = OnnxTensors.dims(t);
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && dims.length == 2 && dims[0] == hidden
                    && dims[1] == labels) {
                if (found != null) {
                    return null; // two candidates: this attack does not guess
                }
                found = t;
            }
        }
        if (found == null) {
            return null;
        }
        java.nio.FloatBuffer raw = java.nio.ByteBuffer.wrap(OnnxTensors.rawBytes(found)).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[] values = new float[raw.remaining()];
        raw.get(values);
        float[][] out = new float[labels][hidden];
        for (int j = 0; j < labels; j++) {
            for (int k = 0; k < hidden; k++) {
                int row = eeColumnOfHidden[k];
                if (row < 0) {
                    return null;
                }
                out[j][k] = values[row * labels + j];
            }
            out[j] = unit(out[j]);
        }
        return out;
    }

    private static float[] unit(float[] v) {
        double norm = Math.sqrt(dot(v, v));
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / norm);
        }
        return out;
    }

    private static float dot(float[] a, float[] b) {
        float sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    static String describe(Outcome o) {
        List<String> named = new ArrayList<>();
        for (int j = 0; j < o.guesses().size(); j++) {
            named.add(String.format(Locale.ROOT, "%s (%.3f)", o.guesses().get(j), o.cosines().get(j)));
        }
        return String.join(", ", named);
    }
}
