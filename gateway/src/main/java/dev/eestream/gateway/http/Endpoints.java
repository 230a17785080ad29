package dev.eestream.gateway.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.chat.ChatMessage;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.gateway.ModelClients;
import dev.eestream.gateway.api.ChatMessages;
import dev.eestream.gateway.api.Failures;
import dev.eestream.gateway.api.GenerationJson;
import dev.eestream.gateway.api.GenerationRequest;
import dev.eestream.gateway.api.OpenAiException;
import dev.eestream.gateway.api.RequestBody;
import dev.eestream.runtime.model.Task;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Function;

/** The OpenAI endpoints and eestream's classification extension, over the models' encrypted clients. */
final class Endpoints {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final ModelClients models;

    Endpoints(ModelClients models) {
        this.models = models;
    }

    /** {@code GET /v1/models}: the models this gateway holds client profiles for, with their task. */
    void models(Exchange ex) {
        ObjectNode o = F.objectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        for (EncryptedInferenceClient c : models.all()) {
            ClientProfile p = c.profile();
            data.addObject().put("id", p.modelId()).put("object", "model").put("created", 0).put("owned_by", "eestream")
                    .put("task", p.task());
        }
        ex.json(200, o);
    }

    /** {@code POST /v1/embeddings}: decrypted embeddings in the plaintext basis, as floats or base64 float32. */
    void embeddings(Exchange ex) throws InterruptedException {
        RequestBody body = ex.body();
        String model = body.requiredString("model");
        List<String> inputs = body.stringOrStrings("input");
        String format = body.optionalString("encoding_format").orElse("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw OpenAiException.invalid("encoding_format", "'encoding_format' must be float or base64, got '" + format + "'");
        }
        EncryptedInferenceClient client = models.forTask(model, Task.EMBED, "/v1/embeddings");
        body.optionalInteger("dimensions").ifPresent(d -> {
            if (d != client.profile().hiddenSize()) {
                throw OpenAiException.unsupported("dimensions", "'dimensions' other than the model's " + client.profile().hiddenSize());
            }
        });
        answerList(ex, model, inputs, client, client::embed, "embedding", (item, result) -> {
            float[] vector = result.vector();
            if (format.equals("base64")) {
                ByteBuffer bytes = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : vector) {
                    bytes.putFloat(f);
                }
                item.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                ArrayNode values = item.putArray("embedding");
                for (float f : vector) {
                    values.add(f);
                }
            }
        });
    }

    /**
     * Sends every input at once, then answers OpenAI's list shape: one item per input, in order, filled by
     * {@code fill}, with the model and the prompt tokens.
     */
    private static <R> void answerList(Exchange ex, String model, List<String> inputs, EncryptedInferenceClient client,
            Function<String, CompletableFuture<R>> send, String itemType, BiConsumer<ObjectNode, R> fill) throws InterruptedException {
        List<CompletableFuture<R>> futures = new ArrayList<>();
        int tokens = 0;
        for (String text : inputs) {
            tokens += client.tokenCount(text);
            futures.add(send.apply(text));
        }
        ObjectNode o = F.objectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        for (int i = 0; i < futures.size(); i++) {
            R result = await(futures.get(i));
            ObjectNode item = data.addObject();
            item.put("object", itemType);
            item.put("index", i);
            fill.accept(item, result);
        }
        o.put("model", model);
        o.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        ex.json(200, o);
    }

    /**
     * {@code POST /v1/classifications} (eestream's extension, not in OpenAI's API): {@code input} string(s) →
     * each text's best label, its score and the scores of all labels (for a model with its own classifier head,
     * probabilities, with the logits beside them).
     */
    void classifications(Exchange ex) throws InterruptedException {
        RequestBody body = ex.body();
        String model = body.requiredString("model");
        List<String> inputs = body.stringOrStrings("input");
        EncryptedInferenceClient client = models.forTask(model, Task.CLASSIFY, "/v1/classifications");
        answerList(ex, model, inputs, client, client::classify, "classification", (item, c) -> {
            item.put("label", c.label());
            item.put("score", c.score());
            ObjectNode scores = item.putObject("scores");
            for (Map.Entry<String, Float> e : c.scores().entrySet()) {
                scores.put(e.getKey(), e.getValue());
            }
            // A fine-tuned classifier's scores are probabilities; its logits come as well.
            if (c.hasLogits()) {
                item.put("logit", c.logits().get(c.label()));
                ObjectNode logits = item.putObject("logits");
                c.logits().forEach(logits::put);
            }
        });
    }

    /** {@code POST /v1/chat/completions}: the messages through the model's chat template, whole or streamed. */
    void chatCompletions(Exchange ex) throws InterruptedException {
        RequestBody body = ex.body();
        String model = body.requiredString("model");
        List<ChatMessage> messages = ChatMessages.read(body);
        EncryptedInferenceClient client = models.forTask(model, Task.GENERATE, "/v1/chat/completions");
        GenerationRequest request = GenerationRequest.read(body, client.profile().maxSequenceLength());
        GenerationJson json = GenerationJson.chat("chatcmpl-" + UUID.randomUUID(), nowSeconds(), model);
        GenerationResponder.respond(ex, request, json, onText -> client.chat(messages, request.options(), onText));
    }

    /** {@code POST /v1/completions}: a continuation of {@code prompt}, whole or streamed. */
    void completions(Exchange ex) throws InterruptedException {
        RequestBody body = ex.body();
        String model = body.requiredString("model");
        List<String> prompts = body.stringOrStrings("prompt");
        if (prompts.size() != 1) {
            throw OpenAiException.unsupported("prompt", "more than one prompt per request");
        }
        body.refuse("echo", "'echo'");
        body.refuse("suffix", "'suffix'");
        if (body.optionalInteger("best_of").orElse(1L) != 1) {
            throw OpenAiException.unsupported("best_of", "'best_of' other than 1");
        }
        EncryptedInferenceClient client = models.forTask(model, Task.GENERATE, "/v1/completions");
        GenerationRequest request = GenerationRequest.read(body, client.profile().maxSequenceLength());
        GenerationJson json = GenerationJson.text("cmpl-" + UUID.randomUUID(), nowSeconds(), model);
        GenerationResponder.respond(ex, request, json, onText -> client.generate(prompts.get(0), request.options(), onText));
    }

    private static <T> T await(CompletableFuture<T> future) throws InterruptedException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw Failures.toOpenAi(e);
        }
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }
}
