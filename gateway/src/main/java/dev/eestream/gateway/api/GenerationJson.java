package dev.eestream.gateway.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eestream.client.consumer.DecryptedResult;

/**
 * The JSON of one generation answer, whole or as stream chunks, in the shape of one OpenAI endpoint
 * ({@link #chat} for {@code chat.completion}, {@link #text} for {@code text_completion}).
 */
public abstract sealed class GenerationJson permits GenerationJson.Chat, GenerationJson.Text {
    static final JsonNodeFactory F = JsonNodeFactory.instance;

    protected final String id;
    protected final long created;
    protected final String model;

    GenerationJson(String id, long created, String model) {
        this.id = id;
        this.created = created;
        this.model = model;
    }

    public static GenerationJson chat(String id, long created, String model) {
        return new Chat(id, created, model);
    }

    public static GenerationJson text(String id, long created, String model) {
        return new Text(id, created, model);
    }

    /** The whole answer. */
    public abstract ObjectNode whole(DecryptedResult.Generation g);

    /** The chunk that opens a stream, or null when the shape has none. */
    public abstract ObjectNode opening();

    /** A chunk carrying {@code text}. */
    public abstract ObjectNode delta(String text);

    /** The chunk that ends the choice with its finish reason. */
    public abstract ObjectNode finish(DecryptedResult.Generation g);

    /** With {@code stream_options.include_usage}: a last chunk with no choices and the token counts. */
    public ObjectNode usageChunk(DecryptedResult.Generation g) {
        ObjectNode o = envelope(chunkObject());
        o.putArray("choices");
        o.set("usage", usage(g));
        return o;
    }

    protected abstract String chunkObject();

    protected ObjectNode envelope(String object) {
        ObjectNode o = F.objectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        o.putNull("system_fingerprint");
        return o;
    }

    protected ObjectNode chunk(ObjectNode choice) {
        ObjectNode o = envelope(chunkObject());
        o.putArray("choices").add(choice);
        o.putNull("usage");
        return o;
    }

    /** OpenAI's finish reasons: "stop" at a stop token, "length" at the token limit or the context's end. */
    public static String finishReason(DecryptedResult.Generation g) {
        return "STOP".equals(g.finishReason()) ? "stop" : "length";
    }

    public static ObjectNode usage(DecryptedResult.Generation g) {
        ObjectNode u = F.objectNode();
        u.put("prompt_tokens", g.promptTokens());
        u.put("completion_tokens", g.generatedTokens());
        u.put("total_tokens", g.promptTokens() + g.generatedTokens());
        return u;
    }

    static final class Chat extends GenerationJson {
        Chat(String id, long created, String model) {
            super(id, created, model);
        }

        @Override
        public ObjectNode whole(DecryptedResult.Generation g) {
            ObjectNode o = envelope("chat.completion");
            ObjectNode choice = o.putArray("choices").addObject();
            choice.put("index", 0);
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", g.text());
            message.putNull("refusal");
            choice.putNull("logprobs");
            choice.put("finish_reason", finishReason(g));
            o.set("usage", usage(g));
            return o;
        }

        @Override
        public ObjectNode opening() {
            ObjectNode choice = choice();
            choice.putObject("delta").put("role", "assistant").put("content", "");
            choice.putNull("finish_reason");
            return chunk(choice);
        }

        @Override
        public ObjectNode delta(String text) {
            ObjectNode choice = choice();
            choice.putObject("delta").put("content", text);
            choice.putNull("finish_reason");
            return chunk(choice);
        }

        @Override
        public ObjectNode finish(DecryptedResult.Generation g) {
            ObjectNode choice = choice();
            choice.putObject("delta");
            choice.put("finish_reason", finishReason(g));
            return chunk(choice);
        }

        private static ObjectNode choice() {
            ObjectNode c = F.objectNode();
            c.put("index", 0);
            c.putNull("logprobs");
            return c;
        }

        @Override
        protected String chunkObject() {
            return "chat.completion.chunk";
        }
    }

    static final class Text extends GenerationJson {
        Text(String id, long created, String model) {
            super(id, created, model);
        }

        @Override
        public ObjectNode whole(DecryptedResult.Generation g) {
            ObjectNode o = envelope("text_completion");
            o.putArray("choices").add(choice(g.text(), finishReason(g)));
            o.set("usage", usage(g));
            return o;
        }

        @Override
        public ObjectNode opening() {
            return null;
        }

        @Override
        public ObjectNode delta(String text) {
            return chunk(choice(text, null));
        }

        @Override
        public ObjectNode finish(DecryptedResult.Generation g) {
            return chunk(choice("", finishReason(g)));
        }

        private static ObjectNode choice(String text, String finishReason) {
            ObjectNode c = F.objectNode();
            c.put("index", 0);
            c.put("text", text);
            c.putNull("logprobs");
            c.put("finish_reason", finishReason);
            return c;
        }

        @Override
        protected String chunkObject() {
            return "text_completion";
        }
    }
}
