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
 * {@link GenerationPolicy#maxSequences()} sequences per model decode at once and as many again wait
 * in its loop, all of them together reserve at most {@link GenerationPolicy#kvCacheMaxBytes()} of KV
 * cache; the rest wait in the state store. Close it to stop the decode threads.
 */
public final class GenerationEngine implements AutoCloseable {
    private final Executor executor;
    private final ExecutorService owned;
    private final GenerationPolicy policy;
    private final KvCacheBudget budget;
    private final DecodeObserver observer;
    private final Map<String, DecodeLoop> loops = new ConcurrentHashMap<>();

    private GenerationEngine(Executor executor, ExecutorService owned, GenerationPolicy policy, DecodeObserver observer) {
        this.executor = executor;
        this.owned = owned;
        this.policy = policy;
        this.budget = new KvCacheBudget(policy.kvCacheMaxBytes());
        this.observer = observer;
    }

    /** Decode steps on {@code threads} threads of their own (steps of one model never overlap). */
    public static GenerationEngine async(int threads, GenerationPolicy policy, DecodeObserver observer) {
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "eestream-decode-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        return new GenerationEngine(pool, pool, policy, observer);
    }

    public static GenerationEngine async(int threads, GenerationPolicy policy) {
        return async(threads, policy, DecodeObserver.NONE);
    }

    /** Decode steps on the given executor: tests decide when, and whether, they run. */
    public static GenerationEngine on(Executor executor, GenerationPolicy policy, DecodeObserver observer) {
        return new GenerationEngine(executor, null, policy, observer);
    }

    public static GenerationEngine on(Executor executor, GenerationPolicy policy) {
        return on(executor, policy, DecodeObserver.NONE);
    }

    public GenerationPolicy policy() {
        return policy;
    }

    /** The KV-cache memory of all generate models; admission reserves from it. */
    public KvCacheBudget budget() {
        return budget;
    }

    /**
     * How many more sequences of the model may be admitted now, as far as the sequence count goes: as
     * many as decode at once, and as many again waiting in the loop, so that a slot freed between two
     * decode steps is filled at the next one, not when the stream thread next runs.
     */
    public int freeSlots(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return Math.max(0, 2 * policy.maxSequences() - (loop == null ? 0 : loop.active()));
    }

    /** Sequences of the model decoding (at most {@link GenerationPolicy#maxSequences()}): for the gauge. */
    public int running(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return loop == null ? 0 : loop.decoding();
    }

    /** Sequences of the model admitted and not finished: decoding, or waiting in its loop for a slot. */
    public int admitted(String modelId) {
        DecodeLoop loop = loops.get(modelId);
        return loop == null ? 0 : loop.active();
    }

    /** KV-cache bytes the running sequences of all models hold now (between steps): for the gauge. */
    public long kvCacheBytes() {
        long sum = 0;
        for (DecodeLoop loop : loops.values()) {
            sum += loop.kvCacheBytes();
        }
        return sum;
    }

    /** Starts the job; it has reserved {@link GenerationJob#kvCacheBytes()} of {@link #budget()}, which it releases when it ends. */
    public void submit(DecoderSession session, GenerationJob job) {
        loops.computeIfAbsent(session.manifest().modelId(), id -> new DecodeLoop(session, executor, policy.maxSequences(), budget, observer)).submit(job);
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
