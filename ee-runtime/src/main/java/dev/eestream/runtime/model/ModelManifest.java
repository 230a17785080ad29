package dev.eestream.runtime.model;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
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
 */
public record ModelManifest(
        String format,
        int version,
        String modelId,
        String task,
        String keyId,
        String idsInput,
        String attentionMaskInput,
        String tokenTypeIdsInput,
        String output,
        int outputWidth,
        int vocabSize,
        int hiddenSize,
        int maxSequenceLength,
        boolean hiddenPermutation,
        int labelCount,
        int layerCount,
        int kvHeads,
        int headSize,
        long padId,
        String idMultiplicities) {

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
    public ModelManifest(String format, int version, String modelId, String task, String keyId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, boolean hiddenPermutation, int labelCount) {
        this(format, version, modelId, task, keyId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, hiddenPermutation, labelCount, 0, 0, 0);
    }

    /** A manifest whose batches are padded with id 0 (any id serves where padding is masked). */
    public ModelManifest(String format, int version, String modelId, String task, String keyId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, boolean hiddenPermutation, int labelCount, int layerCount, int kvHeads,
            int headSize) {
        this(format, version, modelId, task, keyId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, hiddenPermutation, labelCount, layerCount, kvHeads, headSize, 0L);
    }

    /** A manifest of a model without homophones in its generation head. */
    public ModelManifest(String format, int version, String modelId, String task, String keyId, String idsInput,
            String attentionMaskInput, String tokenTypeIdsInput, String output, int outputWidth, int vocabSize,
            int hiddenSize, int maxSequenceLength, boolean hiddenPermutation, int labelCount, int layerCount, int kvHeads,
            int headSize, long padId) {
        this(format, version, modelId, task, keyId, idsInput, attentionMaskInput, tokenTypeIdsInput, output, outputWidth,
                vocabSize, hiddenSize, maxSequenceLength, hiddenPermutation, labelCount, layerCount, kvHeads, headSize, padId,
                null);
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
        ByteBuffer bytes = ByteBuffer.allocate(multiplicities.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asIntBuffer().put(multiplicities);
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    /** The same manifest under another model id. */
    public ModelManifest withModelId(String id) {
        return new ModelManifest(format, version, id, task, keyId, idsInput, attentionMaskInput, tokenTypeIdsInput, output,
                outputWidth, vocabSize, hiddenSize, maxSequenceLength, hiddenPermutation, labelCount, layerCount, kvHeads,
                headSize, padId, idMultiplicities);
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
        return m;
    }
}
