package dev.eestream.processor.generation;

import dev.eestream.processor.batching.PendingRequest;
import dev.eestream.schemas.FinishReason;
import java.util.List;

/**
 * A finished generation: the ciphertext ids generated and why it ended, or an error. {@code
 * admittedMillis} is when the stream task handed the request over (the task's clock); the other times
 * are measured on the decode thread from the moment the loop took it: {@code firstTokenMs} to its
 * first generated id (-1: none), {@code generationMs} to the end. {@code batchSize} is the sequences
 * its last step ran with. {@code expired}: its deadline had passed before it could start, so it
 * never ran.
 */
public record GenerationOutcome(PendingRequest request, long admittedMillis, List<Long> tokenIds, FinishReason finishReason,
        String error, long firstTokenMs, long generationMs, int batchSize, boolean expired) {
    public GenerationOutcome {
        tokenIds = List.copyOf(tokenIds);
    }

    static GenerationOutcome failed(GenerationJob job, String error, long generationMs) {
        return new GenerationOutcome(job.request(), job.admittedMillis(), List.of(), FinishReason.ERROR, error, -1, generationMs, 0,
                false);
    }

    static GenerationOutcome expired(GenerationJob job) {
        return new GenerationOutcome(job.request(), job.admittedMillis(), List.of(), FinishReason.DEADLINE, null, -1, 0, 0, true);
    }

    public boolean ok() {
        return error == null;
    }
}
