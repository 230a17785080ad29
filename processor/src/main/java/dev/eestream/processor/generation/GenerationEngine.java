package dev.eestream.processor.generation;

import dev.eestream.runtime.session.DecoderSession;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Generation off the stream threads: one {@link DecodeLoop} per generate model, shared by all tasks
 * of a processor, so their requests batch together. Admission control is here: at most
 * {@link GenerationPolicy#maxSequences()} sequences per model run or wait for their prefill; the
 * rest wait in the state store. Close it to stop the decode threads.
 */
public final class GenerationEngine implements AutoCloseable {
    private final Executor executor;
    private final ExecutorService owned;
    private final GenerationPolicy policy;
    private final Map<String, DecodeLoop> loops = new ConcurrentHashMap<>();

    private GenerationEngine(Executor executor, ExecutorService owned, GenerationPolicy policy) {
        this.executor = executor;
        this.owned = owned;
        this.policy = policy;
    }

    /** Decode steps on {@code threads} threads of their own (steps of one model never overlap). */
    public static GenerationEngine async(int threads, GenerationPolicy policy) {
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "eestream-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        return new GenerationEngine(pool, pool, policy);
    }

    /** Decode steps on the given executor: tests decide when, and whether, they run. */
    public static GenerationEngine on(Executor executor, GenerationPolicy policy) {
        return new GenerationEngine(executor, null, policy);
    }

    public GenerationPolicy policy() {
        return policy;
    }

    /** How many more sequences of the model may start now. */
    public int freeSlots(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return Math.max(0, policy.maxSequences() - (loop == null ? 0 : loop.active()));
    }

    /** Sequences of the model admitted or running: for the gauge. */
    public int running(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return loop == null ? 0 : loop.active();
    }

    public void submit(DecoderSession session, GenerationJob job) {
        loops.computeIfAbsent(session.manifest().modelId(), id -> new DecodeLoop(session, executor)).submit(job);
    }

    /** Stops the decode threads, waiting a little for a step in ONNX Runtime, which cannot be interrupted. */
    @Override
    public void close() {
        if (owned != null) {
            owned.shutdownNow();
            try {
                owned.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
