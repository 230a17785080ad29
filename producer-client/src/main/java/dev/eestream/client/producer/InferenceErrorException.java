package dev.eestream.client.producer;

/** The processor answered a request with an ERROR response. */
public final class InferenceErrorException extends RuntimeException {
    private final String requestId;

    public InferenceErrorException(String requestId, String message) {
        super("request " + requestId + " failed: " + message);
        this.requestId = requestId;
    }

    public String requestId() {
        return requestId;
    }
}
