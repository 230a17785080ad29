package dev.eestream.client.consumer;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.decrypt.Softmax;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClassifierKind;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.model.Task;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decrypts responses with the client's key and the profiles of the models it uses (labels, task).
 * Thread-safe: permutations are derived once per size and cached.
 */
public final class ResponseDecryptor {
    private final EeKey key;
    private final OutputDecryptor decryptor;
    private final Map<String, ClientProfile> profiles;
    /** A generate model's map between tokens and ids (its homophones included), derived once per model. */
    private final Map<String, CipherVocabulary> vocabularies = new ConcurrentHashMap<>();
    private final String keyId;

    /** @param profiles by model id */
    public ResponseDecryptor(EeKey key, Map<String, ClientProfile> profiles) {
        this.key = key;
        this.decryptor = new OutputDecryptor(key);
        this.profiles = Map.copyOf(profiles);
        this.keyId = key.keyId();
        for (ClientProfile p : profiles.values()) {
            p.requireKey(key);
        }
    }

    public ResponseDecryptor(EeKey key, ClientProfile profile) {
        this(key, Map.of(profile.modelId(), profile));
    }

    /**
     * The response decrypted, or the processor's ERROR or EXPIRED as a {@link DecryptedResult.Failure}.
     *
     * @throws UnusableResponseException an OK response that is not this key's to decrypt, or whose outputs do not fit
     *                                   its model: decrypting it would give garbage
     */
    public DecryptedResult decrypt(InferenceResponse r) {
        Map<String, String> attributes = new HashMap<>(r.getAttributes());
        if (r.getStatus() != ResponseStatus.OK) {
            return new DecryptedResult.Failure(r.getRequestId(), r.getModelId(), String.valueOf(r.getError()), attributes,
                    r.getStatus() == ResponseStatus.EXPIRED);
        }
        ClientProfile profile = requireOwn(r);
        try {
            return decryptOutputs(r, profile, attributes);
        } catch (UnusableResponseException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new UnusableResponseException(BadRecordKind.UNDECRYPTABLE, "the outputs of response " + r.getRequestId()
                    + " from model '" + r.getModelId() + "' do not fit the model: " + e.getMessage(), e);
        }
    }

    /**
     * The profile of the response's model, when the response is this reader's to decrypt.
     *
     * @throws UnusableResponseException for a model without a profile here ({@link BadRecordKind#OTHER_MODEL}) or one
     *                                   that answered with another key ({@link BadRecordKind#OTHER_KEY})
     */
    public ClientProfile requireOwn(InferenceResponse r) {
        ClientProfile profile = profiles.get(r.getModelId());
        if (profile == null) {
            throw new UnusableResponseException(BadRecordKind.OTHER_MODEL, "response " + r.getRequestId() + " is from model '"
                    + r.getModelId() + "', which has no client profile here (known: " + new TreeSet<>(profiles.keySet()) + ")");
        }
        // Set only by processors of schema version 4; null otherwise.
        if (r.getKeyId() != null && !r.getKeyId().equals(keyId)) {
            throw new UnusableResponseException(BadRecordKind.OTHER_KEY, "response " + r.getRequestId() + " from model '"
                    + r.getModelId() + "' was computed with key " + r.getKeyId() + ", not with this key " + keyId);
        }
        // Null on either side: a processor, model or profile from before encryption ids; nothing to compare.
        if (r.getEncryptionId() != null && profile.encryptionId() != null
                && !r.getEncryptionId().equals(profile.encryptionId())) {
            throw new UnusableResponseException(BadRecordKind.OTHER_KEY, "response " + r.getRequestId() + " from model '"
                    + r.getModelId() + "' was computed by encryption " + r.getEncryptionId() + " of the model, but this "
                    + "client's profile is of encryption " + profile.encryptionId() + " (another key, or the model was "
                    + "encrypted again: use the profile written with the model being served)");
        }
        return profile;
    }

    private DecryptedResult decryptOutputs(InferenceResponse r, ClientProfile profile, Map<String, String> attributes) {
        DecryptedResult.Timings timings = new DecryptedResult.Timings(r.getCreatedAt().toEpochMilli(),
                r.getRespondedAt().toEpochMilli(), r.getQueuedMs(), r.getInferenceMs(), r.getBatchSize());
        switch (Task.parse(profile.task())) {
            case CLASSIFY -> {
                return classification(r, profile, attributes, timings);
            }
            case EMBED -> {
                List<Float> cipher = required(r.getScores(), r);
                // Any width has a permutation of its own, so a wrong width would decrypt, to garbage: refuse it.
                if (profile.hiddenSize() > 0 && cipher.size() != profile.hiddenSize()) {
                    throw new UnusableResponseException(BadRecordKind.UNDECRYPTABLE, "response " + r.getRequestId()
                            + " carries an embedding of width " + cipher.size() + ", but model '" + r.getModelId()
                            + "' embeds in " + profile.hiddenSize());
                }
                return new DecryptedResult.Embedding(r.getRequestId(), r.getModelId(), decryptor.embedding(toArray(cipher)),
                        attributes, timings);
            }
            case GENERATE -> {
                long[] cipher = required(r.getTokenIds(), r).stream().mapToLong(Long::longValue).toArray();
                CipherVocabulary vocab = vocabularies.computeIfAbsent(profile.modelId(),
                        id -> key.vocabulary(profile.homophones()));
                long[] plain = OutputDecryptor.tokenIds(cipher, vocab);
                // Plaintext ids only: turning them into text is the tokenizer's job, which this class does not hold.
                return new DecryptedResult.Tokens(r.getRequestId(), r.getModelId(), plain, null, attributes, timings);
            }
            default -> throw new IllegalStateException(profile.task());
        }
    }

    /** σ⁻¹ on the scores; a model with its own head answers logits, which become probabilities here. */
    private DecryptedResult.Classification classification(InferenceResponse r, ClientProfile profile,
            Map<String, String> attributes, DecryptedResult.Timings timings) {
        List<String> labels = profile.labels();
        Map<String, Float> decrypted = decryptor.classScores(toArray(required(r.getScores(), r)), labels);
        boolean ownHead = profile.classifier() == ClassifierKind.OWN_HEAD;
        Map<String, Float> scores = ownHead ? Softmax.probabilities(decrypted) : decrypted;
        String best = labels.get(0);
        for (String label : labels) {
            if (scores.get(label) > scores.get(best)) {
                best = label;
            }
        }
        return new DecryptedResult.Classification(r.getRequestId(), r.getModelId(), scores, best, scores.get(best),
                ownHead ? decrypted : Map.of(), List.copyOf(r.getScores()), attributes, timings);
    }

    private static <T> T required(T value, InferenceResponse r) {
        if (value == null) {
            throw new UnusableResponseException(BadRecordKind.UNDECRYPTABLE, "response " + r.getRequestId() + " from model "
                    + r.getModelId() + " carries no outputs");
        }
        return value;
    }

    private static float[] toArray(List<Float> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
