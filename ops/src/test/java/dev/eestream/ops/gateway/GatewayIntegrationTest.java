package dev.eestream.ops.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.eestream.client.producer.PromptIds;
import dev.eestream.core.chat.ChatMessage;
import dev.eestream.core.chat.ChatTemplate;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.gateway.ApiKeys;
import dev.eestream.gateway.Gateway;
import dev.eestream.gateway.tls.ServerTls;
import dev.eestream.kafka.local.security.LocalTls;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * The gateway end to end, driven by the official OpenAI Java SDK: a real broker, registry and processor (local
 * mode) serving an EE MiniLM embedder, an EE MiniLM classifier and an EE tiny decoder (random weights, word-level
 * tokenizer, chat template). Embeddings equal the plaintext model's; chat and text completions at temperature 0,
 * whole and streamed, equal the plaintext model's greedy continuation; errors arrive as the SDK's typed exceptions.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GatewayIntegrationTest {
    private static final String EMBED = "minilm-embed";
    private static final String CLASSIFY = "minilm-topics";
    private static final String CHAT = "tiny-chat";
    /** The same decoder with 4 homophones per token: every id of a token computes the token, so replies are the same. */
    private static final String CHAT_HOMOPHONES = "tiny-chat-h4";
    /** MiniLM with 2 homophones per token and length buckets: the gateway's client draws ids and pads. */
    private static final String EMBED_HOMOPHONES = "minilm-embed-h2";
    /** A decoder with a long context and no stop token: its generations run long enough to be cut short. */
    private static final String LONG = "long-gen";
    private static final int LONG_CONTEXT = 4096;
    private static final List<String> LABELS = List.of("finance", "sports", "technology", "health", "politics");
    private static final int VOCAB = 64;
    private static final int CONTEXT = 64;
    private static final int NEW_TOKENS = 24;
    private static final long EOS = 2;
    private static final String API_KEY = "sk-eestream-test-0123456789abcdef";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path work;
    private LocalMode local;
    private Gateway gateway;
    private OpenAIClient openai;
    private final HttpClient http = HttpClient.newHttpClient();
    private final EeKey key = EeKey.generate();
    private ModelTransformer.Result plainEmbed;
    private ModelTransformer.Result plainClassify;
    private ModelTransformer.Result plainDecoder;
    private Path chatTokenizer;
    private ClientProfile chatProfile;

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("eestream-gateway-it-");
        Path models = work.resolve("models");
        TokenizerJson minilmTokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        ModelProto minilm;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            minilm = ModelTransformer.read(in, "bundled");
        }
        ModelTransformer.Result embed = ModelEncryptor.encrypt(minilm, minilmTokenizer,
                TransformSpec.builder(Task.EMBED).key(key).modelId(EMBED).build(), null, s -> { });
        ModelTransformer.Result classify = ModelEncryptor.encrypt(minilm, minilmTokenizer,
                TransformSpec.builder(Task.CLASSIFY).key(key).modelId(CLASSIFY).build(), LABELS, s -> { });
        plainEmbed = ModelEncryptor.encrypt(minilm, minilmTokenizer, TransformSpec.builder(Task.EMBED).modelId("p1").build(), null, s -> { });
        plainClassify = ModelEncryptor.encrypt(minilm, minilmTokenizer, TransformSpec.builder(Task.CLASSIFY).modelId("p2").build(),
                LABELS, s -> { });
        for (ModelTransformer.Result r : List.of(embed, classify)) {
            ModelBundle.in(models, r.manifest().modelId()).write(r.modelBytes(), r.manifest(), false);
            ClientProfile.of(r, r == classify ? LABELS : null, "all-minilm-l6-v2")
                    .write(ClientProfile.besides(models.resolve(r.manifest().modelId())), false);
        }

        // The tiny decoder goes through the command, as a user encrypts one.
        var source = SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(VOCAB)
                .hiddenSize(32).layers(2).heads(4).kvHeads(2).intermediateSize(64).contextLength(CONTEXT).seed(11).build());
        Path modelFile = work.resolve("decoder.onnx");
        Files.write(modelFile, source.toByteArray());
        chatTokenizer = writeWordTokenizer(work.resolve("tokenizer.json"));
        Path config = work.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
                + " \"add_bos_token\": true, \"chat_template\": \"{% for m in messages %}{{ m['content'] }} {% endfor %}\"}");
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        assertEquals(0, cli("encrypt-model", "--key", keyFile.toString(), "--model", modelFile.toString(), "--tokenizer",
                chatTokenizer.toString(), "--tokenizer-config", config.toString(), "--task", "generate", "--out",
                models.resolve(CHAT).toString()));
        chatProfile = ClientProfile.read(ClientProfile.besides(models.resolve(CHAT)));
        plainDecoder = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        var longSource = SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(VOCAB)
                .hiddenSize(64).layers(2).heads(4).kvHeads(2).intermediateSize(128).contextLength(LONG_CONTEXT).seed(12).build());
        Path longFile = work.resolve("long.onnx");
        Files.write(longFile, longSource.toByteArray());
        Path noEos = work.resolve("no_eos_config.json");
        Files.writeString(noEos, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"<s>\", \"add_bos_token\": true}");
        assertEquals(0, cli("encrypt-model", "--key", keyFile.toString(), "--model", longFile.toString(), "--tokenizer",
                chatTokenizer.toString(), "--tokenizer-config", noEos.toString(), "--task", "generate", "--out",
                models.resolve(LONG).toString()));

        assertEquals(0, cli("encrypt-model", "--key", keyFile.toString(), "--model", modelFile.toString(), "--tokenizer",
                chatTokenizer.toString(), "--tokenizer-config", config.toString(), "--task", "generate", "--homophones", "4",
                "--out", models.resolve(CHAT_HOMOPHONES).toString()));
        assertEquals(0, cli("encrypt-model", "--key", keyFile.toString(), "--model", "all-minilm-l6-v2", "--task", "embed",
                "--homophones", "2", "--length-buckets", "16,32,64", "--out", models.resolve(EMBED_HOMOPHONES).toString()));

        local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of("generate.stream.interval.ms", "1")));
        Map<String, Object> kafka = new HashMap<>(local.clientProperties());
        kafka.put("bootstrap.servers", local.bootstrapServers());
        List<ClientProfile> profiles = new ArrayList<>();
        for (String id : List.of(EMBED, CLASSIFY, CHAT, LONG, CHAT_HOMOPHONES, EMBED_HOMOPHONES)) {
            profiles.add(ClientProfile.read(ClientProfile.besides(models.resolve(id))));
        }
        gateway = Gateway.builder().key(key).kafka(kafka).profiles(profiles).port(0).maxBodyBytes(64 * 1024)
                .apiKeys(ApiKeys.of(List.of(API_KEY), "test")).start();
        openai = sdk(API_KEY);
    }

    @AfterAll
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (local != null) {
            local.close();
        }
        try (var paths = Files.walk(work)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private OpenAIClient sdk(String apiKey) {
        return OpenAIOkHttpClient.builder().baseUrl(gateway.baseUrl()).apiKey(apiKey).maxRetries(0)
                .timeout(Duration.ofSeconds(120)).build();
    }

    @Test
    void modelsListsEveryProfileWithItsTask() {
        List<Model> models = openai.models().list().data();
        Map<String, String> tasks = new HashMap<>();
        models.forEach(m -> tasks.put(m.id(), m._additionalProperties().get("task").asStringOrThrow()));
        assertEquals(Map.of(EMBED, "embed", CLASSIFY, "classify", CHAT, "generate", LONG, "generate", CHAT_HOMOPHONES, "generate",
                EMBED_HOMOPHONES, "embed"), tasks);
    }

    @Test
    void embeddingsEqualThePlaintextModels() throws Exception {
        List<String> texts = List.of("Encrypted embeddings over Kafka", "The invoice is overdue", "They won the match in extra time");
        float[][] expected;
        try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), null, 30522, null);
             ModelSession plain = ModelSession.open(plainEmbed.modelBytes(), plainEmbed.manifest())) {
            List<long[]> ids = new ArrayList<>();
            texts.forEach(t -> ids.add(tok.encodePlain(t)));
            expected = plain.run(ids);
        }
        double worstCosine = 1;
        float worstAbs = 0;
        for (EmbeddingCreateParams.EncodingFormat format : List.of(EmbeddingCreateParams.EncodingFormat.FLOAT,
                EmbeddingCreateParams.EncodingFormat.BASE64)) {
            CreateEmbeddingResponse r = openai.embeddings().create(EmbeddingCreateParams.builder().model(EMBED)
                    .inputOfArrayOfStrings(texts).encodingFormat(format).build());
            assertEquals(texts.size(), r.data().size());
            assertTrue(r.usage().promptTokens() >= texts.size() * 3, "prompt tokens " + r.usage().promptTokens());
            for (int i = 0; i < texts.size(); i++) {
                assertEquals(i, r.data().get(i).index());
                List<Float> got = r.data().get(i).embedding();
                assertEquals(expected[i].length, got.size());
                double cos = cosine(expected[i], got);
                assertTrue(cos >= 0.99999, format + " text " + i + ": cosine " + cos);
                worstCosine = Math.min(worstCosine, cos);
                for (int k = 0; k < got.size(); k++) {
                    worstAbs = Math.max(worstAbs, Math.abs(expected[i][k] - got.get(k)));
                }
            }
        }
        // The SDK's own default encoding, a single string.
        List<Float> single = openai.embeddings().create(EmbeddingCreateParams.builder().model(EMBED).input(texts.get(0)).build())
                .data().get(0).embedding();
        assertTrue(cosine(expected[0], single) >= 0.99999);
        System.out.printf("gateway embeddings vs plaintext MiniLM: worst cosine %.9f, worst |difference| %.3g%n", worstCosine, worstAbs);
    }

    @Test
    void classificationsEqualThePlaintextModels() throws Exception {
        List<String> texts = List.of("The invoice is overdue", "They won the match in extra time");
        float[][] expected;
        try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), null, 30522, null);
             ModelSession plain = ModelSession.open(plainClassify.modelBytes(), plainClassify.manifest())) {
            List<long[]> ids = new ArrayList<>();
            texts.forEach(t -> ids.add(tok.encodePlain(t)));
            expected = plain.run(ids);
        }
        HttpResponse<String> r = post("/classifications", "{\"model\": \"" + CLASSIFY + "\", \"input\": "
                + JSON.writeValueAsString(texts) + "}", API_KEY);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode data = JSON.readTree(r.body()).get("data");
        for (int i = 0; i < texts.size(); i++) {
            int best = 0;
            for (int j = 0; j < LABELS.size(); j++) {
                float got = (float) data.get(i).get("scores").get(LABELS.get(j)).asDouble();
                assertEquals(expected[i][j], got, 1e-5f * Math.max(1f, Math.abs(expected[i][j])), "text " + i + " " + LABELS.get(j));
                best = expected[i][j] > expected[i][best] ? j : best;
            }
            assertEquals(LABELS.get(best), data.get(i).get("label").asText());
        }
    }

    @Test
    void chatCompletionsWholeAndStreamedEqualThePlaintextGreedyContinuation() throws Exception {
        List<ChatMessage> conversation = List.of(ChatMessage.system("w5 w6"), ChatMessage.user("w3 w17 w9"));
        ChatTemplate template = new ChatTemplate(chatProfile.generation().chatTemplate(), "<s>", "</s>", Clock.systemUTC());
        String expected;
        int promptTokens;
        try (PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(chatTokenizer), null, VOCAB, CONTEXT)) {
            long[] prompt = tok.encodePlain(template.render(conversation, true));
            promptTokens = prompt.length;
            expected = continuation(tok, prompt);
        }
        System.out.println("plaintext greedy chat reply: '" + expected + "'");
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(CHAT).addSystemMessage("w5 w6")
                .addUserMessage("w3 w17 w9").maxCompletionTokens(NEW_TOKENS).temperature(0).build();

        ChatCompletion whole = openai.chat().completions().create(params);
        assertEquals(expected, whole.choices().get(0).message().content().orElseThrow());
        assertEquals(promptTokens, whole.usage().orElseThrow().promptTokens());
        String finish = whole.choices().get(0).finishReason().asString();
        assertTrue(finish.equals("stop") || finish.equals("length") && whole.usage().get().completionTokens() == NEW_TOKENS, finish);

        StringBuilder streamed = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(params.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(c -> {
                chunks.add(c);
                c.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append));
            });
        }
        assertEquals(expected, streamed.toString());
        long withText = chunks.stream().filter(c -> !c.choices().isEmpty() && c.choices().get(0).delta().content().map(s -> !s.isEmpty())
                .orElse(false)).count();
        System.out.printf("streamed chat: %d chunks, %d with text%n", chunks.size(), withText);
        assertTrue(withText > 1 || expected.split(" ").length <= 1, "text arrived in pieces: " + withText);
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertTrue(last.choices().isEmpty(), "include_usage: a last chunk without choices");
        assertEquals(promptTokens, last.usage().orElseThrow().promptTokens());
        assertEquals(finish, chunks.get(chunks.size() - 2).choices().get(0).finishReason().orElseThrow().asString());
    }

    @Test
    void withHomophonesAndLengthBucketsRepliesAndEmbeddingsStayThePlaintextModels() throws Exception {
        String prompt = "w20 w21 w22 w23";
        String expected = plainCompletion(prompt);
        CompletionCreateParams params = CompletionCreateParams.builder().model(CHAT_HOMOPHONES).prompt(prompt)
                .maxTokens(NEW_TOKENS).temperature(0).build();
        assertEquals(expected, openai.completions().create(params).choices().get(0).text());
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = openai.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(expected, streamed.toString());

        // Embeddings: the plaintext model's whichever ids were drawn and however far padded (the processor cuts the
        // filler), within what ρ's reordered float sums leave.
        List<String> texts = List.of("Encrypted embeddings over Kafka", "The invoice is overdue",
                "They won the match in extra time, after a long and even second half that neither side could settle");
        float[][] plain;
        try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), null, 30522, null);
             ModelSession session = ModelSession.open(plainEmbed.modelBytes(), plainEmbed.manifest())) {
            plain = new float[texts.size()][];
            for (int i = 0; i < texts.size(); i++) {
                plain[i] = session.run(List.of(tok.encodePlain(texts.get(i))))[0];
            }
        }
        float worst = 0;
        for (int round = 0; round < 2; round++) {
            CreateEmbeddingResponse r = openai.embeddings().create(EmbeddingCreateParams.builder().model(EMBED_HOMOPHONES)
                    .inputOfArrayOfStrings(texts).build());
            for (int i = 0; i < texts.size(); i++) {
                List<Float> got = r.data().get(i).embedding();
                float[] asArray = new float[got.size()];
                for (int k = 0; k < asArray.length; k++) {
                    asArray[k] = got.get(k);
                    worst = Math.max(worst, Math.abs(asArray[k] - plain[i][k]));
                }
                assertArrayEquals(plain[i], asArray, 1e-5f, "text " + i + ", round " + round);
            }
        }
        System.out.printf("gateway with homophones and length buckets: greedy completion equal to plaintext; embeddings within "
                + "%.3g of plaintext MiniLM%n", worst);
    }

    @Test
    void textCompletionsWholeAndStreamedEqualThePlaintextGreedyContinuation() throws Exception {
        String prompt = "w20 w21 w22 w23";
        String expected = plainCompletion(prompt);
        CompletionCreateParams params = CompletionCreateParams.builder().model(CHAT).prompt(prompt).maxTokens(NEW_TOKENS)
                .temperature(0).build();
        Completion whole = openai.completions().create(params);
        assertEquals(expected, whole.choices().get(0).text());
        assertEquals(5, whole.usage().orElseThrow().promptTokens(), "BOS and four words");
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = openai.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(expected, streamed.toString());

        // curl's view of the same stream: data lines of JSON, the last one [DONE]
        HttpResponse<String> raw = post("/completions", "{\"model\": \"" + CHAT + "\", \"prompt\": \"" + prompt
                + "\", \"max_tokens\": " + NEW_TOKENS + ", \"temperature\": 0, \"stream\": true}", API_KEY);
        assertEquals(200, raw.statusCode());
        assertTrue(raw.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> data = raw.body().lines().filter(l -> l.startsWith("data: ")).toList();
        assertEquals("data: [DONE]", data.get(data.size() - 1));
    }

    @Test
    void errorsArriveAsTheSdksTypedExceptionsInOpenAisShape() throws Exception {
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model(CHAT).addUserMessage("w3").maxCompletionTokens(4)
                .temperature(0).build();
        NotFoundException notFound = assertThrows(NotFoundException.class,
                () -> openai.chat().completions().create(chat.toBuilder().model("no-such-model").build()));
        assertEquals("model_not_found", notFound.code().orElseThrow());
        assertEquals(404, notFound.statusCode());
        BadRequestException n2 = assertThrows(BadRequestException.class, () -> openai.chat().completions().create(chat.toBuilder().n(2).build()));
        assertEquals("n", n2.param().orElseThrow());
        BadRequestException tools = assertThrows(BadRequestException.class, () -> openai.chat().completions().create(chat.toBuilder()
                .putAdditionalBodyProperty("tools", JsonValue.from(List.of(Map.of("type", "function", "function", Map.of("name", "f")))))
                .build()));
        assertEquals("tools", tools.param().orElseThrow());
        assertThrows(BadRequestException.class, () -> openai.chat().completions().create(chat.toBuilder().temperature(3).build()));
        BadRequestException wrongTask = assertThrows(BadRequestException.class,
                () -> openai.embeddings().create(EmbeddingCreateParams.builder().model(CHAT).input("w3").build()));
        assertTrue(wrongTask.getMessage().contains("generate model"), wrongTask.getMessage());
        BadRequestException tooLong = assertThrows(BadRequestException.class, () -> openai.completions().create(CompletionCreateParams
                .builder().model(CHAT).prompt(String.join(" ", java.util.Collections.nCopies(CONTEXT + 6, "w9"))).maxTokens(4).build()));
        assertTrue(tooLong.getMessage().contains("leaves no room to generate"), tooLong.getMessage());

        assertThrows(UnauthorizedException.class, () -> sdk("sk-wrong-key-0000000000000000").models().list());
        HttpResponse<String> noKey = post("/embeddings", "{\"model\": \"" + EMBED + "\", \"input\": \"x\"}", null);
        assertEquals(401, noKey.statusCode());
        assertErrorShape(noKey.body());

        HttpResponse<String> big = post("/embeddings", "{\"model\": \"" + EMBED + "\", \"input\": \"" + "a".repeat(70_000) + "\"}", API_KEY);
        assertEquals(413, big.statusCode());
        assertErrorShape(big.body());
        HttpResponse<String> notJson = post("/embeddings", "{\"model\": ", API_KEY);
        assertEquals(400, notJson.statusCode());
        assertErrorShape(notJson.body());
        HttpResponse<String> noRoute = post("/images/generations", "{}", API_KEY);
        assertEquals(404, noRoute.statusCode());
        assertErrorShape(noRoute.body());

        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(root() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode());
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(root() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(metrics.body().contains("eestream_gateway_requests_total{endpoint=\"chat.completions\",status=\"404\"}"),
                metrics.body());
    }

    /**
     * An application that goes away in the middle of a stream: the gateway notices on its next write, cancels, and the
     * processor stops the generation, frees its slot and answers it ERROR (a generation that ran to its end would be
     * answered OK: {@value #LONG_CONTEXT} tokens take far longer than the cancel).
     */
    @Test
    void aClientThatDisconnectsMidStreamFreesItsSequenceInTheProcessor() throws Exception {
        String body = "{\"model\": \"" + LONG + "\", \"prompt\": \"w3 w4\", \"max_tokens\": " + (LONG_CONTEXT - 8)
                + ", \"temperature\": 0, \"stream\": true}";
        URI base = URI.create(gateway.baseUrl());
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
            byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: " + base.getHost() + "\r\nAuthorization: Bearer "
                    + API_KEY + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            int chunksWithText = 0;
            for (String line = in.readLine(); line != null && chunksWithText < 3; line = in.readLine()) {
                if (line.startsWith("data: {") && line.contains("\"text\":\"") && !line.contains("\"text\":\"\"")) {
                    chunksWithText++;
                }
            }
            assertEquals(3, chunksWithText, "the stream had begun");
        } // the application goes away

        Map<String, Object> props = new HashMap<>(local.clientProperties());
        props.put("bootstrap.servers", local.bootstrapServers());
        props.put("isolation.level", "read_committed");
        props.put("auto.offset.reset", "earliest");
        props.put("group.id", "it-cancel-" + System.nanoTime());
        InferenceResponse cancelled = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (KafkaConsumer<String, InferenceResponse> replies = new KafkaConsumer<>(props, Topics.REPLIES.keySerde().deserializer(),
                Topics.REPLIES.valueDeserializer(props))) {
            replies.subscribe(List.of(Topics.REPLIES_NAME));
            while (cancelled == null && System.nanoTime() < deadline) {
                for (var rec : replies.poll(Duration.ofMillis(200))) {
                    InferenceResponse r = rec.value();
                    if (r != null && LONG.equals(r.getModelId()) && Boolean.TRUE.equals(r.getFinalChunk())) {
                        cancelled = r;
                    }
                }
            }
        }
        assertTrue(cancelled != null, "the long generation was answered");
        assertEquals(ResponseStatus.ERROR, cancelled.getStatus(), "answered as cancelled, not run to its end: " + cancelled);
        assertEquals("cancelled by the client", cancelled.getError());
        var running = local.processor().registry().get("eestream.generate.running.sequences").tag("model", LONG).gauge();
        while (running.value() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0.0, running.value(), "the processor freed the sequence");
        System.out.printf("disconnect mid-stream: cancelled after %d chunk(s) had been streamed%n", cancelled.getChunk());
    }

    /**
     * With the processor stopped, a request waits and gets a 504 once the gateway's timeout passes; while it waits,
     * a second one beyond the in-flight bound of 1 gets a 429.
     */
    /** HTTPS with the key store local mode makes (as a user of --security SSL has one), through the SDK trusting its CA. */
    @Test
    void overHttpsTheSdkGetsTheSameStreamedChatAndEmbeddings() throws Exception {
        LocalTls material = LocalTls.createOrLoad(work.resolve("tls"));
        Map<String, Object> kafka = new HashMap<>(local.clientProperties());
        kafka.put("bootstrap.servers", local.bootstrapServers());
        List<ClientProfile> profiles = List.of(chatProfile, ClientProfile.read(ClientProfile.besides(work.resolve("models").resolve(EMBED))));
        try (Gateway secure = Gateway.builder().key(key).kafka(kafka).profiles(profiles).port(0)
                .tls(ServerTls.fromKeyStore(material.keyStore(), material.password().toCharArray())).start()) {
            assertTrue(secure.baseUrl().startsWith("https://127.0.0.1:"), secure.baseUrl());
            KeyStore trust = KeyStore.getInstance(material.trustStore().toFile(), material.password().toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            X509TrustManager trustManager = (X509TrustManager) tmf.getTrustManagers()[0];
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, new TrustManager[] {trustManager}, null);
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(secure.baseUrl()).apiKey("unused").maxRetries(0)
                    .timeout(Duration.ofSeconds(120)).sslSocketFactory(ssl.getSocketFactory()).trustManager(trustManager).build();

            String expected;
            try (PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(chatTokenizer), null, VOCAB, CONTEXT)) {
                ChatTemplate template = new ChatTemplate(chatProfile.generation().chatTemplate(), "<s>", "</s>", Clock.systemUTC());
                expected = continuation(tok, tok.encodePlain(template.render(List.of(ChatMessage.user("w40 w41")), true)));
            }
            StringBuilder streamed = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(ChatCompletionCreateParams
                    .builder().model(CHAT).addUserMessage("w40 w41").maxCompletionTokens(NEW_TOKENS).temperature(0).build())) {
                stream.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
            }
            assertEquals(expected, streamed.toString(), "streamed chat over HTTPS equals plaintext greedy generation");

            float[] plain;
            try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), null, 30522, null);
                 ModelSession session = ModelSession.open(plainEmbed.modelBytes(), plainEmbed.manifest())) {
                plain = session.run(List.of(tok.encodePlain("Sent over TLS")))[0];
            }
            List<Float> got = client.embeddings().create(EmbeddingCreateParams.builder().model(EMBED).input("Sent over TLS").build())
                    .data().get(0).embedding();
            assertTrue(cosine(plain, got) >= 0.99999, "embedding over HTTPS, cosine " + cosine(plain, got));
        }
    }

    @Test
    void noAnswerInTimeIs504AndTooManyInFlightIs429() throws Exception {
        Map<String, Object> kafka = new HashMap<>(local.clientProperties());
        kafka.put("bootstrap.servers", local.bootstrapServers());
        try (Gateway narrow = Gateway.builder().key(key).kafka(kafka).profiles(List.of(chatProfile)).port(0).maxInFlight(1)
                .timeout(Duration.ofSeconds(5)).start()) {
            local.stopProcessor();
            OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(narrow.baseUrl()).apiKey("unused").maxRetries(0)
                    .timeout(Duration.ofSeconds(60)).build();
            ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model(CHAT).addUserMessage("w3")
                    .maxCompletionTokens(4).temperature(0).build();
            CompletableFuture<Throwable> first = CompletableFuture.supplyAsync(() -> {
                try {
                    client.chat().completions().create(chat);
                    return null;
                } catch (RuntimeException e) {
                    return e;
                }
            });
            String root = narrow.baseUrl().substring(0, narrow.baseUrl().length() - 3);
            while (!http.send(HttpRequest.newBuilder(URI.create(root + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body()
                    .contains("eestream_gateway_requests_in_flight 1.0")) {
                assertFalse(first.isDone(), "the first request ended before it was seen in flight: " + first.getNow(null));
                Thread.sleep(20);
            }
            RateLimitException busy = assertThrows(RateLimitException.class, () -> client.chat().completions().create(chat));
            assertEquals(429, busy.statusCode());
            Throwable timedOut = first.get(60, TimeUnit.SECONDS);
            assertTrue(timedOut instanceof InternalServerException e && e.statusCode() == 504, String.valueOf(timedOut));
        } finally {
            local.startProcessor();
        }
    }

    private String root() {
        return gateway.baseUrl().substring(0, gateway.baseUrl().length() - "/v1".length());
    }

    private HttpResponse<String> post(String path, String body, String apiKey) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertErrorShape(String body) throws Exception {
        JsonNode error = JSON.readTree(body).get("error");
        assertTrue(error != null && error.get("message").isTextual() && error.get("type").isTextual() && error.has("param")
                && error.has("code"), body);
    }

    /** The plaintext decoder's greedy completion of a text prompt, as /completions builds the prompt. */
    private String plainCompletion(String prompt) throws Exception {
        try (PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(chatTokenizer), null, VOCAB, CONTEXT)) {
            return continuation(tok, PromptIds.prompt(tok.encodePlain(prompt), chatProfile.generation()));
        }
    }

    private String continuation(PrivateTokenizer tok, long[] promptIds) {
        try (DecoderSession session = DecoderSession.open(plainDecoder.modelBytes(), plainDecoder.manifest())) {
            long[] ids = session.greedy(promptIds, NEW_TOKENS, Set.of(EOS)).ids();
            if (ids.length > 0 && ids[ids.length - 1] == EOS) {
                ids = Arrays.copyOf(ids, ids.length - 1);
            }
            return tok.decodePlain(ids);
        }
    }

    private static double cosine(float[] a, List<Float> b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * (double) b.get(i);
            na += a[i] * (double) a[i];
            nb += b.get(i) * (double) b.get(i);
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Words w3…w63, with [UNK], <s> and </s> (special) below them; whitespace-split, words join with spaces. */
    private static Path writeWordTokenizer(Path tokenizer) throws Exception {
        StringBuilder vocab = new StringBuilder("\"[UNK]\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int i = 3; i < VOCAB; i++) {
            vocab.append(", \"w").append(i).append("\": ").append(i);
        }
        Files.writeString(tokenizer, "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": ["
                + "{\"id\": 1, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true},"
                + "{\"id\": 2, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}],"
                + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"post_processor\": null,"
                + " \"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "}, \"unk_token\": \"[UNK]\"}}");
        return tokenizer;
    }

    private static int cli(String... args) {
        CommandLine cl = EestreamCli.commandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        if (exit != 0) {
            System.err.println(err);
        }
        return exit;
    }
}
