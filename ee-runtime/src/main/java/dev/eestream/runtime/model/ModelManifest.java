package dev.eestream.runtime.model;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * Server-safe facts about an EE model (the manifest of a {@link ModelBundle}): nothing in
 * it helps anyone decrypt. Label names are not in it: they stay with the client.
 *
 * <p>For a generate model, {@code maxSequenceLength} is the context length (prompt and generated
 * tokens together), and {@code layerCount}, {@code kvHeads} and {@code headSize} describe its KV
 * cache ({@link KvCacheNames}); they are 0 for other tasks, and in manifests written before them.
 *
 * <p>{@code padId} is the id a batch is padded with. Padding is masked, so for most models any id serves (0, the
 * default). A model that quantizes its activations dynamically takes one scale over the whole batch, padding
 * included: there the pad rows must be the plaintext model's, so the id is the ciphertext of plaintext id 0 (the
 * pad token, which clients never send).
 *
 * <p>{@code idMultiplicities} is set for a generate model with homophones: for each ciphertext id, how many ids its
 * token has (base64 of little-endian int32, one per id), so the sampler can draw tokens, not ids, with the plaintext
 * model's probabilities. It says which ids belong together no more than the model file does, whose copied rows are
 * equal; it never says which token they are.
 *
 * <p>{@code endIds} is set for a classify or embed model encrypted with length buckets: every ciphertext id of the
 * tokenizer's end token ({@code [SEP]}; base64 of little-endian int32). Clients then pad each request to a bucket with
 * filler ids after its end token; the processor cuts a request after its first end id ({@link #unpadded}), so the filler
 * costs no inference and changes no output. It tells the processor each request's length, which the model's holder can
 * learn anyway; it tells nothing to readers of the topics.
 *
 * <p>{@code encryptionId} is a random id drawn for each encryption of a model (null without a key), copied into the
 * client profile: the processor stamps it on every answer, so a client whose profile names another id knows the outputs
 * are not its to decrypt. The manifest holds no key id, which would tell the server which models one client's key
 * encrypted, and no note of which permutations were applied: the processor needs neither.
 */
public record ModelManifest(
        String format,
        int version,
        String modelId,
        String task,
        String encryptionId,
        String idsInput,
        String attentionMaskInput,
        String tokenTypeIdsInput,
        String output,
        int outputWidth,
        int vocabSize,
        int hiddenSize,
        int maxSequenceLength,
        int labelCount,
        int layerCount,
        int kvHeads,
        int headSize,
        long padId,
        String idMultiplicities,
        String endIds) {

    public static final String FORMAT = "eestream-model";
    public static final int VERSION = 1;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    public ModelManifest {
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(idsInput, "idsInput");
        Objects.requireNonNull(output, "output");
    }

    /** A manifest of a model without a KV cache (classify, embed). */
    public ModelManifest(String format, int version, String modelId, String task, String encryptionId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, int labelCount) {
        this(format, version, modelId, task, encryptionId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, labelCount, 0, 0, 0);
    }

    /** A manifest whose batches are padded with id 0 (any id serves where padding is masked). */
    public ModelManifest(String format, int version, String modelId, String task, String encryptionId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, int labelCount, int layerCount, int kvHeads,
            int headSize) {
        this(format, version, modelId, task, encryptionId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, labelCount, layerCount, kvHeads, headSize, 0L);
    }

    /** A manifest of a model without homophones in its generation head. */
    public ModelManifest(String format, int version, String modelId, String task, String encryptionId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, int labelCount, int layerCount, int kvHeads,
            int headSize, long padId) {
        this(format, version, modelId, task, encryptionId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, labelCount, layerCount, kvHeads, headSize, padId,
                null, null);
    }

    /** Per ciphertext id, how many ids share its token; null when every token has one id. */
    public int[] multiplicities() {
        if (idMultiplicities == null) {
            return null;
        }
        ByteBuffer bytes;
        try {
            bytes = ByteBuffer.wrap(Base64.getDecoder().decode(idMultiplicities)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IllegalArgumentException e) {
            throw new EeException("model '" + modelId + "': idMultiplicities is not base64: " + e.getMessage());
        }
        int[] out = new int[bytes.remaining() / Integer.BYTES];
        bytes.asIntBuffer().get(out);
        if (out.length != vocabSize) {
            throw new EeException("model '" + modelId + "': idMultiplicities has " + out.length + " entries for " + vocabSize
                    + " ids");
        }
        for (int m : out) {
            if (m < 1) {
                throw new EeException("model '" + modelId + "': idMultiplicities holds " + m + "; each is at least 1");
            }
        }
        return out;
    }

    /** The base64 form of {@link #multiplicities()}. */
    public static String encodeMultiplicities(int[] multiplicities) {
        return encodeInts(multiplicities);
    }

    private static String encodeInts(int[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asIntBuffer().put(values);
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    /** The ciphertext ids of the end token, sorted, for a model encrypted with length buckets; else null. */
    public long[] endIdList() {
        if (endIds == null) {
            return null;
        }
        IntBuffer ints;
        try {
            ints = ByteBuffer.wrap(Base64.getDecoder().decode(endIds)).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        } catch (IllegalArgumentException e) {
            throw new EeException("model '" + modelId + "': endIds is not base64: " + e.getMessage());
        }
        long[] out = new long[ints.remaining()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints.get(i);
            if (out[i] < 0 || out[i] >= vocabSize) {
                throw new EeException("model '" + modelId + "': end id " + out[i] + " is outside the vocabulary [0, "
                        + vocabSize + ")");
            }
        }
        if (out.length == 0) {
            throw new EeException("model '" + modelId + "': endIds is empty");
        }
        Arrays.sort(out);
        return out;
    }

    /**
     * The request's ids up to and including its first end id: what the model runs on. Ids after it are a client's length
     * padding. All of them for a model without end ids, or a request without one.
     *
     * @param sortedEndIds {@link #endIdList()}, decoded once per model by the caller
     */
    public static List<Long> unpadded(List<Long> ids, long[] sortedEndIds) {
        if (sortedEndIds == null) {
            return ids;
        }
        for (int i = 0; i < ids.size(); i++) {
            if (Arrays.binarySearch(sortedEndIds, ids.get(i)) >= 0) {
                return i + 1 == ids.size() ? ids : List.copyOf(ids.subList(0, i + 1));
            }
        }
        return ids;
    }

    /** The same manifest with another encryption id (two encryptions of one model differ only there). */
    public ModelManifest withEncryptionId(String id) {
        return new ModelManifest(format, version, modelId, task, id, idsInput, attentionMaskInput, tokenTypeIdsInput, output,
                outputWidth, vocabSize, hiddenSize, maxSequenceLength, labelCount, layerCount, kvHeads, headSize, padId,
                idMultiplicities, endIds);
    }

    /** The same manifest with the end token's ciphertext ids (length buckets on). */
    public ModelManifest withEndIds(long[] ids) {
        int[] ints = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ints[i] = Math.toIntExact(ids[i]);
        }
        return new ModelManifest(format, version, modelId, task, encryptionId, idsInput, attentionMaskInput, tokenTypeIdsInput,
                output, outputWidth, vocabSize, hiddenSize, maxSequenceLength, labelCount, layerCount, kvHeads, headSize, padId,
                idMultiplicities, encodeInts(ints));
    }

    /** The same manifest under another model id. */
    public ModelManifest withModelId(String id) {
        return new ModelManifest(format, version, id, task, encryptionId, idsInput, attentionMaskInput, tokenTypeIdsInput, output,
                outputWidth, vocabSize, hiddenSize, maxSequenceLength, labelCount, layerCount, kvHeads,
                headSize, padId, idMultiplicities, endIds);
    }

    public Task taskKind() {
        return Task.parse(task);
    }

    public String toJson() {
        return GSON.toJson(this) + "\n";
    }

    static ModelManifest read(Path file) throws IOException {
        ModelManifest m;
        try {
            m = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), ModelManifest.class);
        } catch (JsonParseException | NullPointerException e) {
            throw new EeException(file + " is not an eestream model manifest: " + e.getMessage(), e);
        }
        if (m == null || !FORMAT.equals(m.format())) {
            throw new EeException(file + " is not an eestream model manifest (no \"format\": \"" + FORMAT + "\")");
        }
        if (m.version() != VERSION) {
            throw new EeException(file + " is a manifest of version " + m.version() + "; this eestream reads version " + VERSION);
        }
        if (m.endIds() != null) {
            m.endIdList(); // refuses unreadable end ids now, not at the first request
        }
        return m;
    }
}
