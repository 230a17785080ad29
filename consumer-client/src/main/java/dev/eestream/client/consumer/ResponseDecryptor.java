package dev.eestream.client.consumer;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decrypts responses with the client's key and the profiles of the models it uses (labels, task).
 * Thread-safe: permutations are derived once per size and cached.
 */
public final class ResponseDecryptor {
    private final OutputDecryptor decryptor;
    private final Map<String, ClientProfile> profiles;

    /** @param profiles by model id */
    public ResponseDecryptor(EeKey key, Map<String, ClientProfile> profiles) {
        this.decryptor = new OutputDecryptor(key);
        this.profiles = Map.copyOf(profiles);
        for (ClientProfile p : profiles.values()) {
            if (p.keyId() != null && !p.keyId().equals(key.keyId())) {
                throw new EeException("model '" + p.modelId() + "' was encrypted with key " + p.keyId()
                        + ", but the key given is " + key.keyId());
            }
        }
    }

    public ResponseDecryptor(EeKey key, ClientProfile profile) {
        this(key, Map.of(profile.modelId(), profile));
    }

    public DecryptedResult decrypt(InferenceResponse r) {
        Map<String, String> attributes = new HashMap<>(r.getAttributes());
        if (r.getStatus() != ResponseStatus.OK) {
            return new DecryptedResult.Failure(r.getRequestId(), r.getModelId(), String.valueOf(r.getError()), attributes,
                    r.getStatus() == ResponseStatus.EXPIRED);
        }
        ClientProfile profile = profiles.get(r.getModelId());
        if (profile == null) {
            throw new EeException("no client profile for model '" + r.getModelId() + "' (known: " + profiles.keySet() + ")");
        }
        DecryptedResult.Timings timings = new DecryptedResult.Timings(r.getCreatedAt().toEpochMilli(),
                r.getRespondedAt().toEpochMilli(), r.getQueuedMs(), r.getInferenceMs(), r.getBatchSize());
        switch (Task.parse(profile.task())) {
            case CLASSIFY -> {
                List<String> labels = profile.labels();
                Map<String, Float> scores = decryptor.classScores(toArray(required(r.getScores(), r)), labels);
                String best = labels.get(0);
                for (String l : labels) {
                    if (scores.get(l) > scores.get(best)) {
                        best = l;
                    }
                }
                return new DecryptedResult.Classification(r.getRequestId(), r.getModelId(), scores, best, scores.get(best),
                        List.copyOf(r.getScores()), attributes, timings);
            }
            case EMBED -> {
                return new DecryptedResult.Embedding(r.getRequestId(), r.getModelId(),
                        decryptor.embedding(toArray(required(r.getScores(), r))), attributes, timings);
            }
            case GENERATE -> {
                long[] cipher = required(r.getTokenIds(), r).stream().mapToLong(Long::longValue).toArray();
                long[] plain = decryptor.tokenIds(cipher, profile.vocabSize());
                // Plaintext ids only: turning them into text is the tokenizer's job, which this class does not hold.
                return new DecryptedResult.Tokens(r.getRequestId(), r.getModelId(), plain, null, attributes, timings);
            }
            default -> throw new IllegalStateException(profile.task());
        }
    }

    private static <T> T required(T value, InferenceResponse r) {
        if (value == null) {
            throw new EeException("response " + r.getRequestId() + " from model " + r.getModelId() + " carries no outputs");
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
