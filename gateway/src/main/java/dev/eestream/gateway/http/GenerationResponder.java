package dev.eestream.gateway.http;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.gateway.api.Failures;
import dev.eestream.gateway.api.GenerationJson;
import dev.eestream.gateway.api.GenerationRequest;
import io.javalin.http.sse.SseClient;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Answers a generation whole, or streamed as Server-Sent Events ending in {@code data: [DONE]}. The client's reply
 * thread only queues text; this request's own thread writes it, so a slow reader never holds up other answers.
 */
final class GenerationResponder {
    /** Longest silence on a stream before a comment line keeps proxies and idle timeouts from closing it. */
    private static final long KEEP_ALIVE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private GenerationResponder() {
    }

    /**
     * @param start starts the generation with a text listener (null for a whole answer); may throw for a bad request
     */
    static void respond(Exchange ex, GenerationRequest request, GenerationJson json,
            Function<Consumer<String>, CompletableFuture<DecryptedResult.Generation>> start) throws InterruptedException {
        if (!request.stream()) {
            try {
                ex.json(200, json.whole(start.apply(null).get()));
            } catch (ExecutionException e) {
                throw Failures.toOpenAi(e);
            }
            return;
        }
        BlockingQueue<String> deltas = new LinkedBlockingQueue<>();
        CompletableFuture<DecryptedResult.Generation> future = start.apply(deltas::add);
        SseClient sse = ex.startEvents();
        send(sse, json.opening());
        long lastWrite = System.nanoTime();
        while (!sse.terminated()) {
            boolean done = future.isDone(); // read before draining: every delta precedes completion
            for (String d = deltas.poll(); d != null; d = deltas.poll()) {
                if (!d.isEmpty()) {
                    send(sse, json.delta(d));
                    lastWrite = System.nanoTime();
                }
            }
            if (done) {
                break;
            }
            String d = deltas.poll(50, TimeUnit.MILLISECONDS);
            if (d != null) {
                if (!d.isEmpty()) {
                    send(sse, json.delta(d)); // the queue's head: order kept
                    lastWrite = System.nanoTime();
                }
            } else if (System.nanoTime() - lastWrite > KEEP_ALIVE_NANOS) {
                sse.sendComment("keep-alive");
                lastWrite = System.nanoTime();
            }
        }
        if (sse.terminated()) {
            future.cancel(true); // the application went away: the processor stops the generation and frees its slot
            return;
        }
        DecryptedResult.Generation g;
        try {
            g = future.get();
        } catch (ExecutionException e) {
            ex.error(Failures.toOpenAi(e));
            sse.sendData("[DONE]");
            return;
        }
        send(sse, json.finish(g));
        if (request.includeUsage()) {
            send(sse, json.usageChunk(g));
        }
        sse.sendData("[DONE]");
    }

    private static void send(SseClient sse, com.fasterxml.jackson.databind.node.ObjectNode chunk) {
        if (chunk != null && !sse.terminated()) {
            sse.sendData(Exchange.write(chunk));
        }
    }
}
