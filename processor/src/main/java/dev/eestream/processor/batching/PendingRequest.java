package dev.eestream.processor.batching;

import dev.eestream.schemas.InferenceRequest;

/**
 * A valid request waiting for its answer, as kept in the state store. For a streamed generation,
 * {@code sentTokens} and {@code sentChunks} say how much of it was already forwarded, so that after a
 * crash the regenerated tokens already sent are skipped and chunk numbers go on.
 */
public record PendingRequest(String storeKey, long seq, long arrivalMillis, InferenceRequest request, int sentTokens,
        int sentChunks) {
    public PendingRequest(String storeKey, long seq, long arrivalMillis, InferenceRequest request) {
        this(storeKey, seq, arrivalMillis, request, 0, 0);
    }

    public int length() {
        return request.getTokenIds().size();
    }

    public String modelId() {
        return request.getModelId();
    }

    public PendingRequest withSent(int tokens, int chunks) {
        return new PendingRequest(storeKey, seq, arrivalMillis, request, tokens, chunks);
    }
}
