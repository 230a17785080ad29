package dev.eestream.processor.generation;

import dev.eestream.runtime.session.DecoderState;
import dev.eestream.schemas.FinishReason;
import java.util.ArrayList;
import java.util.List;

/**
 * One generation in a {@link DecodeLoop}: its decoder state, the ids generated so far and its
 * sampler. Touched only by the loop's thread, one step at a time.
 */
final class RunningSequence {
    private final GenerationJob job;
    private final TokenSampler sampler;
    private final long startNanos;
    private final List<Long> generated = new ArrayList<>();
    private DecoderState state;
    private long firstTokenNanos = -1;
    private long lastTokenNanos = -1;
    private long lastInterTokenNanos = -1;

    /** @param multiplicities the model's homophone multiplicities per id, or null */
    RunningSequence(GenerationJob job, long startNanos, int[] multiplicities) {
        this.job = job;
        this.sampler = new TokenSampler(job.params(), multiplicities);
        this.startNanos = startNanos;
    }

    GenerationJob job() {
        return job;
    }

    DecoderState state() {
        return state;
    }

    void advanced(DecoderState next) {
        this.state = next;
    }

    /**
     * Chooses the next id from the state's logits and says whether the generation ends with it: at a
     * stop id (STOP), at maxNewTokens or when prompt and generated ids fill the context (LENGTH); null
     * when the id is to be fed for another step.
     */
    FinishReason chooseNext(int contextLength) {
        long id = sampler.next(state.nextLogits());
        generated.add(id);
        if (job.params().stream()) {
            job.publish(generated);
        }
        long now = System.nanoTime();
        if (firstTokenNanos < 0) {
            firstTokenNanos = now;
        }
        lastInterTokenNanos = lastTokenNanos < 0 ? -1 : now - lastTokenNanos;
        lastTokenNanos = now;
        if (job.params().stopIds().contains(id)) {
            return FinishReason.STOP;
        }
        // Feeding the id could not yield another one once the budget or the context is full.
        if (generated.size() >= job.params().maxNewTokens() || state.length() + 1 >= contextLength) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    /** Time between the last two ids chosen; -1 after the first. */
    long lastInterTokenNanos() {
        return lastInterTokenNanos;
    }

    long lastId() {
        return generated.get(generated.size() - 1);
    }

    GenerationOutcome finished(FinishReason reason, int batchSize) {
        long now = System.nanoTime();
        return new GenerationOutcome(job.request(), job.admittedMillis(), generated, reason, null,
                firstTokenNanos < 0 ? -1 : (firstTokenNanos - startNanos) / 1_000_000, (now - startNanos) / 1_000_000, batchSize,
                false);
    }

    long startNanos() {
        return startNanos;
    }
}
