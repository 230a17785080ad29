package dev.eestream.runtime.session;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a generate model (the optimum {@code text-generation-with-past} layout) with a KV cache per
 * sequence. It works on ids only, so plaintext and EE models run the same code: an EE model's
 * logits are in ciphertext order, so its argmax is the ciphertext of the plaintext argmax.
 *
 * <p>Sequences of different lengths run in one batch: each row holds its cache right-aligned
 * (left padding), its new tokens right-aligned, and the attention mask hides the gaps; position ids
 * count each sequence's own tokens, so a row computes what the sequence alone would. Thread-safe;
 * holds native memory: close it.
 */
public final class DecoderSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DecoderSession.class);

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelManifest manifest;
    private final Device device;
    private final boolean feedsPositionIds;
    /**
     * Native buffers for a step's past caches and outputs, reused from step to step (steps of one
     * session run one at a time): ONNX Runtime reads and writes them in place, where heap arrays would
     * be copied in and out, and per-step direct allocations would pile up until a GC frees them.
     */
    private final Map<String, FloatBuffer> scratch = new HashMap<>();
    /** Zeros to clear a row's left padding in a reused past buffer; grown as needed, never written. */
    private float[] zeros = new float[0];
    private volatile boolean closed;

    private DecoderSession(OrtSessions.Opened opened, ModelManifest manifest) {
        this.env = opened.env();
        this.session = opened.session();
        this.manifest = manifest;
        this.device = opened.device();
        this.feedsPositionIds = session.getInputNames().contains(KvCacheNames.POSITION_IDS);
    }

    /** Opens a session over a generate model; the manifest says its layer count, KV heads, head size and context. */
    public static DecoderSession open(byte[] model, ModelManifest manifest, SessionSettings settings) {
        requireDecoder(manifest);
        return checked(new DecoderSession(OrtSessions.open(model, manifest.modelId(), settings), manifest));
    }

    /** Opens a model file, with its external data (if any) beside it. */
    public static DecoderSession open(Path modelFile, ModelManifest manifest, SessionSettings settings) {
        requireDecoder(manifest);
        return checked(new DecoderSession(OrtSessions.open(modelFile, manifest.modelId(), settings), manifest));
    }

    private static void requireDecoder(ModelManifest manifest) {
        if (manifest.taskKind() != Task.GENERATE || manifest.attentionMaskInput() == null || manifest.layerCount() <= 0 || manifest.kvHeads() <= 0
                || manifest.headSize() <= 0 || manifest.maxSequenceLength() <= 0) {
            throw new EeException("model " + manifest.modelId() + " is not a generate model with a KV cache (task "
                    + manifest.task() + ", " + manifest.layerCount() + " layers, " + manifest.kvHeads() + " KV heads, head size "
                    + manifest.headSize() + ")");
        }
    }

    private static DecoderSession checked(DecoderSession s) {
        try {
            s.checkLayout();
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    public static DecoderSession open(byte[] model, ModelManifest manifest) {
        return open(model, manifest, SessionSettings.defaults());
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public Device device() {
        return device;
    }

    /** Feeds each prompt from an empty cache; one state per prompt, in order. */
    public List<DecoderState> prefill(List<long[]> prompts) {
        List<DecoderState> empty = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            empty.add(emptyState());
        }
        return advance(empty, prompts);
    }

    /** Feeds one token to each sequence: {@code nextIds[i]} follows {@code states.get(i)}. */
    public List<DecoderState> step(List<DecoderState> states, long[] nextIds) {
        if (nextIds.length != states.size()) {
            throw new IllegalArgumentException(nextIds.length + " ids for " + states.size() + " sequences");
        }
        List<long[]> tokens = new ArrayList<>(nextIds.length);
        for (long id : nextIds) {
            tokens.add(new long[] {id});
        }
        return advance(states, tokens);
    }

    /** Greedy decoding of one prompt; see {@link #greedy(List, int, Set)}. */
    public Generation greedy(long[] promptIds, int maxNewTokens, Set<Long> stopIds) {
        return greedy(List.of(promptIds), maxNewTokens, stopIds).get(0);
    }

    /**
     * Greedy decoding of several prompts in one batch, each ending on its own: at a stop id (kept as
     * its last id), after {@code maxNewTokens}, or when prompt and generated ids fill the context.
     * Each result equals what the prompt alone gives.
     */
    public List<Generation> greedy(List<long[]> prompts, int maxNewTokens, Set<Long> stopIds) {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0");
        }
        int n = prompts.size();
        List<List<Long>> generated = new ArrayList<>(n);
        Generation[] done = new Generation[n];
        List<Integer> active = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            generated.add(new ArrayList<>());
            active.add(i);
        }
        List<DecoderState> states = prefill(prompts);
        while (!active.isEmpty()) {
            List<Integer> stepping = new ArrayList<>();
            List<DecoderState> steppingStates = new ArrayList<>();
            List<Long> feed = new ArrayList<>();
            for (int k = 0; k < active.size(); k++) {
                int i = active.get(k);
                List<Long> ids = generated.get(i);
                DecoderState s = states.get(k);
                if (ids.size() == maxNewTokens || s.length() >= manifest.maxSequenceLength()) {
                    done[i] = finish(ids, Generation.FinishReason.LENGTH);
                    continue;
                }
                long id = s.argmax();
                ids.add(id);
                if (stopIds.contains(id)) {
                    done[i] = finish(ids, Generation.FinishReason.STOP);
                } else if (ids.size() == maxNewTokens || s.length() + 1 >= manifest.maxSequenceLength()) {
                    // The budget or the context is full: feeding the id could not yield another one.
                    done[i] = finish(ids, Generation.FinishReason.LENGTH);
                } else {
                    stepping.add(i);
                    steppingStates.add(s);
                    feed.add(id);
                }
            }
            active = stepping;
            states = stepping.isEmpty() ? List.of() : step(steppingStates, feed.stream().mapToLong(Long::longValue).toArray());
        }
        return List.of(done);
    }

    private static Generation finish(List<Long> ids, Generation.FinishReason reason) {
        return new Generation(ids.stream().mapToLong(Long::longValue).toArray(), reason);
    }

    private DecoderState emptyState() {
        int layers = manifest.layerCount();
        float[][] none = new float[layers][0];
        return new DecoderState(0, none, none, new float[0]);
    }

    /** Feeds {@code tokens.get(b)} after {@code states.get(b)}, all rows in one run. */
    private synchronized List<DecoderState> advance(List<DecoderState> states, List<long[]> tokens) {
        checkOpen();
        int batch = states.size();
        if (batch == 0 || tokens.size() != batch) {
            throw new IllegalArgumentException("a batch needs one token list per state (got " + tokens.size() + " for "
                    + batch + ")");
        }
        int past = 0;
        int seq = 0;
        for (int b = 0; b < batch; b++) {
            int fed = states.get(b).length();
            int adding = tokens.get(b).length;
            if (adding == 0) {
                throw new EeException("an empty prompt cannot be decoded");
            }
            if (fed + adding > manifest.maxSequenceLength()) {
                throw new EeException("a sequence of " + (fed + adding) + " tokens exceeds the context length "
                        + manifest.maxSequenceLength() + " of model " + manifest.modelId());
            }
            past = Math.max(past, fed);
            seq = Math.max(seq, adding);
        }
        int total = past + seq;
        int heads = manifest.kvHeads();
        int dh = manifest.headSize();
        long[] ids = new long[batch * seq];
        long[] positions = new long[batch * seq];
        long[] mask = new long[batch * total];
        for (int b = 0; b < batch; b++) {
            int fed = states.get(b).length();
            long[] t = tokens.get(b);
            int pad = seq - t.length;
            for (int j = 0; j < t.length; j++) {
                ids[b * seq + pad + j] = t[j];
                positions[b * seq + pad + j] = fed + j;
            }
            Arrays.fill(mask, b * total + past - fed, b * total + past, 1L);
            Arrays.fill(mask, b * total + past + pad, (b + 1) * total, 1L);
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        Map<String, OnnxTensor> outputs = new HashMap<>();
        try {
            inputs.put(manifest.idsInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {batch, seq}));
            inputs.put(manifest.attentionMaskInput(), OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {batch, total}));
            if (feedsPositionIds) {
                inputs.put(KvCacheNames.POSITION_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {batch, seq}));
            }
            long[] pastShape = {batch, heads, past, dh};
            long[] presentShape = {batch, heads, total, dh};
            for (int layer = 0; layer < manifest.layerCount(); layer++) {
                for (boolean key : new boolean[] {true, false}) {
                    String in = KvCacheNames.past(layer, key);
                    inputs.put(in, OnnxTensor.createTensor(env, pastBatch(in, states, layer, key, past), pastShape));
                    String out = KvCacheNames.present(layer, key);
                    outputs.put(out, OnnxTensor.createTensor(env, buffer(out, batch * heads * total * dh), presentShape));
                }
            }
            // A prefill's logits cover every prompt position (batch x prompt x vocabulary, hundreds of MB for
            // a long prompt and a large vocabulary): not kept for later steps, which need one position.
            int logitFloats = Math.multiplyExact(batch * seq, manifest.outputWidth());
            FloatBuffer logits = seq == 1 ? buffer(KvCacheNames.LOGITS, logitFloats)
                    : ByteBuffer.allocateDirect(Math.multiplyExact(logitFloats, Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
            outputs.put(KvCacheNames.LOGITS, OnnxTensor.createTensor(env, logits, new long[] {batch, seq, manifest.outputWidth()}));
            // The outputs are written into our buffers: the result holds nothing of its own to read.
            try (OrtSession.Result result = session.run(inputs, outputs)) {
                return newStates(states, tokens, outputs, seq, total);
            }
        } catch (OrtException e) {
            throw new EeException("decoding failed on model " + manifest.modelId() + ": " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
    }

    /** The first {@code floats} of the named scratch buffer, grown (and replaced) when too small. */
    private FloatBuffer buffer(String name, int floats) {
        FloatBuffer b = scratch.get(name);
        if (b == null || b.capacity() < floats) {
            b = ByteBuffer.allocateDirect(Math.multiplyExact(floats, Float.BYTES)).order(ByteOrder.nativeOrder()).asFloatBuffer();
            scratch.put(name, b);
        }
        FloatBuffer view = b.duplicate();
        view.clear().limit(floats);
        return view.slice();
    }

    /** One layer's cache for the batch, [batch, kv heads, past, head size], each row right-aligned (zeros before). */
    private FloatBuffer pastBatch(String name, List<DecoderState> states, int layer, boolean key, int past) {
        int heads = manifest.kvHeads();
        int dh = manifest.headSize();
        FloatBuffer out = buffer(name, states.size() * heads * past * dh);
        if (zeros.length < past * dh) {
            zeros = new float[past * dh];
        }
        for (int b = 0; b < states.size(); b++) {
            DecoderState s = states.get(b);
            float[] cache = key ? s.keys(layer) : s.values(layer);
            int len = s.length();
            for (int h = 0; h < heads; h++) {
                int row = (b * heads + h) * past * dh;
                // The reused buffer holds an earlier step's values: the masked gap must not carry NaNs or infinities.
                out.put(row, zeros, 0, (past - len) * dh);
                out.put(row + (past - len) * dh, cache, h * len * dh, len * dh);
            }
        }
        return out;
    }

    private List<DecoderState> newStates(List<DecoderState> states, List<long[]> tokens, Map<String, OnnxTensor> outputs,
            int seq, int total) {
        int batch = states.size();
        int layers = manifest.layerCount();
        int vocab = manifest.outputWidth();
        FloatBuffer logits = output(outputs, KvCacheNames.LOGITS);
        float[][][] keys = new float[batch][layers][];
        float[][][] values = new float[batch][layers][];
        for (int layer = 0; layer < layers; layer++) {
            FloatBuffer k = output(outputs, KvCacheNames.present(layer, true));
            FloatBuffer v = output(outputs, KvCacheNames.present(layer, false));
            for (int b = 0; b < batch; b++) {
                keys[b][layer] = extend(states.get(b).keys(layer), states.get(b).length(), k, b, tokens.get(b).length, total);
                values[b][layer] = extend(states.get(b).values(layer), states.get(b).length(), v, b, tokens.get(b).length, total);
            }
        }
        List<DecoderState> out = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            float[] next = new float[vocab];
            logits.get(((b + 1) * seq - 1) * vocab, next);
            out.add(new DecoderState(states.get(b).length() + tokens.get(b).length, keys[b], values[b], next));
        }
        return out;
    }

    /** The old cache [heads, len, dh] followed by the row's last {@code added} positions of {@code present}. */
    private float[] extend(float[] old, int len, FloatBuffer present, int row, int added, int total) {
        int heads = manifest.kvHeads();
        int dh = manifest.headSize();
        int newLen = len + added;
        float[] out = new float[heads * newLen * dh];
        for (int h = 0; h < heads; h++) {
            System.arraycopy(old, h * len * dh, out, h * newLen * dh, len * dh);
            present.get(((row * heads + h) * total + total - added) * dh, out, (h * newLen + len) * dh, added * dh);
        }
        return out;
    }

    /** A pinned output's buffer, read in place. */
    private static FloatBuffer output(Map<String, OnnxTensor> outputs, String name) {
        return (FloatBuffer) outputs.get(name).getBufferRef().orElseThrow(() -> new IllegalStateException(
                "pinned output '" + name + "' has no buffer"));
    }

    private void checkLayout() {
        List<String> missing = new ArrayList<>();
        Set<String> in = session.getInputNames();
        Set<String> out = session.getOutputNames();
        for (String name : List.of(manifest.idsInput(), manifest.attentionMaskInput())) {
            if (!in.contains(name)) {
                missing.add(name);
            }
        }
        if (!out.contains(KvCacheNames.LOGITS)) {
            missing.add(KvCacheNames.LOGITS);
        }
        for (int layer = 0; layer < manifest.layerCount(); layer++) {
            for (boolean key : new boolean[] {true, false}) {
                if (!in.contains(KvCacheNames.past(layer, key))) {
                    missing.add(KvCacheNames.past(layer, key));
                }
                if (!out.contains(KvCacheNames.present(layer, key))) {
                    missing.add(KvCacheNames.present(layer, key));
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new EeException("model " + manifest.modelId() + " lacks the inputs or outputs of a decoder with a KV cache "
                    + "its manifest describes: " + missing);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this DecoderSession of model " + manifest.modelId() + " is closed");
        }
    }

    @Override
    public synchronized void close() {
        // Synchronized with advance: a step running in ONNX Runtime finishes before its session closes.
        if (closed) {
            return;
        }
        closed = true;
        scratch.clear();
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing the ONNX Runtime session of {} failed: {}", manifest.modelId(), e.getMessage());
        }
    }
}
