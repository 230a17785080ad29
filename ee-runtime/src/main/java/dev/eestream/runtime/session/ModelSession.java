package dev.eestream.runtime.session;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX Runtime session over a model described by a manifest. Pads a batch of id sequences on the
 * right with the manifest's pad id (masked), fills the attention mask and token types, and
 * returns the task output. Holds native memory: close it.
 */
public final class ModelSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelSession.class);

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelManifest manifest;
    private final Device device;

    private ModelSession(OrtEnvironment env, OrtSession session, ModelManifest manifest, Device device) {
        this.env = env;
        this.session = session;
        this.manifest = manifest;
        this.device = device;
    }

    /**
     * Opens a session. With {@link Device#CUDA} requested but unavailable, falls back to the CPU
     * with a warning; {@link #device()} says which one runs.
     */
    public static ModelSession open(byte[] model, ModelManifest manifest, SessionSettings settings) {
        requireEncoder(manifest);
        OrtSessions.Opened o = OrtSessions.open(model, manifest.modelId(), settings);
        return new ModelSession(o.env(), o.session(), manifest, o.device());
    }

    /** Opens a model file, with its external data (if any) beside it. */
    public static ModelSession open(Path modelFile, ModelManifest manifest, SessionSettings settings) {
        requireEncoder(manifest);
        OrtSessions.Opened o = OrtSessions.open(modelFile, manifest.modelId(), settings);
        return new ModelSession(o.env(), o.session(), manifest, o.device());
    }

    private static void requireEncoder(ModelManifest manifest) {
        if (manifest.taskKind() == Task.GENERATE) {
            throw new EeException("model '" + manifest.modelId() + "' generates text: it runs in a DecoderSession, "
                    + "not in a ModelSession");
        }
    }

    public static ModelSession open(byte[] model, ModelManifest manifest) {
        return open(model, manifest, SessionSettings.defaults());
    }

    public Device device() {
        return device;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    /** Runs a batch; returns [batch][outputWidth] for classify and embed. */
    public float[][] run(List<long[]> sequences) {
        return runRaw(sequences, (buf, batch, seq) -> {
            int w = manifest.outputWidth();
            float[][] out = new float[batch][w];
            for (int b = 0; b < batch; b++) {
                buf.get(out[b]);
            }
            return out;
        });
    }

    private interface Reader<T> {
        T read(FloatBuffer buf, int batch, int seq);
    }

    private <T> T runRaw(List<long[]> sequences, Reader<T> reader) {
        int batch = sequences.size();
        if (batch == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        int seq = 0;
        for (long[] s : sequences) {
            seq = Math.max(seq, s.length);
        }
        long[] ids = new long[batch * seq];
        java.util.Arrays.fill(ids, manifest.padId());
        long[] mask = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            long[] s = sequences.get(b);
            System.arraycopy(s, 0, ids, b * seq, s.length);
            java.util.Arrays.fill(mask, b * seq, b * seq + s.length, 1L);
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(manifest.idsInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            if (manifest.attentionMaskInput() != null) {
                inputs.put(manifest.attentionMaskInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            }
            if (manifest.tokenTypeIdsInput() != null) {
                inputs.put(manifest.tokenTypeIdsInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * seq]), shape));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                OnnxTensor out = (OnnxTensor) result.get(0);
                return reader.read(out.getFloatBuffer(), batch, seq);
            }
        } catch (OrtException e) {
            throw new EeException("inference failed on model " + manifest.modelId() + ": " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing the ONNX Runtime session of {} failed: {}", manifest.modelId(), e.getMessage());
        }
    }
}
