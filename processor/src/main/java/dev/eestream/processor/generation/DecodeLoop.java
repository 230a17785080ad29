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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching for one generate model. Each iteration prefills the requests admitted since
 * the last one, chooses one id for every running sequence, hands finished ones their outcome at
 * once, and feeds the others their id in one batched step. So a request joins the running set
 * between two steps and a short one never waits for a long one. Iterations run on the executor,
 * one at a time, rescheduling themselves while there is work.
 */
final class DecodeLoop {
    private static final Logger LOG = LoggerFactory.getLogger(DecodeLoop.class);

    private final DecoderSession session;
    private final Executor executor;
    private final Queue<GenerationJob> admitted = new ConcurrentLinkedQueue<>();
    private final List<RunningSequence> running = new ArrayList<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** Admitted and running sequences: what admission control counts. */
    private final AtomicInteger active = new AtomicInteger();

    DecodeLoop(DecoderSession session, Executor executor) {
        this.session = session;
        this.executor = executor;
    }

    void submit(GenerationJob job) {
        active.incrementAndGet();
        admitted.add(job);
        schedule();
    }

    int active() {
        return active.get();
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
            LOG.error("decode loop of model {} failed: {}", session.manifest().modelId(), e.toString());
            failAll(e);
        } finally {
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
        while ((job = admitted.poll()) != null) {
            if (job.cancelled()) {
                active.decrementAndGet();
            } else {
                joining.add(new RunningSequence(job, System.nanoTime()));
            }
        }
        if (joining.isEmpty()) {
            return;
        }
        List<long[]> prompts = joining.stream().map(s -> s.job().request().request().getTokenIds().stream()
                .mapToLong(Long::longValue).toArray()).toList();
        List<DecoderState> states;
        try {
            states = session.prefill(prompts);
        } catch (RuntimeException e) {
            joining.forEach(s -> fail(s, "prefill failed: " + e.getMessage()));
            return;
        }
        for (int i = 0; i < joining.size(); i++) {
            joining.get(i).advanced(states.get(i));
            running.add(joining.get(i));
        }
    }

    /** One id for every running sequence; the finished leave, the others are fed their id together. */
    private void step() {
        int context = session.manifest().maxSequenceLength();
        int batch = running.size();
        List<RunningSequence> continuing = new ArrayList<>(batch);
        for (RunningSequence s : running) {
            if (s.job().cancelled()) {
                active.decrementAndGet();
                continue;
            }
            FinishReason done = s.chooseNext(context);
            if (done != null) {
                complete(s.job(), s.finished(done, batch));
            } else {
                continuing.add(s);
            }
        }
        running.clear();
        if (continuing.isEmpty()) {
            return;
        }
        long[] ids = continuing.stream().mapToLong(RunningSequence::lastId).toArray();
        List<DecoderState> states;
        try {
            states = session.step(continuing.stream().map(RunningSequence::state).toList(), ids);
        } catch (RuntimeException e) {
            continuing.forEach(s -> fail(s, "decoding failed: " + e.getMessage()));
            return;
        }
        for (int i = 0; i < continuing.size(); i++) {
            continuing.get(i).advanced(states.get(i));
            running.add(continuing.get(i));
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
        active.decrementAndGet();
        job.complete(outcome);
    }
}
