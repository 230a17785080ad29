package dev.eestream.processor.topology;

import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.time.Instant;
import java.util.List;

/** Builds responses; attributes and createdAt travel back unchanged. */
final class Responses {
    private Responses() {
    }

    static InferenceResponse ok(InferenceRequest r, List<Float> scores, List<Long> tokenIds, long queuedMs, long inferenceMs,
            int batchSize, long nowMillis) {
        return base(r, nowMillis).setStatus(ResponseStatus.OK).setScores(scores).setTokenIds(tokenIds)
                .setQueuedMs(queuedMs).setInferenceMs(inferenceMs).setBatchSize(batchSize).build();
    }

    static InferenceResponse error(InferenceRequest r, String reason, long nowMillis) {
        return base(r, nowMillis).setStatus(ResponseStatus.ERROR).setError(reason).build();
    }

    private static InferenceResponse.Builder base(InferenceRequest r, long nowMillis) {
        return InferenceResponse.newBuilder().setRequestId(r.getRequestId()).setModelId(r.getModelId())
                .setAttributes(r.getAttributes()).setCreatedAt(r.getCreatedAt()).setRespondedAt(Instant.ofEpochMilli(nowMillis));
    }
}
