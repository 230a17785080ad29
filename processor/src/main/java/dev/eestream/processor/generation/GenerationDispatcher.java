package dev.eestream.processor.generation;

import dev.eestream.processor.batching.PendingRequest;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.runtime.session.DecoderSession;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * A stream task's side of generation: hands the task's waiting requests of a generate model to the
 * {@link GenerationEngine} as slots free up, cuts streamed generations into chunks, and collects the
 * outcomes, for the task to forward on the stream thread. Used by the stream thread only (outcomes
 * arrive through a concurrent queue).
 */
public final class GenerationDispatcher {
    /** What the task forwards: a chunk of a streamed generation, or the final record of a generation. */
    public interface Forwarder {
        /** {@code tokens} are the new ids since the last chunk; {@code generatedSoFar} counts all of them. */
        void chunk(PendingRequest request, int chunk, List<Long> tokens, int generatedSoFar);

        /** {@code request} tells what was already streamed: its final record holds only the ids not sent yet. */
        void finished(GenerationOutcome outcome, PendingRequest request);
    }

    /** A generation of this task: its job, its request as now stored, and when it last sent a chunk. */
    private static final class Tracked {
        final GenerationJob job;
        PendingRequest request;
        long lastChunkMillis;

        Tracked(GenerationJob job, PendingRequest request, long lastChunkMillis) {
            this.job = job;
            this.request = request;
            this.lastChunkMillis = lastChunkMillis;
        }
    }

    private final GenerationEngine engine;
    private final Queue<GenerationOutcome> finished = new ConcurrentLinkedQueue<>();
    private final Map<String, Tracked> inFlight = new LinkedHashMap<>();

    public GenerationDispatcher(GenerationEngine engine) {
        this.engine = engine;
    }

    /**
     * Starts the model's oldest waiting requests, in order, while the engine has a sequence slot and
     * KV-cache budget for the next one; returns how many started. A request that does not fit yet
     * keeps its place: the ones behind it wait too, so none is overtaken for ever.
     */
    public int admit(DecoderSession session, PendingStore pending, long nowMillis) {
        String model = session.manifest().modelId();
        int started = 0;
        while (engine.freeSlots(model) > 0) {
            PendingRequest next = pending.peekOldest(model);
            if (next == null) {
                break;
            }
            DecodingParams params = DecodingParams.of(next.request());
            Instant deadline = next.request().getDeadline();
            if (deadline != null && nowMillis >= deadline.toEpochMilli()) {
                answerAtOnce(pending.takeOldest(model, 1).get(0), params, nowMillis, GenerationOutcome::expired);
                continue;
            }
            // The deadline on this JVM's monotonic clock, which the decode thread reads.
            long deadlineNanos = deadline == null ? Long.MAX_VALUE
                    : System.nanoTime() + (deadline.toEpochMilli() - nowMillis) * 1_000_000;
            long kvBytes = KvCacheBudget.worstCase(session.manifest(), next.length(), params.maxNewTokens());
            if (kvBytes > engine.budget().maxBytes()) {
                long max = engine.budget().maxBytes();
                // It would block those behind it for ever.
                answerAtOnce(pending.takeOldest(model, 1).get(0), params, nowMillis, job -> GenerationOutcome.failed(job,
                        "a generation of " + job.request().length() + " prompt tokens and up to " + params.maxNewTokens()
                                + " new tokens needs " + kvBytes + " bytes of KV cache, more than the processor's budget of "
                                + max + " bytes (generate.kv.cache.max.bytes): ask for fewer new tokens", 0));
                continue;
            }
            if (!engine.budget().tryReserve(kvBytes)) {
                break;
            }
            PendingRequest p = pending.takeOldest(model, 1).get(0);
            GenerationJob job = new GenerationJob(p, params, kvBytes, deadlineNanos, nowMillis, finished::add);
            inFlight.put(p.storeKey(), new Tracked(job, p, nowMillis));
            engine.submit(session, job);
            started++;
        }
        return started;
    }

    /**
     * Ends a taken request without decoding it: its outcome (expired, refused) is forwarded by {@link
     * #drain} like any other, so it is answered and leaves the store in the stream thread's transaction.
     */
    private void answerAtOnce(PendingRequest p, DecodingParams params, long nowMillis,
            Function<GenerationJob, GenerationOutcome> outcome) {
        GenerationJob job = new GenerationJob(p, params, 0, Long.MAX_VALUE, nowMillis, finished::add);
        inFlight.put(p.storeKey(), new Tracked(job, p, nowMillis));
        finished.add(outcome.apply(job));
    }

    /**
     * For each streamed generation whose interval has passed and that has new ids, forwards them as
     * its next chunk and records in the store, in the same transaction, how many ids and chunks are
     * sent. Ids a regeneration after a crash produces again are not sent again.
     */
    public void streamDue(long nowMillis, PendingStore pending, Forwarder forward) {
        long interval = engine.policy().streamInterval().toMillis();
        for (Tracked t : inFlight.values()) {
            if (!t.job.params().stream() || nowMillis - t.lastChunkMillis < interval) {
                continue;
            }
            List<Long> progress = t.job.progress();
            int sent = t.request.sentTokens();
            if (progress.size() <= sent) {
                continue;
            }
            forward.chunk(t.request, t.request.sentChunks(), progress.subList(sent, progress.size()), progress.size());
            t.request = pending.streamed(t.request, progress.size(), t.request.sentChunks() + 1);
            t.lastChunkMillis = nowMillis;
        }
    }

    /** Hands each finished generation to {@code forward}, in the order they finished. */
    public void drain(Forwarder forward) {
        GenerationOutcome o;
        while ((o = finished.poll()) != null) {
            Tracked t = inFlight.remove(o.request().storeKey());
            if (t != null) {
                forward.finished(o, t.request);
            }
        }
    }

    /**
     * The client cancelled the request: its generation stops at the next decode step, which frees its slot, and nothing
     * more of it is forwarded. Returns the request as stored, for the task to answer and remove; empty when no
     * generation of this task has that request id (already answered, or still waiting in the store).
     */
    public Optional<PendingRequest> cancel(String requestId) {
        for (Iterator<Tracked> it = inFlight.values().iterator(); it.hasNext();) {
            Tracked t = it.next();
            if (t.request.request().getRequestId().equals(requestId)) {
                t.job.cancel();
                it.remove();
                return Optional.of(t.request);
            }
        }
        return Optional.empty();
    }

    /**
     * The task is closing: its generations stop at the next step and nothing more is forwarded. Their
     * requests are still in the state store, so the task's next owner generates them again.
     */
    public void cancelAll() {
        inFlight.values().forEach(t -> t.job.cancel());
        inFlight.clear();
        finished.clear();
    }
}
