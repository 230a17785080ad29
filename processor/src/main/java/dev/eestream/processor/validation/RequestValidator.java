package dev.eestream.processor.validation;

import dev.eestream.processor.models.ModelRepository;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** Checks a decoded request before it waits for a batch; the reason goes back in an ERROR response. */
public final class RequestValidator {
    // Kafka's own rule for topic names.
    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final int MAX_REQUEST_ID = 256;

    /** Keys and values of a request's attributes, in characters: they travel back in the response. */
    public static final int MAX_ATTRIBUTES_CHARS = 64 * 1024;

    private final ModelRepository models;
    private final TopicExistence topics;

    public RequestValidator(ModelRepository models, TopicExistence topics) {
        this.models = models;
        this.topics = topics;
    }

    /** The reason the request is invalid, or empty if it can be served. */
    public Optional<String> problem(InferenceRequest r) {
        if (r.getRequestId().isEmpty() || r.getRequestId().length() > MAX_REQUEST_ID) {
            return Optional.of("request id must have 1 to " + MAX_REQUEST_ID + " characters");
        }
        if (r.getReplyTopic() != null && !isLegalTopic(r.getReplyTopic())) {
            return Optional.of("reply topic '" + abbreviate(r.getReplyTopic()) + "' is not a legal Kafka topic name");
        }
        if (r.getReplyTopic() != null && !topics.exists(r.getReplyTopic())) {
            return Optional.of("reply topic '" + r.getReplyTopic() + "' does not exist");
        }
        long attributeChars = 0;
        for (var e : r.getAttributes().entrySet()) {
            attributeChars += e.getKey().length() + e.getValue().length();
        }
        if (attributeChars > MAX_ATTRIBUTES_CHARS) {
            return Optional.of("attributes of " + attributeChars + " characters exceed the limit of " + MAX_ATTRIBUTES_CHARS);
        }
        Optional<ModelManifest> model = models.manifest(r.getModelId());
        if (model.isEmpty()) {
            return Optional.of("unknown model '" + abbreviate(r.getModelId()) + "'");
        }
        ModelManifest m = model.get();
        List<Long> ids = r.getTokenIds();
        if (ids.isEmpty()) {
            return Optional.of("empty token sequence");
        }
        if (m.taskKind() == Task.GENERATE) {
            // Prompt and generated ids share the context: a prompt that fills it leaves room for nothing.
            if (ids.size() >= m.maxSequenceLength()) {
                return Optional.of("prompt of " + ids.size() + " tokens leaves no room to generate: model '" + m.modelId()
                        + "' has a context length of " + m.maxSequenceLength() + " tokens (prompt and generated)");
            }
            Optional<String> params = generationProblem(r.getGeneration(), m);
            if (params.isPresent()) {
                return params;
            }
        } else if (ids.size() > m.maxSequenceLength()) {
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

    /** Generation parameters a generate model cannot honour; none (the defaults) are fine. */
    private static Optional<String> generationProblem(GenerationParams p, ModelManifest m) {
        if (p == null) {
            return Optional.empty();
        }
        if (p.getMaxNewTokens() < 1) {
            return Optional.of("maxNewTokens must be at least 1, got " + p.getMaxNewTokens());
        }
        if (!(p.getTemperature() >= 0f) || Float.isInfinite(p.getTemperature())) {
            return Optional.of("temperature must be 0 (greedy) or a positive number, got " + p.getTemperature());
        }
        if (!(p.getTopP() > 0f && p.getTopP() <= 1f)) {
            return Optional.of("topP must be in (0, 1], got " + p.getTopP());
        }
        if (p.getTopK() < 0) {
            return Optional.of("topK must be 0 (off) or positive, got " + p.getTopK());
        }
        for (long id : p.getStopTokenIds()) {
            if (id < 0 || id >= m.vocabSize()) {
                return Optional.of("stop token id " + id + " is outside the vocabulary [0, " + m.vocabSize() + ")");
            }
        }
        return Optional.empty();
    }

    /** Whether answers may go to this request's reply topic: it is legal and exists. */
    public boolean replyTopicUsable(InferenceRequest r) {
        return r.getReplyTopic() != null && isLegalTopic(r.getReplyTopic()) && topics.exists(r.getReplyTopic());
    }

    /** Hostile input is echoed in error messages only in part. */
    public static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…(" + s.length() + " characters)";
    }

    public static boolean isLegalTopic(String name) {
        return TOPIC.matcher(name).matches() && !name.equals(".") && !name.equals("..");
    }
}
