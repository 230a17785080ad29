package dev.eestream.processor.topology;

import dev.eestream.schemas.FinishReason;
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

    /**
     * The final record of a generation: the ciphertext ids not streamed before (all of them when not
     * streamed), why it ended, and the token counts; {@code chunk} is its number among the request's records.
     */
    static InferenceResponse generated(InferenceRequest r, List<Long> tokenIds, int chunk, int generatedTokens, FinishReason reason,
            long queuedMs, long inferenceMs, int batchSize, long nowMillis) {
        return base(r, nowMillis).setStatus(ResponseStatus.OK).setTokenIds(tokenIds).setFinishReason(reason)
                .setPromptTokens(r.getTokenIds().size()).setGeneratedTokens(generatedTokens).setChunk(chunk).setFinalChunk(true)
                .setQueuedMs(queuedMs).setInferenceMs(inferenceMs).setBatchSize(batchSize).build();
    }

    /** A chunk of a streamed generation: the ids generated since the previous chunk; not final, no finish reason. */
    static InferenceResponse chunk(InferenceRequest r, List<Long> tokenIds, int chunk, int generatedSoFar, long nowMillis) {
        return base(r, nowMillis).setStatus(ResponseStatus.OK).setTokenIds(tokenIds).setPromptTokens(r.getTokenIds().size())
                .setGeneratedTokens(generatedSoFar).setChunk(chunk).setFinalChunk(false).build();
    }

    /** An ERROR answer to a request of a generate model: also its finish reason says so. */
    static InferenceResponse generationError(InferenceRequest r, String reason, long nowMillis) {
        return generationError(r, reason, 0, nowMillis);
    }

    /** An ERROR final record of a generation that may have streamed {@code chunk} chunks before. */
    static InferenceResponse generationError(InferenceRequest r, String reason, int chunk, long nowMillis) {
        return InferenceResponse.newBuilder(error(r, reason, nowMillis)).setFinishReason(FinishReason.ERROR)
                .setPromptTokens(r.getTokenIds().size()).setChunk(chunk).build();
    }

    /**
     * The answer to a request whose deadline passed before it started: status EXPIRED, no inference.
     * A generate model's also says finish reason DEADLINE and counts the {@code chunk} chunks it may
     * have streamed before a crash.
     */
    static InferenceResponse expired(InferenceRequest r, boolean generate, int chunk, long nowMillis) {
        InferenceResponse.Builder b = base(r, nowMillis).setStatus(ResponseStatus.EXPIRED).setError("its deadline "
                + r.getDeadline() + " passed " + (nowMillis - r.getDeadline().toEpochMilli()) + " ms before it could start");
        if (generate) {
            b.setFinishReason(FinishReason.DEADLINE).setPromptTokens(r.getTokenIds().size()).setChunk(chunk);
        }
        return b.build();
    }

    /**
     * An ERROR answer. Oversized request fields are not echoed whole: a hostile request must not make
     * an answer too large to produce. The request id is kept when it is of legal length.
     */
    static InferenceResponse error(InferenceRequest r, String reason, long nowMillis) {
        InferenceResponse.Builder b = base(r, nowMillis).setStatus(ResponseStatus.ERROR).setError(reason);
        b.setRequestId(truncate(r.getRequestId(), 256)).setModelId(truncate(r.getModelId(), 256));
        long attributeChars = r.getAttributes().entrySet().stream().mapToLong(e -> e.getKey().length() + e.getValue().length()).sum();
        if (attributeChars > dev.eestream.processor.validation.RequestValidator.MAX_ATTRIBUTES_CHARS) {
            b.setAttributes(java.util.Map.of());
        }
        return b.build();
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }

    private static InferenceResponse.Builder base(InferenceRequest r, long nowMillis) {
        return InferenceResponse.newBuilder().setRequestId(r.getRequestId()).setModelId(r.getModelId())
                .setAttributes(r.getAttributes()).setCreatedAt(r.getCreatedAt()).setRespondedAt(Instant.ofEpochMilli(nowMillis));
    }
}
