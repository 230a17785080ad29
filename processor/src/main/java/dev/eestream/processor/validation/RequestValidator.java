package dev.eestream.processor.validation;

import dev.eestream.core.model.ModelManifest;
import dev.eestream.core.runtime.ModelSession;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.schemas.InferenceRequest;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** Checks a decoded request before it waits for a batch; the reason goes back in an ERROR response. */
public final class RequestValidator {
    // Kafka's own rule for topic names.
    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final int MAX_REQUEST_ID = 256;

    private final ModelRepository models;

    public RequestValidator(ModelRepository models) {
        this.models = models;
    }

    /** The reason the request is invalid, or empty if it can be served. */
    public Optional<String> problem(InferenceRequest r) {
        if (r.getRequestId().isEmpty() || r.getRequestId().length() > MAX_REQUEST_ID) {
            return Optional.of("request id must have 1 to " + MAX_REQUEST_ID + " characters");
        }
        if (r.getReplyTopic() != null && !isLegalTopic(r.getReplyTopic())) {
            return Optional.of("reply topic '" + r.getReplyTopic() + "' is not a legal Kafka topic name");
        }
        Optional<ModelSession> model = models.model(r.getModelId());
        if (model.isEmpty()) {
            return Optional.of("unknown model '" + r.getModelId() + "'");
        }
        ModelManifest m = model.get().manifest();
        List<Long> ids = r.getTokenIds();
        if (ids.isEmpty()) {
            return Optional.of("empty token sequence");
        }
        if (ids.size() > m.maxSequenceLength()) {
            return Optional.of("sequence of " + ids.size() + " tokens exceeds the maximum of " + m.maxSequenceLength()
                    + " for model '" + m.modelId() + "'");
        }
        for (int i = 0; i < ids.size(); i++) {
            long id = ids.get(i);
            if (id < 0 || id >= m.vocabSize()) {
                return Optional.of("token id " + id + " at position " + i + " is outside the vocabulary [0, " + m.vocabSize() + ")");
            }
        }
        return Optional.empty();
    }

    public static boolean isLegalTopic(String name) {
        return TOPIC.matcher(name).matches() && !name.equals(".") && !name.equals("..");
    }
}
