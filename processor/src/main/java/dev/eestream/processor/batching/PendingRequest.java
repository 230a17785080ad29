package dev.eestream.processor.batching;

import dev.eestream.schemas.InferenceRequest;

/** A valid request waiting for its batch, as kept in the state store. */
public record PendingRequest(String storeKey, long seq, long arrivalMillis, InferenceRequest request) {
    public int length() {
        return request.getTokenIds().size();
    }

    public String modelId() {
        return request.getModelId();
    }
}
