package dev.eestream.core.model;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

/**
 * What a client needs besides its key to talk to one EE model: the label names in order and how
 * they are scored (the model's own head, or zero-shot), the tokenizer, the sizes, and for a generate
 * model what its tokenizer_config.json says about generation. Written owner-only beside (never
 * inside) the server's model directory, because label names can say what is being classified.
 *
 * @param labels     for classify, the label names in class order
 * @param generation for generate models given a tokenizer config: BOS/EOS/stop ids and the chat template; else null
 * @param classifier for classify, whether the scores are the model's own logits or zero-shot cosines (a profile
 *                   written before there were two kinds reads as zero-shot); null for other tasks
 * @param homophoneCounts for a model with homophones, how many ciphertext ids each token has (base64 of
 *                   little-endian int32, one per token: a vocabulary's worth of numbers stays one line); else null.
 *                   They follow a corpus's token frequencies, which is one more reason the profile is owner-only
 * @param encryptionId the model manifest's random id ({@link ModelManifest#encryptionId()}), which the processor stamps
 *                   on its answers; null in profiles written before it (nothing is compared then)
 * @param lengthBuckets for a model encrypted with length buckets, the request lengths the client pads to (the model's
 *                   maximum length is always one); else null
 */
public record ClientProfile(String format, int version, String modelId, String keyId, String task, List<String> labels,
        String tokenizer, int vocabSize, int hiddenSize, int maxSequenceLength, Generation generation,
        ClassifierKind classifier, String homophoneCounts, String encryptionId, List<Integer> lengthBuckets) {

    public ClientProfile {
        if (classifier == null && "classify".equals(task)) {
            classifier = ClassifierKind.ZERO_SHOT;
        }
    }

    /** A profile of a model that is not a classifier with its own head. */
    public ClientProfile(String format, int version, String modelId, String keyId, String task, List<String> labels,
            String tokenizer, int vocabSize, int hiddenSize, int maxSequenceLength, Generation generation) {
        this(format, version, modelId, keyId, task, labels, tokenizer, vocabSize, hiddenSize, maxSequenceLength, generation, null,
                null, null, null);
    }

    /**
     * A generate model's plaintext special ids and chat template, from its tokenizer_config.json. The
     * client encrypts the stop ids before it sends them; the template renders chat messages to a prompt.
     */
    public record Generation(String bosToken, String eosToken, Long bosId, Long eosId, List<Long> stopIds,
            Boolean addBosToken, String chatTemplate) {
        public Generation {
            stopIds = stopIds == null ? List.of() : List.copyOf(stopIds);
        }

        public static Generation of(TokenizerConfig c) {
            return new Generation(c.bosToken().orElse(null), c.eosToken().orElse(null),
                    c.bosId().isPresent() ? c.bosId().getAsLong() : null, c.eosId().isPresent() ? c.eosId().getAsLong() : null,
                    c.stopIds(), c.addBosToken().orElse(null), c.chatTemplate().orElse(null));
        }
    }

    public static final String FORMAT = "eestream-client-profile";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    public static ClientProfile of(ModelTransformer.Result m, List<String> labels, String tokenizer) {
        return of(m, labels, tokenizer, null);
    }

    /** @param generation for a generate model, from its tokenizer config; null otherwise */
    public static ClientProfile of(ModelTransformer.Result m, List<String> labels, String tokenizer, Generation generation) {
        return of(m, labels, tokenizer, generation, null);
    }

    /** @param homophones the model's homophones (the transform's); null or one per token for none */
    public static ClientProfile of(ModelTransformer.Result ee, List<String> labels, String tokenizer, Generation generation,
            Homophones homophones) {
        return of(ee, labels, tokenizer, generation, homophones, null);
    }

    /** @param buckets the lengths clients pad requests to, for a model whose manifest lists its end ids; else null */
    public static ClientProfile of(ModelTransformer.Result ee, List<String> labels, String tokenizer, Generation generation,
            Homophones homophones, LengthBuckets buckets) {
        ModelManifest m = ee.manifest();
        if ((buckets != null) != (m.endIds() != null)) {
            throw new IllegalArgumentException("length buckets need end ids in the manifest, and end ids need buckets");
        }
        if (homophones != null && homophones.any() && homophones.slotCount() != m.vocabSize()) {
            throw new IllegalArgumentException("the model has " + m.vocabSize() + " ciphertext ids, the homophones "
                    + homophones.slotCount());
        }
        return new ClientProfile(FORMAT, 1, m.modelId(), ee.keyId(), m.task(), labels == null ? List.of() : List.copyOf(labels),
                tokenizer, m.vocabSize(), m.hiddenSize(), m.maxSequenceLength(), generation, ClassifierKind.of(m),
                homophones != null && homophones.any() ? encode(homophones) : null, m.encryptionId(),
                buckets == null ? null : buckets.sizes());
    }

    /** The model's homophones: how many ciphertext ids each token has (one each for a model without). */
    public Homophones homophones() {
        if (homophoneCounts == null) {
            return Homophones.none(vocabSize);
        }
        try {
            ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(homophoneCounts)).order(ByteOrder.LITTLE_ENDIAN);
            int[] counts = new int[bytes.remaining() / Integer.BYTES];
            bytes.asIntBuffer().get(counts);
            Homophones h = Homophones.of(counts);
            if (h.slotCount() != vocabSize) {
                throw new EeException("the client profile of model '" + modelId + "' gives its tokens " + h.slotCount()
                        + " ciphertext ids in all, but the model has " + vocabSize);
            }
            return h;
        } catch (IllegalArgumentException e) {
            throw new EeException("the client profile of model '" + modelId + "' has unreadable homophone counts: "
                    + e.getMessage());
        }
    }

    /** The key's map between tokens and this model's ciphertext ids. */
    public CipherVocabulary vocabulary(EeKey key) {
        requireKey(key);
        return key.vocabulary(homophones());
    }

    private static String encode(Homophones h) {
        ByteBuffer bytes = ByteBuffer.allocate(h.vocabSize() * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asIntBuffer().put(h.counts());
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    /** Where the profile of the model written to {@code modelDir} goes: {@code <modelDir>.client.json}. */
    public static Path besides(Path modelDir) {
        Path abs = modelDir.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ".client.json");
    }

    /**
     * The longest request a client sends with this profile, in tokens. A generation prompt cut short would be
     * continued from the wrong place, so it is cut only at the context length (the processor refuses a longer one
     * with its reason); other requests are cut at the model's or the tokenizer's limit, whichever is shorter.
     */
    public int requestLength(TokenizerJson tokenizerJson) {
        Integer own = tokenizerJson.truncationLength();
        return Task.parse(task) == Task.GENERATE || own == null ? maxSequenceLength : Math.min(maxSequenceLength, own);
    }

    /** Refuses a key other than the one the model was encrypted with: its ciphertexts would be noise to the model. */
    public void requireKey(EeKey key) {
        if (keyId != null && !keyId.equals(key.keyId())) {
            throw new EeException("model '" + modelId + "' was encrypted with key " + keyId + ", but the key given is "
                    + key.keyId());
        }
    }

    /** The private tokenizer a client of this model encrypts with: the model's vocabulary, {@link #requestLength}. */
    public PrivateTokenizer openTokenizer(TokenizerJson tokenizerJson, EeKey key) throws IOException {
        requireKey(key);
        return PrivateTokenizer.open(tokenizerJson, key, vocabSize, requestLength(tokenizerJson), homophones(),
                lengthBucketArray());
    }

    /** {@link #lengthBuckets} as an array; null for a model without them. */
    public int[] lengthBucketArray() {
        return lengthBuckets == null ? null : lengthBuckets.stream().mapToInt(Integer::intValue).toArray();
    }

    public void write(Path file, boolean overwrite) throws IOException {
        KeyFiles.writeOwnerOnly(file, (GSON.toJson(this) + "\n").getBytes(StandardCharsets.UTF_8), overwrite);
    }

    public static ClientProfile read(Path file) throws IOException {
        try {
            ClientProfile p = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), ClientProfile.class);
            if (p == null || !FORMAT.equals(p.format())) {
                throw new EeException(file + " is not an eestream client profile");
            }
            return p;
        } catch (NoSuchFileException e) {
            throw new EeException("client profile " + file + " does not exist");
        } catch (JsonParseException e) {
            throw new EeException(file + " is not an eestream client profile: " + e.getMessage(), e);
        }
    }
}
