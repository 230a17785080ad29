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
        if (declared > maxBodyBytes) {
            throw OpenAiException.bodyTooLarge(maxBodyBytes);
        }
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
            if (bytes.length > maxBodyBytes) {
                throw OpenAiException.bodyTooLarge(maxBodyBytes);
            }
            return RequestBody.parse(bytes);
        } catch (IOException e) {
            throw OpenAiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
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
