package dev.eestream.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.gateway.api.RequestBody;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** One HTTP request and its answer: the body read within the size limit, JSON out, or an SSE stream. */
public final class Exchange {
    static final ObjectMapper JSON = new ObjectMapper();
    /** At most this much of an oversized body is read (and dropped) so the 413 reaches the client. */
    private static final long DRAIN_LIMIT = 16L << 20;

    private final Context ctx;
    private final long maxBodyBytes;
    private SseClient sse;

    Exchange(Context ctx, long maxBodyBytes) {
        this.ctx = ctx;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * The JSON body, read up to the limit whether or not the client declared its length.
     *
     * @throws OpenAiException 413 past the limit, 400 when it is not a JSON object
     */
    public RequestBody body() {
        long declared = ctx.req().getContentLengthLong();
        try (InputStream in = ctx.req().getInputStream()) {
            if (declared > maxBodyBytes) {
                throw tooLarge(in);
            }
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
            if (bytes.length > maxBodyBytes) {
                throw tooLarge(in);
            }
            return RequestBody.parse(bytes);
        } catch (IOException e) {
            throw OpenAiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
    }

    /**
     * The 413, after reading what is left of a body that is not far past the limit: closing a connection while the
     * client is still sending makes its TCP stack reset it, and the client may lose the 413 along with it. A body past
     * the drain limit is not read; that connection just closes.
     */
    private OpenAiException tooLarge(InputStream in) {
        ctx.header("Connection", "close");
        try {
            byte[] sink = new byte[8192];
            long left = DRAIN_LIMIT;
            int read;
            while (left > 0 && (read = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) {
                left -= read;
            }
        } catch (IOException e) {
            // the client went away: nobody is left to read the 413
        }
        return OpenAiException.bodyTooLarge(maxBodyBytes);
    }

    public void json(int status, JsonNode body) {
        ctx.status(status).contentType("application/json").result(write(body));
    }

    /** The error as OpenAI sends it: in the JSON body, or as a last event once a stream has begun. */
    public void error(OpenAiException e) {
        if (sse != null) {
            if (!sse.terminated()) {
                sse.sendData(write(e.toJson()));
            }
            return;
        }
        json(e.status(), e.toJson());
    }

    /** Begins a Server-Sent Events answer (whatever the request's Accept header says, as OpenAI does). */
    public SseClient startEvents() {
        ctx.status(200);
        ctx.res().setCharacterEncoding("UTF-8");
        ctx.res().setContentType("text/event-stream");
        ctx.res().addHeader("Cache-Control", "no-cache");
        ctx.res().addHeader("X-Accel-Buffering", "no");
        try {
            ctx.res().flushBuffer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        sse = new SseClient(ctx);
        return sse;
    }

    public boolean streaming() {
        return sse != null;
    }

    public int status() {
        return ctx.statusCode();
    }

    static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
