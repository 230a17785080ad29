package dev.eestream.processor.batching;

import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs inference batches off the stream thread, so the stream thread keeps polling, decoding,
 * forwarding and committing while ONNX Runtime computes. Shared by all tasks of a processor.
 * A failing batch is retried in halves until the requests that fail alone are found.
 */
public final class InferenceWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InferenceWorker.class);

    /** What inference made of one request: class scores or an embedding, generated ids, or an error. */
    public record Answer(PendingRequest request, List<Float> scores, List<Long> tokenIds, String error) {
    }

    /** A finished batch; {@code splits} counts the failed (sub-)batches that were retried in halves. */
    public record Outcome(List<Answer> answers, long inferenceMs, int batchSize, int splits) {
    }

    private final ExecutorService executor;

    private InferenceWorker(ExecutorService executor) {
        this.executor = executor;
    }

    /** {@code threads} batches at a time on their own threads. */
    public static InferenceWorker async(int threads) {
        AtomicInteger n = new AtomicInteger();
        return new InferenceWorker(Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "eestream-inference-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        }));
    }

    /** Runs each batch on the caller's thread: deterministic, for tests. */
    public static InferenceWorker inline() {
        return new InferenceWorker(null);
    }

    public CompletableFuture<Outcome> submit(ModelSession session, List<PendingRequest> batch) {
        if (executor == null) {
            return CompletableFuture.completedFuture(run(session, batch));
        }
        return CompletableFuture.supplyAsync(() -> run(session, batch), executor);
    }

    static Outcome run(ModelSession session, List<PendingRequest> batch) {
        long t0 = System.nanoTime();
        List<Answer> answers = new ArrayList<>(batch.size());
        int splits = runHalving(session, batch, answers);
        return new Outcome(answers, (System.nanoTime() - t0) / 1_000_000, batch.size(), splits);
    }

    /** Returns how many (sub-)batches failed and were split. */
    private static int runHalving(ModelSession session, List<PendingRequest> batch, List<Answer> answers) {
        List<long[]> ids = new ArrayList<>(batch.size());
        for (PendingRequest p : batch) {
            ids.add(p.request().getTokenIds().stream().mapToLong(Long::longValue).toArray());
        }
        try {
            float[][] out = session.run(ids);
            for (int b = 0; b < batch.size(); b++) {
                answers.add(new Answer(batch.get(b), boxed(out[b]), null, null));
            }
            return 0;
        } catch (RuntimeException e) {
            if (batch.size() > 1) {
                LOG.warn("a batch of {} failed on model {} ({}); retrying in halves", batch.size(), session.manifest().modelId(),
                        e.getMessage());
                return 1 + runHalving(session, batch.subList(0, batch.size() / 2), answers)
                        + runHalving(session, batch.subList(batch.size() / 2, batch.size()), answers);
            }
            LOG.warn("request {} failed on model {}: {}", batch.get(0).request().getRequestId(), session.manifest().modelId(),
                    e.getMessage());
            answers.add(new Answer(batch.get(0), null, null, "inference failed: " + e.getMessage()));
            return 0;
        }
    }

    /** For lm models: the argmax ciphertext id at each real (unpadded) position. */
    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
