package dev.eestream.processor.generation;

import dev.eestream.processor.batching.PendingRequest;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A request handed from a stream task to a model's {@link DecodeLoop}: its outcome goes to
 * {@code sink}. The task cancels it when it loses the request's partition; the request stays in the
 * state store, so the next owner generates it again.
 */
public final class GenerationJob {
    private final PendingRequest request;
    private final DecodingParams params;
    private final Consumer<GenerationOutcome> sink;
    private final long admittedMillis;
    private final long kvCacheBytes;
    private final long deadlineNanos;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    /** The ids generated so far, published after each step for a streamed generation. */
    private volatile List<Long> progress = List.of();

    /**
     * {@code admittedMillis}: when the stream task handed it over, on the task's clock; {@code
     * kvCacheBytes}: what it reserved of the {@link KvCacheBudget}, released when it leaves the loop;
     * {@code deadlineNanos}: on the {@link System#nanoTime()} clock, when it must end ({@link Long#MAX_VALUE}: never).
     */
    public GenerationJob(PendingRequest request, DecodingParams params, long kvCacheBytes, long deadlineNanos, long admittedMillis,
            Consumer<GenerationOutcome> sink) {
        this.request = request;
        this.admittedMillis = admittedMillis;
        this.params = params;
        this.kvCacheBytes = kvCacheBytes;
        this.deadlineNanos = deadlineNanos;
        this.sink = sink;
    }

    /** Whether its deadline has passed at {@code nanoTime}. */
    boolean pastDeadline(long nanoTime) {
        return deadlineNanos != Long.MAX_VALUE && nanoTime - deadlineNanos >= 0;
    }

    public PendingRequest request() {
        return request;
    }

    public DecodingParams params() {
        return params;
    }

    public long admittedMillis() {
        return admittedMillis;
    }

    long kvCacheBytes() {
        return kvCacheBytes;
    }

    public void cancel() {
        cancelled.set(true);
    }

    public boolean cancelled() {
        return cancelled.get();
    }

    /** The ids generated so far (streamed generations only; empty otherwise). */
    public List<Long> progress() {
        return progress;
    }

    void publish(List<Long> generatedSoFar) {
        progress = List.copyOf(generatedSoFar);
    }

    void complete(GenerationOutcome outcome) {
        sink.accept(outcome);
    }
}
