package dev.eestream.schemas.topics;

import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import java.util.List;
import java.util.Objects;

/**
 * eestream's topics, each a name with its serdes: the one place they are spelled. An instance is the
 * set one processor serves (names may be configured); the constants are the defaults.
 */
public record Topics(Topic<InferenceRequest> requests, Topic<InferenceResponse> responses, Topic<byte[]> deadLetters) {
    public static final String REQUESTS_NAME = "eestream.requests";
    public static final String RESPONSES_NAME = "eestream.responses";
    public static final String REPLIES_NAME = "eestream.replies";
    public static final String DEAD_LETTERS_NAME = "eestream.requests.dlq";

    /** Encrypted requests, keyed by request id. */
    public static final Topic<InferenceRequest> REQUESTS = Topic.avro(REQUESTS_NAME, InferenceRequest.class);
    /** Answers to requests that name no reply topic. */
    public static final Topic<InferenceResponse> RESPONSES = Topic.avro(RESPONSES_NAME, InferenceResponse.class);
    /** The reply topic clients share by default; each takes only its own request ids. */
    public static final Topic<InferenceResponse> REPLIES = Topic.avro(REPLIES_NAME, InferenceResponse.class);
    /** Request bytes that do not decode, with the reason in headers. */
    public static final Topic<byte[]> DEAD_LETTERS = Topic.bytes(DEAD_LETTERS_NAME);

    public static final Topics DEFAULT = new Topics(REQUESTS, RESPONSES, DEAD_LETTERS);

    public Topics {
        Objects.requireNonNull(requests, "requests");
        Objects.requireNonNull(responses, "responses");
        Objects.requireNonNull(deadLetters, "deadLetters");
    }

    /** The default topics under configured names. */
    public static Topics named(String requests, String responses, String deadLetters) {
        return new Topics(REQUESTS.named(requests), RESPONSES.named(responses), DEAD_LETTERS.named(deadLetters));
    }

    public List<String> names() {
        return List.of(requests.name(), responses.name(), deadLetters.name());
    }
}
