package dev.eestream.processor.generation;

import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.DecoderState;
import dev.eestream.schemas.FinishReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching for one generate model. Each iteration prefills the requests admitted since
 * the last one, chooses one id for every running sequence, hands finished ones their outcome at
 * once, and feeds the others their id in one batched step. So a request joins the running set
 * between two steps and a short one never waits for a long one. Iterations run on the executor,
 * one at a time, rescheduling themselves while there is work.
 *
 * <p>A prefill or step that fails is retried in halves, as encoder batches are, so only the
 * sequences that fail alone end in an error.
 */
final class DecodeLoop {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);

    private final DecoderSession session;
    private final Executor executor;
    private final KvCacheBudget budget;
    private final DecodeObserver observer;
    private final String model;
    private final long bytesPerToken;
    /** A model with homophones: per id, how many ids share its token (the sampler draws tokens); else null. */
    private final int[] multiplicities;
    private final Queue<GenerationJob> admitted = new ConcurrentLinkedQueue<>();
    private final List<RunningSequence> running = new ArrayList<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** Admitted and running sequences: what admission control counts. */
    private final AtomicInteger active = new AtomicInteger();
    /** Sequences decoding at once; more admitted ones wait in {@link #admitted} for a slot. */
    private final int maxRunning;
    private volatile int decoding;
    /** KV cache the running sequences hold between iterations. */
    private volatile long kvCacheBytes;
    private int splits;

    DecodeLoop(DecoderSession session, Executor executor, int maxRunning, KvCacheBudget budget, DecodeObserver observer) {
        this.session = session;
        this.maxRunning = maxRunning;
        this.executor = executor;
        this.budget = budget;
        this.observer = observer;
        this.model = session.manifest().modelId();
        this.bytesPerToken = KvCacheBudget.bytesPerToken(session.manifest());
        this.multiplicities = session.manifest().multiplicities();
    }

    void submit(GenerationJob job) {
        active.incrementAndGet();
        admitted.add(job);
        schedule();
    }

    int active() {
        return active.get();
    }

    /** Sequences in the running set after the last iteration. */
    int decoding() {
        return decoding;
    }

    long kvCacheBytes() {
        return kvCacheBytes;
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            executor.execute(this::iterate);
        }
    }

    private void iterate() {
        try {
            prefillAdmitted();
            step();
        } catch (RuntimeException e) {
            LOG.error("decode loop of model {} failed: {}", model, e.toString());
            failAll(e);
        } finally {
            if (splits > 0) {
                observer.splits(model, splits);
                splits = 0;
            }
            long held = 0;
            for (RunningSequence s : running) {
                held += s.state().length() * bytesPerToken;
            }
            kvCacheBytes = held;
            decoding = running.size();
            // Read before releasing the loop: once released, another iteration may own the running set.
            boolean more = !running.isEmpty();
            scheduled.set(false);
            if (more || !admitted.isEmpty()) {
                schedule();
            }
        }
    }

    private void prefillAdmitted() {
        List<RunningSequence> joining = new ArrayList<>();
        GenerationJob job;
        while (running.size() + joining.size() < maxRunning && (job = admitted.poll()) != null) {
            if (job.cancelled()) {
                leave(job);
            } else {
                joining.add(new RunningSequence(job, System.nanoTime(), multiplicities));
            }
        }
        if (!joining.isEmpty()) {
            advanceIsolating(joining, batch -> session.prefill(batch.stream().map(s -> s.job().request().request()
                    .getTokenIds().stream().mapToLong(Long::longValue).toArray()).toList()), "prefill");
        }
    }

    /** One id for every running sequence; the finished leave, the others are fed their id together. */
    private void step() {
        int context = session.manifest().maxSequenceLength();
        int batch = running.size();
        List<RunningSequence> continuing = new ArrayList<>(batch);
        String device = session.device().id();
        long now = System.nanoTime();
        for (RunningSequence s : running) {
            if (s.job().cancelled()) {
                leave(s.job());
                continue;
            }
            if (s.job().pastDeadline(now)) {
                complete(s.job(), s.finished(FinishReason.DEADLINE, batch));
                continue;
            }
            FinishReason done = s.chooseNext(context);
            long gap = s.lastInterTokenNanos();
            if (gap >= 0) {
                observer.interToken(model, device, gap);
            }
            if (done != null) {
                complete(s.job(), s.finished(done, batch));
            } else {
                continuing.add(s);
            }
        }
        running.clear();
        if (!continuing.isEmpty()) {
            advanceIsolating(continuing, seqs -> session.step(seqs.stream().map(RunningSequence::state).toList(),
                    seqs.stream().mapToLong(RunningSequence::lastId).toArray()), "decoding");
        }
    }

    /**
     * Runs a prefill or step over the sequences; those it advances join the running set. When the run
     * fails, each half is run on its own, down to single sequences, which then fail with the reason.
     */
    private void advanceIsolating(List<RunningSequence> seqs, Function<List<RunningSequence>, List<DecoderState>> run,
            String what) {
        List<DecoderState> states;
        try {
            states = run.apply(seqs);
        } catch (RuntimeException e) {
            if (seqs.size() == 1) {
                fail(seqs.get(0), what + " failed: " + e.getMessage());
                return;
            }
            splits++;
            int half = seqs.size() / 2;
            advanceIsolating(seqs.subList(0, half), run, what);
            advanceIsolating(seqs.subList(half, seqs.size()), run, what);
            return;
        }
        for (int i = 0; i < seqs.size(); i++) {
            seqs.get(i).advanced(states.get(i));
            running.add(seqs.get(i));
        }
    }

    private void failAll(RuntimeException e) {
        List<RunningSequence> all = new ArrayList<>(running);
        running.clear();
        all.forEach(s -> fail(s, "decoding failed: " + e.getMessage()));
    }

    private void fail(RunningSequence s, String reason) {
        complete(s.job(), GenerationOutcome.failed(s.job(), reason, (System.nanoTime() - s.startNanos()) / 1_000_000));
    }

    private void complete(GenerationJob job, GenerationOutcome outcome) {
        leave(job);
        job.complete(outcome);
    }

    /** The job stops counting against the sequence limit and gives back its KV-cache reservation. */
    private void leave(GenerationJob job) {
        active.decrementAndGet();
        budget.release(job.kvCacheBytes());
    }
}
