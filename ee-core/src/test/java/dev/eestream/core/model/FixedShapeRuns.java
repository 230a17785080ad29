package dev.eestream.core.model;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.runtime.model.ModelManifest;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link PairedRuns} for a graph optimized with fixed batch and sequence sizes: the processor's session pads a batch to
 * its longest text, so these runs pad every batch to the fixed [batch, sequence] (pad ids, mask 0, whole pad rows for a
 * short last batch) and run ONNX Runtime directly.
 */
final class FixedShapeRuns implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession ee;
    private final OrtSession plain;
    private final ModelManifest eeManifest;
    private final ModelManifest plainManifest;
    private final int batch;
    private final int sequence;

    FixedShapeRuns(byte[] eeModel, ModelManifest eeManifest, byte[] plainModel, ModelManifest plainManifest, int batch,
            int sequence) throws Exception {
        this.ee = env.createSession(eeModel);
        this.plain = env.createSession(plainModel);
        this.eeManifest = eeManifest;
        this.plainManifest = plainManifest;
        this.batch = batch;
        this.sequence = sequence;
    }

    void inBatches(PrivateTokenizer tokenizer, List<String> texts, PairedRuns.Each each) throws Exception {
        List<long[]> cipher = new ArrayList<>();
        List<long[]> clear = new ArrayList<>();
        for (String text : texts) {
            cipher.add(tokenizer.encrypt(text));
            clear.add(tokenizer.encodePlain(text));
        }
        inBatches(texts, cipher, clear, each);
    }

    /** Sequence i as ciphertext ids through the EE model and as plaintext ids through the plaintext one, named {@code names.get(i)}. */
    void inBatches(List<String> names, List<long[]> cipher, List<long[]> clear, PairedRuns.Each each) throws Exception {
        for (int from = 0; from < names.size(); from += batch) {
            int to = Math.min(names.size(), from + batch);
            float[][] eeOut = run(ee, eeManifest, cipher.subList(from, to));
            float[][] plainOut = run(plain, plainManifest, clear.subList(from, to));
            for (int i = from; i < to; i++) {
                each.accept(names.get(i), eeOut[i - from], plainOut[i - from]);
            }
        }
    }

    private float[][] run(OrtSession session, ModelManifest manifest, List<long[]> sequences) throws Exception {
        long[] ids = new long[batch * sequence];
        Arrays.fill(ids, manifest.padId());
        long[] mask = new long[batch * sequence];
        for (int b = 0; b < sequences.size(); b++) {
            long[] s = sequences.get(b);
            if (s.length > sequence) {
                throw new IllegalArgumentException("a text of " + s.length + " tokens does not fit the fixed sequence " + sequence);
            }
            System.arraycopy(s, 0, ids, b * sequence, s.length);
            Arrays.fill(mask, b * sequence, b * sequence + s.length, 1L);
        }
        long[] shape = {batch, sequence};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(manifest.idsInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            inputs.put(manifest.attentionMaskInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (manifest.tokenTypeIdsInput() != null) {
                inputs.put(manifest.tokenTypeIdsInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * sequence]), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                FloatBuffer buf = ((OnnxTensor) result.get(0)).getFloatBuffer();
                float[][] out = new float[sequences.size()][manifest.outputWidth()];
                for (float[] row : out) {
                    buf.get(row);
                }
                return out;
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() throws Exception {
        ee.close();
        plain.close();
    }
}
