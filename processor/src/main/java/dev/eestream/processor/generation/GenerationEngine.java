package dev.eestream.processor.generation;

import dev.eestream.runtime.session.DecoderSession;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Generation off the stream threads: one {@link DecodeLoop} per generate model, shared by all tasks
 * of a processor, so their requests batch together. Admission control is here: at most
 * {@code maxSequences} sequences per model run or wait for their prefill; the rest wait in the
 * state store. Close it to stop the decode threads.
 */
public final class GenerationEngine implements AutoCloseable {
    private final Executor executor;
    private final ExecutorService owned;
    private final int maxSequences;
    private final Map<String, DecodeLoop> loops = new ConcurrentHashMap<>();

    private GenerationEngine(Executor executor, ExecutorService owned, int maxSequences) {
        if (maxSequences < 1) {
            throw new IllegalArgumentException("generate.max.sequences must be at least 1, got " + maxSequences);
        }
        this.executor = executor;
        this.owned = owned;
        this.maxSequences = maxSequences;
    }

    /** Decode steps on {@code threads} threads of their own (steps of one model never overlap). */
    public static GenerationEngine async(int threads, int maxSequences) {
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "eestream-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        return new GenerationEngine(pool, pool, maxSequences);
    }

    /** Decode steps on the given executor: tests decide when, and whether, they run. */
    public static GenerationEngine on(Executor executor, int maxSequences) {
        return new GenerationEngine(executor, null, maxSequences);
    }

    public int maxSequences() {
        return maxSequences;
    }

    /** How many more sequences of the model may start now. */
    public int freeSlots(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return Math.max(0, maxSequences - (loop == null ? 0 : loop.active()));
    }

    /** Sequences of the model admitted or running: for the gauge. */
    public int running(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return loop == null ? 0 : loop.active();
    }

    public void submit(DecoderSession session, GenerationJob job) {
        loops.computeIfAbsent(session.manifest().modelId(), id -> new DecodeLoop(session, executor)).submit(job);
    }

    @Override
    public void close() {
        if (owned != null) {
            owned.shutdownNow();
        }
    }
}
