package dev.eestream.ops.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.Document;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.InferenceErrorException;
import dev.eestream.core.Compare;
import dev.eestream.core.TestTexts;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.TinyClassifiers;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.serde.AvroDeserializer;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** End to end through a real Kafka broker (KRaft), the schema registry REST subset and the processor. */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineIntegrationTest {
    private static final List<String> LABELS = List.of("finance", "sports", "technology", "health", "politics");
    private static final List<String> SENTIMENTS = List.of("negative", "neutral", "positive");

    private Path work;
    private LocalMode local;
    private final EeKey key = EeKey.generate();
    private TokenizerJson tokenizer;
    private ModelProto source;
    private ClientProfile classifyProfile;
    private ModelTransformer.Result plainClassifier;
    private Path keyFile;

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("eestream-it-");
        tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        Path models = work.resolve("models");
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.CLASSIFY).key(key).modelId("topics").build(), LABELS, s -> { });
        write(models, ee);
        classifyProfile = ClientProfile.of(ee, LABELS, "all-minilm-l6-v2");
        plainClassifier = ModelEncryptor.encrypt(source, tokenizer, TransformSpec.builder(Task.CLASSIFY).modelId("plain").build(),
                LABELS, s -> { });
        encryptFineTunedClassifierWithTheCli(models);
        local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of()));
    }

    /**
     * A fine-tuned classifier as a user brings it (model.onnx with its own logits head, config.json, tokenizer.json),
     * encrypted by {@code encrypt-model --task classify --config} with ρ into {@code models/sentiment}.
     */
    private void encryptFineTunedClassifierWithTheCli(Path models) throws Exception {
        Path export = Files.createDirectories(work.resolve("fine-tuned-export"));
        Files.write(export.resolve("model.onnx"), TinyClassifiers.bert(5, SENTIMENTS.size()).toByteArray());
        Files.writeString(export.resolve("config.json"), "{\"architectures\": [\"BertForSequenceClassification\"], "
                + "\"id2label\": {\"0\": \"negative\", \"1\": \"neutral\", \"2\": \"positive\"}}");
        Files.writeString(export.resolve("tokenizer.json"), SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB).text());
        keyFile = export.resolve("client.key");
        dev.eestream.core.key.KeyFiles.write(key, keyFile, null, false);
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cli = dev.eestream.ops.EestreamCli.commandLine();
        cli.setErr(new java.io.PrintWriter(err, true));
        int exit = cli.execute("encrypt-model", "--key", keyFile.toString(), "--model", export.resolve("model.onnx").toString(),
                "--tokenizer", export.resolve("tokenizer.json").toString(), "--config", export.resolve("config.json").toString(),
                "--task", "classify", "--hidden-permutation", "--out", models.resolve("sentiment").toString());
        assertEquals(0, exit, err.toString());
    }

    @AfterAll
    void stop() throws Exception {
        if (local != null) {
            local.close();
        }
        try (var paths = Files.walk(work)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private EncryptedInferenceClient client(ClientProfile profile) throws Exception {
        return EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                .properties(local.clientProperties()).key(key).profile(profile).timeout(Duration.ofSeconds(120)).build();
    }

    /** Plaintext class scores of each text, computed on this side with the plaintext model. */
    private Map<String, float[]> plaintextScores(List<String> texts) throws Exception {
        Map<String, float[]> out = new HashMap<>();
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, null, 30522, null);
             ModelSession s = ModelSession.open(plainClassifier.modelBytes(), plainClassifier.manifest())) {
            for (int from = 0; from < texts.size(); from += 32) {
                List<String> chunk = texts.subList(from, Math.min(texts.size(), from + 32));
                List<long[]> ids = new ArrayList<>();
                chunk.forEach(t -> ids.add(tok.encodePlain(t)));
                float[][] scores = s.run(ids);
                for (int i = 0; i < chunk.size(); i++) {
                    out.put(chunk.get(i), scores[i]);
                }
            }
        }
        return out;
    }

    private static void assertEqualsPlaintext(DecryptedResult.Classification c, float[] expected, String what) {
        int best = 0;
        for (int j = 0; j < LABELS.size(); j++) {
            float got = c.scores().get(LABELS.get(j));
            assertEquals(expected[j], got, 1e-5f * Math.max(1f, Math.abs(expected[j])), what + " score of " + LABELS.get(j));
            best = expected[j] > expected[best] ? j : best;
        }
        assertEquals(LABELS.get(best), c.label(), what);
    }

    @Test
    void fiveHundredDocumentsThroughTheBatchApiEqualPlaintextInference() throws Exception {
        List<String> texts = TestTexts.varied(500, 77);
        List<Document> docs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            docs.add(new Document("doc-" + i, texts.get(i)));
        }
        Map<String, DecryptedResult> results = new ConcurrentHashMap<>();
        Map<String, Throwable> errors = new ConcurrentHashMap<>();
        EncryptedInferenceClient.BatchSummary summary;
        try (EncryptedInferenceClient client = client(classifyProfile)) {
            summary = client.runBatch(docs, (d, r, e) -> {
                if (e != null) {
                    errors.put(d.id(), e);
                } else {
                    results.put(d.id(), r);
                }
            });
        }
        assertTrue(errors.isEmpty(), "errors: " + errors);
        assertEquals(500, summary.ok());
        assertEquals(500, results.size());
        Map<String, float[]> expected = plaintextScores(texts);
        for (Document d : docs) {
            DecryptedResult.Classification c = assertInstanceOf(DecryptedResult.Classification.class, results.get(d.id()));
            assertEquals(d.id(), c.attributes().get("id"), "the id travels back in the attributes");
            assertEqualsPlaintext(c, expected.get(d.text()), d.id());
        }
        System.out.printf("500 documents through the pipeline: %.1f docs/s%n", summary.docsPerSecond());
    }

    @Test
    void twoHundredConcurrentAsyncRequests() throws Exception {
        List<String> texts = TestTexts.varied(200, 5);
        Map<String, float[]> expected = plaintextScores(texts);
        try (EncryptedInferenceClient client = client(classifyProfile)) {
            List<CompletableFuture<DecryptedResult.Classification>> futures = new ArrayList<>();
            for (String t : texts) {
                futures.add(client.classify(t));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
            for (int i = 0; i < texts.size(); i++) {
                assertEqualsPlaintext(futures.get(i).get(), expected.get(texts.get(i)), "request " + i);
            }
        }
    }

    @Test
    void secondModelAddedWhileRunningIsServedAlongsideTheFirst() throws Exception {
        ModelTransformer.Result embed = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.EMBED).key(key).modelId("embeddings").build(), null, s -> { });
        ModelTransformer.Result plainEmbed = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.EMBED).modelId("plain-embed").build(), null, s -> { });
        write(work.resolve("models"), embed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!local.processor().models().modelIds().contains("embeddings") && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(local.processor().models().modelIds().contains("embeddings"), "the new model was picked up");
        ClientProfile embedProfile = ClientProfile.of(embed, null, "all-minilm-l6-v2");
        String text = "Encrypted embeddings over Kafka";
        try (EncryptedInferenceClient embedClient = client(embedProfile); EncryptedInferenceClient classifyClient = client(classifyProfile);
             PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, null, 30522, null);
             ModelSession plain = ModelSession.open(plainEmbed.modelBytes(), plainEmbed.manifest())) {
            CompletableFuture<DecryptedResult.Embedding> e = embedClient.embed(text);
            CompletableFuture<DecryptedResult.Classification> c = classifyClient.classify(text);
            float[] expected = plain.run(List.of(tok.encodePlain(text)))[0];
            float[] got = e.get(60, TimeUnit.SECONDS).vector();
            for (int k = 0; k < expected.length; k++) {
                assertEquals(expected[k], got[k], 1e-5f, "embedding element " + k);
            }
            assertEqualsPlaintext(c.get(60, TimeUnit.SECONDS), plaintextScores(List.of(text)).get(text), "classify next to embed");
        }
    }

    @Test
    void invalidRequestsAreAnsweredWithErrorsAndUndecodableRecordsGoToTheDeadLetterTopic() throws Exception {
        String reply = "it.errors.replies";
        local.kafka().createTopic(reply, 1);
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        Map<String, String> expectedErrors = new HashMap<>();
        expectedErrors.put("unknown-model", "unknown model 'nope'");
        expectedErrors.put("out-of-range", "outside the vocabulary");
        expectedErrors.put("negative", "outside the vocabulary");
        expectedErrors.put("empty", "empty token sequence");
        expectedErrors.put("too-long", "exceeds the maximum of 512");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(cfg, new StringSerializer(), new ByteArraySerializer());
             KafkaConsumer<String, byte[]> dlq = consumer(cfg);
             KafkaConsumer<String, byte[]> replies = consumer(cfg)) {
            dlq.subscribe(List.of(Topics.DEAD_LETTERS_NAME));
            replies.subscribe(List.of(reply));
            send(producer, serializer, request("unknown-model", "nope", List.of(101L, 102L), reply));
            send(producer, serializer, request("out-of-range", "topics", List.of(101L, 30522L, 102L), reply));
            send(producer, serializer, request("negative", "topics", List.of(-5L), reply));
            send(producer, serializer, request("empty", "topics", List.of(), reply));
            send(producer, serializer, request("too-long", "topics", Collections.nCopies(600, 1000L), reply));
            producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, "garbage", "definitely not avro".getBytes(StandardCharsets.UTF_8))).get();
            send(producer, serializer, request("valid-after", "topics", List.of(101L, 2000L, 102L), reply));

            AvroDeserializer<InferenceResponse> responses = new AvroDeserializer<>(InferenceResponse.class);
            responses.configure(cfg, false);
            Map<String, InferenceResponse> answers = new HashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (answers.size() < 6 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : replies.poll(Duration.ofMillis(200))) {
                    InferenceResponse resp = responses.deserialize(reply, r.value());
                    answers.put(resp.getRequestId(), resp);
                }
            }
            expectedErrors.forEach((id, why) -> {
                InferenceResponse r = answers.get(id);
                assertNotNull(r, "no answer to " + id);
                assertEquals(ResponseStatus.ERROR, r.getStatus(), id);
                assertTrue(r.getError().contains(why), id + ": " + r.getError());
            });
            assertEquals(ResponseStatus.OK, answers.get("valid-after").getStatus(), "the stream keeps going after bad input");

            ConsumerRecord<String, byte[]> dead = null;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (dead == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : dlq.poll(Duration.ofMillis(200))) {
                    if ("garbage".equals(r.key())) {
                        dead = r;
                    }
                }
            }
            assertNotNull(dead, "the undecodable record reached the dead-letter topic");
            String reason = new String(dead.headers().lastHeader("eestream.dlq.reason").value(), StandardCharsets.UTF_8);
            assertTrue(reason.contains("magic byte"), reason);
            assertEquals("definitely not avro", new String(dead.value(), StandardCharsets.UTF_8), "the original bytes are kept");
        }
    }

    @Test
    void requestsWithoutAReplyTopicAreAnsweredOnTheResponsesTopic() throws Exception {
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        AvroDeserializer<InferenceResponse> responses = new AvroDeserializer<>(InferenceResponse.class);
        responses.configure(cfg, false);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(cfg, new StringSerializer(), new ByteArraySerializer());
             KafkaConsumer<String, byte[]> consumer = consumer(cfg)) {
            consumer.subscribe(List.of(Topics.RESPONSES_NAME));
            consumer.poll(Duration.ofMillis(500)); // join the group before sending
            send(producer, serializer, request("no-reply-topic", "topics", List.of(101L, 3000L, 102L), null));
            InferenceResponse found = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (found == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    InferenceResponse resp = responses.deserialize(Topics.RESPONSES_NAME, r.value());
                    if (resp.getRequestId().equals("no-reply-topic")) {
                        found = resp;
                    }
                }
            }
            assertNotNull(found, "answer on eestream.responses");
            assertEquals(ResponseStatus.OK, found.getStatus());
            assertEquals(LABELS.size(), found.getScores().size());
        }
    }

    @Test
    void anErrorResponseCompletesTheClientsFutureExceptionally() throws Exception {
        ClientProfile wrongModel = new ClientProfile(ClientProfile.FORMAT, 1, "not-served", key.keyId(), "classify", LABELS,
                "all-minilm-l6-v2", 30522, 384, 512, null);
        try (EncryptedInferenceClient client = client(wrongModel)) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> client.classify("hello").get(60, TimeUnit.SECONDS));
            InferenceErrorException cause = assertInstanceOf(InferenceErrorException.class, e.getCause());
            assertTrue(cause.getMessage().contains("unknown model 'not-served'"), cause.getMessage());
        }
    }

    @Test
    void thirdPartyToolsDecodeResponsesWithTheRegistryAlone() throws Exception {
        // What kcat -s value=avro -r URL does: read the schema id, GET /schemas/ids/{id}, decode generically.
        try (EncryptedInferenceClient client = client(classifyProfile)) {
            client.classify("Decode me with a generic reader").get(60, TimeUnit.SECONDS);
        }
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        try (KafkaConsumer<String, byte[]> consumer = consumer(cfg)) {
            consumer.subscribe(List.of(Topics.REPLIES_NAME));
            ConsumerRecord<String, byte[]> rec = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (rec == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    rec = r;
                }
            }
            assertNotNull(rec);
            byte[] bytes = rec.value();
            assertEquals(0, bytes[0], "magic byte");
            int id = java.nio.ByteBuffer.wrap(bytes, 1, 4).getInt();
            var http = java.net.http.HttpClient.newHttpClient();
            var response = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(local.registryUrl() + "/schemas/ids/" + id))
                    .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            String schemaJson = com.google.gson.JsonParser.parseString(response.body()).getAsJsonObject().get("schema").getAsString();
            org.apache.avro.Schema schema = new org.apache.avro.Schema.Parser().parse(schemaJson);
            org.apache.avro.generic.GenericRecord generic = new org.apache.avro.generic.GenericDatumReader<org.apache.avro.generic.GenericRecord>(schema)
                    .read(null, org.apache.avro.io.DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));
            assertEquals("InferenceResponse", schema.getName());
            assertEquals(rec.key(), generic.get("requestId").toString());
            assertEquals("OK", generic.get("status").toString());
        }
    }

    /** The fine-tuned classifier encrypted by the CLI answers, decrypted, its plaintext logits: classify command and Java client. */
    @Test
    void aFineTunedClassifierAnswersItsPlaintextLogitsThroughTheClassifyCommandAndTheJavaClient() throws Exception {
        Path dir = Files.createDirectories(work.resolve("fine-tuned-cli"));
        java.util.Random random = new java.util.Random(31);
        List<String> texts = new ArrayList<>();
        StringBuilder docs = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            StringBuilder text = new StringBuilder();
            for (int remaining = 1 + random.nextInt(12); remaining > 0; remaining--) {
                text.append(text.length() == 0 ? "" : " ").append('w').append(3 + random.nextInt(TinyModels.ENCODER_VOCAB - 3));
            }
            texts.add(text.toString());
            docs.append("{\"id\": \"d").append(i).append("\", \"text\": \"").append(text).append("\"}\n");
        }
        Path input = dir.resolve("docs.jsonl");
        Files.writeString(input, docs);
        Path output = dir.resolve("results.jsonl");
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = dev.eestream.ops.EestreamCli.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        int exit = cl.execute("classify", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(),
                "--key", keyFile.toString(), "--model-id", "sentiment", "--models", work.resolve("models").toString(),
                "--input", input.toString(), "--output", output.toString());
        assertEquals(0, exit, out.toString());
        assertTrue(out.toString().contains("24 documents: 24 classified, 0 errors"), out.toString());

        Map<String, float[]> plaintext = plaintextFineTunedLogits(texts);
        double worst = 0;
        for (String line : Files.readAllLines(output)) {
            com.google.gson.JsonObject result = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
            float[] expected = plaintext.get(texts.get(Integer.parseInt(result.get("id").getAsString().substring(1))));
            float[] logits = new float[SENTIMENTS.size()];
            double total = 0;
            for (int j = 0; j < logits.length; j++) {
                logits[j] = result.getAsJsonObject("logits").get(SENTIMENTS.get(j)).getAsFloat();
                total += Math.exp(expected[j]);
            }
            worst = Math.max(worst, Compare.maxRelativeDifference(logits, expected));
            String label = SENTIMENTS.get(Compare.argmax(expected));
            assertEquals(label, result.get("label").getAsString(), line);
            assertEquals(logits[Compare.argmax(expected)], result.get("logit").getAsFloat(), 0f, line);
            for (int j = 0; j < logits.length; j++) {
                assertEquals(Math.exp(expected[j]) / total, result.getAsJsonObject("scores").get(SENTIMENTS.get(j)).getAsDouble(),
                        1e-5, "probabilities by label: " + line);
            }
        }
        assertTrue(worst <= 1e-5, "max relative difference of the logits " + worst);

        ClientProfile profile = ClientProfile.read(ClientProfile.besides(work.resolve("models").resolve("sentiment")));
        try (EncryptedInferenceClient client = client(profile)) {
            for (String text : texts.subList(0, 4)) {
                DecryptedResult.Classification classification = client.classify(text).get(60, TimeUnit.SECONDS);
                float[] expected = plaintext.get(text);
                float[] logits = new float[SENTIMENTS.size()];
                for (int j = 0; j < logits.length; j++) {
                    logits[j] = classification.logits().get(SENTIMENTS.get(j));
                }
                assertTrue(Compare.maxRelativeDifference(logits, expected) <= 1e-5, text);
                assertEquals(SENTIMENTS.get(Compare.argmax(expected)), classification.label());
            }
        }
    }

    /** The plaintext fine-tuned classifier's logits of each text, computed on this side. */
    private Map<String, float[]> plaintextFineTunedLogits(List<String> texts) throws Exception {
        ModelTransformer.Result plain = ModelTransformer.transform(TinyClassifiers.bert(5, SENTIMENTS.size()),
                TransformSpec.builder(Task.CLASSIFY).modelId("plain-sentiment").build());
        Map<String, float[]> out = new HashMap<>();
        try (PrivateTokenizer words = PrivateTokenizer.open(SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB), null,
                TinyModels.ENCODER_VOCAB, null);
             ModelSession session = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (String text : texts) {
                out.put(text, session.run(List.of(words.encodePlain(text)))[0]);
            }
        }
        return out;
    }

    @Test
    void classifyAndConsumeCommandsWorkAgainstTheBroker() throws Exception {
        Path dir = Files.createDirectories(work.resolve("cli"));
        classifyProfile.write(dir.resolve("topics.client.json"), true);
        Path input = dir.resolve("docs.jsonl");
        Files.writeString(input, "{\"id\": \"inv\", \"text\": \"The invoice is overdue\"}\nnot json\n"
                + "{\"id\": \"match\", \"text\": \"They won the match in extra time\"}\n");
        Path output = dir.resolve("results.jsonl");
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cl = dev.eestream.ops.EestreamCli.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        int exit = cl.execute("classify", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(),
                "--key", keyFile.toString(), "--model-id", "topics", "--models", dir.toString(), "--input", input.toString(),
                "--output", output.toString());
        assertEquals(2, exit, "exit 2: some documents failed (the unreadable line)");
        assertTrue(out.toString().contains("3 documents: 2 classified, 1 errors"), out.toString());
        Map<String, com.google.gson.JsonObject> byId = new HashMap<>();
        for (String line : Files.readAllLines(output)) {
            com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(line).getAsJsonObject();
            byId.put(o.get("id").getAsString(), o);
        }
        assertEquals("ERROR", byId.get("line-2").get("status").getAsString());
        Map<String, float[]> expected = plaintextScores(List.of("The invoice is overdue", "They won the match in extra time"));
        assertEquals(LABELS.get(Compare.argmax(expected.get("The invoice is overdue"))), byId.get("inv").get("label").getAsString());
        assertEquals(LABELS.get(Compare.argmax(expected.get("They won the match in extra time"))), byId.get("match").get("label").getAsString());

        java.io.StringWriter consumed = new java.io.StringWriter();
        java.io.StringWriter consumeErr = new java.io.StringWriter();
        picocli.CommandLine consume = dev.eestream.ops.EestreamCli.commandLine();
        consume.setOut(new java.io.PrintWriter(consumed, true));
        consume.setErr(new java.io.PrintWriter(consumeErr, true));
        int consumeExit = consume.execute("consume", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(),
                "--key", keyFile.toString(), "--models", dir.toString(), "--topic", Topics.REPLIES_NAME,
                "--from-beginning", "--idle-timeout-ms", "3000");
        assertTrue(consumed.toString().contains("\"attributes\":{\"id\":\"inv\"}"), consumed.toString());
        // The reply topic is shared with this class's other tests: answers of models without a profile in dir are
        // skipped, each reported as from another model, and nothing else is; that is no failure (exit status 0).
        List<String> skipped = consumeErr.toString().lines().filter(line -> line.startsWith("eestream: skipped a bad record: ")).toList();
        assertEquals(0, consumeExit, consumeErr.toString());
        skipped.forEach(line -> assertTrue(line.endsWith("[OTHER_MODEL]"), line));
    }

    @Test
    void decryptingStreamWritesPlaintextResultsForDownstreamPipelines() throws Exception {
        String plaintextTopic = "it.plaintext.results";
        local.kafka().createTopic(plaintextTopic, 1);
        java.util.Properties props = new java.util.Properties();
        props.putAll(local.clientProperties());
        props.put("application.id", "it-decrypt-" + System.nanoTime());
        props.put("processing.guarantee", "exactly_once_v2");
        props.put("state.dir", Files.createDirectories(work.resolve("decrypt-state")).toString());
        props.put("auto.offset.reset", "earliest");
        try (org.apache.kafka.streams.KafkaStreams streams = new org.apache.kafka.streams.KafkaStreams(
                dev.eestream.client.consumer.DecryptingStream.topology(Topics.REPLIES_NAME, plaintextTopic,
                        new dev.eestream.client.consumer.ResponseDecryptor(key, classifyProfile), local.clientProperties()), props);
             EncryptedInferenceClient client = client(classifyProfile);
             KafkaConsumer<String, byte[]> results = consumer(new HashMap<>(local.clientProperties()))) {
            streams.start();
            String text = "Parliament passed the budget";
            String requestId = null;
            DecryptedResult.Classification c = client.classify(text).get(60, TimeUnit.SECONDS);
            requestId = c.requestId();
            results.subscribe(List.of(plaintextTopic));
            com.google.gson.JsonObject found = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (found == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : results.poll(Duration.ofMillis(200))) {
                    if (requestId.equals(r.key())) {
                        found = com.google.gson.JsonParser.parseString(new String(r.value(), StandardCharsets.UTF_8)).getAsJsonObject();
                    }
                }
            }
            assertNotNull(found, "plaintext result on " + plaintextTopic);
            assertEquals(c.label(), found.get("label").getAsString());
            assertEquals(LABELS.get(Compare.argmax(plaintextScores(List.of(text)).get(text))), found.get("label").getAsString());
        }
    }

    @Test
    void corruptOrTruncatedModelsAreReportedAndTheOthersKeepServing() throws Exception {
        Path models = work.resolve("models");
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.EMBED).key(key).modelId("truncated").build(), null, s -> { });
        byte[] bytes = ee.modelBytes();
        ModelBundle.in(models, "truncated").write(java.util.Arrays.copyOf(bytes, bytes.length / 3), ee.manifest(), false);
        ModelBundle.in(models, "garbage").write("this is not an ONNX model".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                new dev.eestream.runtime.model.ModelManifest(dev.eestream.runtime.model.ModelManifest.FORMAT, 1, "garbage", "embed",
                        null, "input_ids", "attention_mask", null, "embedding", 384, 30522, 384, 512, 0), false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (local.processor().models().failures().size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        Map<String, String> failures = local.processor().models().failures();
        assertTrue(failures.containsKey("truncated") && failures.containsKey("garbage"), "failures: " + failures);
        assertTrue(failures.get("garbage").contains("ONNX Runtime cannot load model garbage"), failures.get("garbage"));
        try (EncryptedInferenceClient client = client(classifyProfile)) {
            String text = "Still serving after a broken model appeared";
            assertEqualsPlaintext(client.classify(text).get(60, TimeUnit.SECONDS), plaintextScores(List.of(text)).get(text),
                    "the other model keeps serving");
        }
        ClientProfile brokenProfile = ClientProfile.of(ee, null, "all-minilm-l6-v2");
        try (EncryptedInferenceClient client = client(brokenProfile)) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> client.embed("hello").get(60, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("unknown model 'truncated'"), e.getCause().getMessage());
        }
    }

    @Test
    void metricsAndHealthEndpointsMoveDuringARun() throws Exception {
        String base = local.processor().httpUrl();
        var http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, java.net.http.HttpResponse<String>> get = path -> {
            try {
                return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + path)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        assertEquals(200, get.apply("/health").statusCode());
        String first = get.apply("/metrics").body();
        double before = metric(first, "eestream_requests_total{model=\"topics\",outcome=\"ok\"}");
        double tokensBefore = metric(first, "eestream_tokens_total{device=\"cpu\",model=\"topics\"}");
        double cipherBefore = metric(first, "eestream_cipher_tokens_total{model=\"topics\"}");
        io.micrometer.core.instrument.simple.SimpleMeterRegistry clientMeters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                .properties(local.clientProperties()).key(key).profile(classifyProfile).meterRegistry(clientMeters).build()) {
            List<CompletableFuture<DecryptedResult.Classification>> futures = new ArrayList<>();
            for (String t : TestTexts.varied(20, 3)) {
                futures.add(client.classify(t));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        }
        String scrape = get.apply("/metrics").body();
        assertEquals(before + 20, metric(scrape, "eestream_requests_total{model=\"topics\",outcome=\"ok\"}"), 0.0);
        assertTrue(metric(scrape, "eestream_batch_size_count{model=\"topics\"}") > 0, "batch sizes recorded");
        assertTrue(metric(scrape, "eestream_inference_seconds_count{device=\"cpu\",model=\"topics\"}") > 0, "inference timed");
        double tokens = metric(scrape, "eestream_tokens_total{device=\"cpu\",model=\"topics\"}");
        assertTrue(tokens > tokensBefore, "tokens counted");
        // Without length buckets every id sent is a real token: the key's traffic grew by the tokens inferred.
        assertEquals(tokens - tokensBefore, metric(scrape, "eestream_cipher_tokens_total{model=\"topics\"}") - cipherBefore,
                0.0, "ciphertext ids carried under the model's key");
        assertTrue(metric(scrape, "eestream_end_to_end_seconds_count{model=\"topics\"}") > 0, "end-to-end latency");
        assertTrue(metric(scrape, "eestream_model_info{device=\"cpu\",model=\"topics\",task=\"classify\"}") == 1.0, "device label");
        assertTrue(scrape.contains("kafka_stream_"), "Kafka Streams client metrics are exported");
        assertTrue(scrape.contains("jvm_memory_used_bytes"), "JVM metrics are exported");
        assertEquals(20.0, clientMeters.get("eestream.client.requests.sent").counter().count());
        assertEquals(20.0, clientMeters.get("eestream.client.answers").tag("status", "ok").counter().count());
        assertEquals(20, clientMeters.get("eestream.client.round.trip").timer().count());
        var ready = get.apply("/ready");
        // Ready means every model loaded; the corrupt-model test may have added broken ones.
        if (local.processor().models().failures().isEmpty()) {
            assertEquals(200, ready.statusCode(), ready.body());
        } else {
            assertEquals(503, ready.statusCode(), ready.body());
            assertTrue(ready.body().contains("models failed to load"), ready.body());
        }
    }

    /** The value of one exact series line in a Prometheus scrape, 0 when absent. */
    private static double metric(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    private static KafkaConsumer<String, byte[]> consumer(Map<String, Object> cfg) {
        Map<String, Object> c = new HashMap<>(cfg);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + java.util.UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private static InferenceRequest request(String id, String model, List<Long> ids, String reply) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(model).setTokenIds(ids).setReplyTopic(reply)
                .setCreatedAt(Instant.now()).build();
    }

    private static void send(KafkaProducer<String, byte[]> producer, AvroSerializer<InferenceRequest> serializer,
            InferenceRequest r) throws Exception {
        producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, r.getRequestId(), serializer.serialize(Topics.REQUESTS_NAME, r))).get();
    }

    private static void write(Path models, ModelTransformer.Result r) throws Exception {
        ModelBundle.in(models, r.manifest().modelId()).write(r.modelBytes(), r.manifest(), false);
    }
}
