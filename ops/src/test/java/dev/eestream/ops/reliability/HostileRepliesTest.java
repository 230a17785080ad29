package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.client.consumer.BadRecordKind;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.consumer.DecryptingConsumer;
import dev.eestream.client.consumer.ResponseDecryptor;
import dev.eestream.client.producer.BadReplyException;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.gateway.Gateway;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.serde.AvroDeserializer;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.serde.AvroTrust;
import dev.eestream.schemas.serde.WireFormat;
import dev.eestream.schemas.topics.DeadLetters;
import dev.eestream.schemas.topics.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Hostile records on the topics the clients read, of the kinds {@link HostileInputTest} sends the processor plus
 * responses for another key or model or with outputs that do not fit: the readers of responses ({@code consume},
 * {@code decrypt-stream}, {@link DecryptingConsumer}, {@link EncryptedInferenceClient}, the gateway) report each bad
 * record once, where it was and why, and every good answer before and after it is delivered, decrypted right.
 *
 * <p>One shared run writes each kind, between two genuine answers of the processor, to one reply topic; each reader
 * then reads that topic. A second client's requests go to a topic nobody serves, so a hostile record keyed with the
 * request's id is the only reply it gets.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileRepliesTest {
    private static final String MODEL = "hostile-replies-embed";
    /** Genuine answers and hostile records, one partition, so their order is known. */
    private static final String SHARED_REPLIES = "hostile.replies";
    private static final String UNSERVED_REQUESTS = "hostile.unserved.requests";
    private static final String KEYED_REPLIES = "hostile.keyed.replies";
    private static final int LARGE_RECORD_BYTES = 16 * 1024 * 1024;
    private static final int TEN_MEGABYTES = 10 * 1024 * 1024;
    /** Fixed, so a hostile record made again has the same bytes as the one written. */
    private static final Instant CREATED_AT = Instant.ofEpochMilli(1_750_000_000_000L);

    @TempDir
    static Path work;

    private final EeKey key = EeKey.generate();
    private final Random random = new Random(1234);
    private LocalMode local;
    private Path keyFile;
    private Path profilesDir;
    private ClientProfile profile;
    private TokenizerJson tokenizer;
    private ModelSession plainModel;
    private PrivateTokenizer plainTokenizer;
    private AvroSerializer<InferenceResponse> responseSerializer;
    private SchemaRegistryClient registry;
    private KafkaProducer<String, byte[]> hostileProducer;
    private final List<Hostile> kinds = new ArrayList<>();

    /** The shared run: the genuine answers in the order they were written, and each hostile record's offset by kind. */
    private final List<DecryptedResult.Embedding> goodAnswers = new ArrayList<>();
    private final List<String> goodTexts = new ArrayList<>();
    private final Map<String, Long> hostileOffsets = new LinkedHashMap<>();
    private double clientBadReplies;

    /**
     * One kind of hostile record.
     *
     * @param kind    what every reader must call it
     * @param valueFor its value, for a record of this request id (responses that decode carry it inside)
     */
    private record Hostile(String name, BadRecordKind kind, Function<String, byte[]> valueFor) {
        boolean decodes() {
            return kind == BadRecordKind.OTHER_KEY || kind == BadRecordKind.OTHER_MODEL || kind == BadRecordKind.UNDECRYPTABLE;
        }
    }

    @BeforeAll
    void writeEveryKindBetweenGenuineAnswers() throws Exception {
        ModelTransformer.Result ee = ReliabilityFixture.writeEmbedModel(work.resolve("models"), key, MODEL);
        ModelTransformer.Result plain = ReliabilityFixture.plainEmbedModel();
        plainModel = ModelSession.open(plain.modelBytes(), plain.manifest());
        tokenizer = SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB);
        plainTokenizer = PrivateTokenizer.open(tokenizer, null, TinyModels.ENCODER_VOCAB, TinyModels.MAX_POSITIONS);
        profilesDir = Files.createDirectories(work.resolve("client"));
        Path tokenizerFile = profilesDir.resolve("tokenizer.json");
        Files.writeString(tokenizerFile, tokenizer.text());
        profile = ClientProfile.of(ee, List.of(), tokenizerFile.toString());
        profile.write(profilesDir.resolve(MODEL + ".client.json"), false);
        keyFile = profilesDir.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);

        local = LocalMode.start(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        createLargeTopic(SHARED_REPLIES, 1);
        createLargeTopic(KEYED_REPLIES, 1);
        createLargeTopic(Topics.REPLIES_NAME, 3);
        local.kafka().createTopic(UNSERVED_REQUESTS, 1);
        Map<String, Object> producerConfig = new HashMap<>(local.clientProperties());
        producerConfig.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(LARGE_RECORD_BYTES));
        hostileProducer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer());
        registry = SchemaRegistryClient.fromConfig(local.clientProperties());
        responseSerializer = new AvroSerializer<>(registry);
        defineKinds();

        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (EncryptedInferenceClient client = client(SHARED_REPLIES, Topics.REQUESTS_NAME, meters)) {
            for (Hostile hostile : kinds) {
                answerGenuinely(client);
                hostileOffsets.put(hostile.name(), write(SHARED_REPLIES, "hostile-" + hostile.name(), hostile.valueFor().apply(
                        "hostile-" + hostile.name())));
            }
            answerGenuinely(client); // the last answer comes after every hostile record: the reply thread lived through them
        }
        clientBadReplies = meters.get("eestream.client.bad.replies").counter().count();
    }

    @AfterAll
    void stop() {
        for (AutoCloseable part : new AutoCloseable[] {hostileProducer, registry, plainTokenizer, plainModel, local}) {
            try {
                if (part != null) {
                    part.close();
                }
            } catch (Exception e) {
                System.err.println("closing " + part + " failed: " + e);
            }
        }
    }

    @Test
    void theClientsReplyThreadAnswersEveryRequestThroughEveryHostileRecord() {
        assertEquals(kinds.size() + 1, goodAnswers.size(), "every request answered");
        for (int i = 0; i < goodAnswers.size(); i++) {
            assertEqualsPlaintext(goodTexts.get(i), goodAnswers.get(i).vector(), "answer " + i);
        }
        long undecodable = kinds.stream().filter(hostile -> !hostile.decodes()).count();
        // Responses that decode but name no request of this client are not its business: only undecodable ones count.
        assertEquals(undecodable, (long) clientBadReplies, "each undecodable record counted once");
        System.out.printf("hostile replies: client answered %d requests between %d hostile records; %d counted as bad replies%n",
                goodAnswers.size(), kinds.size(), (long) clientBadReplies);
    }

    @Test
    void theProcessorNamesTheEncryptionOfTheModelThatAnsweredAndNotItsKey() {
        AvroDeserializer<InferenceResponse> deserializer = new AvroDeserializer<>(InferenceResponse.class, registry);
        int genuine = 0;
        try (KafkaConsumer<String, byte[]> consumer = rawConsumer()) {
            for (ConsumerRecord<String, byte[]> rec : readAll(consumer, SHARED_REPLIES, goodAnswers.size() + kinds.size())) {
                if (!rec.key().startsWith("hostile-")) {
                    InferenceResponse r = deserializer.deserialize(rec.topic(), rec.value());
                    assertEquals(profile.encryptionId(), r.getEncryptionId(), rec.key());
                    assertNull(r.getKeyId(), "the manifest holds no key id to send");
                    genuine++;
                }
            }
        }
        assertEquals(goodAnswers.size(), genuine);
    }

    @Test
    void consumeSkipsEachBadRecordWithOneLineAndPrintsEveryGoodAnswer() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = EestreamCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute("consume", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(),
                "--key", keyFile.toString(), "--models", profilesDir.toString(), "--topic", SHARED_REPLIES,
                "--from-beginning", "--idle-timeout-ms", "3000");
        assertEquals(2, exit, "exit status 2: records were skipped\n" + err);

        List<String> printed = out.toString().lines().toList();
        assertEquals(goodAnswers.size(), printed.size(), out.toString());
        for (int i = 0; i < printed.size(); i++) {
            JsonObject result = JsonParser.parseString(printed.get(i)).getAsJsonObject();
            assertEquals("OK", result.get("status").getAsString(), printed.get(i));
            assertEquals(goodAnswers.get(i).requestId(), result.get("requestId").getAsString(), "answers in order");
            assertEqualsPlaintext(goodTexts.get(i), floats(result.getAsJsonArray("embedding")), "consumed answer " + i);
        }

        List<String> skipped = err.toString().lines().filter(line -> line.startsWith("eestream: skipped a bad record: ")).toList();
        assertEquals(kinds.size(), skipped.size(), err.toString());
        for (Hostile hostile : kinds) {
            String where = "topic " + SHARED_REPLIES + ", partition 0, offset " + hostileOffsets.get(hostile.name()) + ", ";
            List<String> lines = skipped.stream().filter(line -> line.contains(where)).toList();
            assertEquals(1, lines.size(), hostile.name() + " reported once: " + lines);
            assertTrue(lines.get(0).endsWith("[" + hostile.kind() + "]"), hostile.name() + ": " + lines.get(0));
            System.out.printf("hostile reply %-28s -> consume: %s%n", hostile.name(), shorten(lines.get(0)));
        }
        assertOnlyReportLines(err.toString(), "eestream: skipped a bad record: ", "consumed ");
        assertTrue(err.toString().contains("consumed " + goodAnswers.size() + " responses from " + SHARED_REPLIES + "; skipped "
                + kinds.size() + " bad records"), err.toString());
    }

    @Test
    void decryptingConsumerGivesEachBadRecordInItsPlace() {
        List<DecryptedResult> results = new ArrayList<>();
        Map<String, Object> config = new HashMap<>(local.clientProperties());
        try (DecryptingConsumer consumer = new DecryptingConsumer(config, SHARED_REPLIES, true, new ResponseDecryptor(key, profile))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (results.size() < goodAnswers.size() + kinds.size() && System.nanoTime() < deadline) {
                results.addAll(consumer.poll(Duration.ofMillis(200)));
            }
        }
        assertEquals(goodAnswers.size() + kinds.size(), results.size(), "every record, good or bad, once");
        for (int i = 0; i < results.size(); i++) {
            DecryptedResult result = results.get(i);
            if (i % 2 == 0) {
                DecryptedResult.Embedding embedding = assertInstanceOf(DecryptedResult.Embedding.class, result, "record " + i);
                assertEquals(goodAnswers.get(i / 2).requestId(), embedding.requestId());
                assertEqualsPlaintext(goodTexts.get(i / 2), embedding.vector(), "record " + i);
            } else {
                Hostile hostile = kinds.get(i / 2);
                DecryptedResult.BadRecord bad = assertInstanceOf(DecryptedResult.BadRecord.class, result, hostile.name());
                assertEquals(hostile.kind(), bad.kind(), hostile.name() + ": " + bad.reason());
                assertEquals(SHARED_REPLIES, bad.position().topic());
                assertEquals(0, bad.position().partition());
                assertEquals(hostileOffsets.get(hostile.name()), bad.position().offset(), hostile.name());
                assertEquals("hostile-" + hostile.name(), bad.requestId(), hostile.name());
            }
        }
    }

    @Test
    void decryptStreamDeadLettersEachBadRecordWithItsReasonAndWritesEveryGoodResult() throws Exception {
        String plaintextTopic = "hostile.plaintext";
        String deadLetterTopic = DeadLetters.topicFor(SHARED_REPLIES);
        local.kafka().createTopic(plaintextTopic, 1);
        Path clientConfig = work.resolve("decrypt-stream.properties");
        Files.writeString(clientConfig, "state.dir=" + Files.createDirectories(work.resolve("decrypt-state")) + "\n");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = EestreamCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int[] exit = {-1};
        Thread command = new Thread(() -> exit[0] = cli.execute("decrypt-stream", "--bootstrap", local.bootstrapServers(),
                "--registry", local.registryUrl(), "--client-config", clientConfig.toString(), "--key", keyFile.toString(),
                "--models", profilesDir.toString(), "--from", SHARED_REPLIES, "--to", plaintextTopic,
                "--application-id", "hostile-decrypt-" + System.nanoTime()), "decrypt-stream");
        command.start();
        List<ConsumerRecord<String, byte[]>> plaintext;
        List<ConsumerRecord<String, byte[]>> deadLetters;
        try (KafkaConsumer<String, byte[]> consumer = rawConsumer()) {
            plaintext = readAll(consumer, plaintextTopic, goodAnswers.size());
            deadLetters = readAll(consumer, deadLetterTopic, kinds.size());
            // Anything more would be a record written twice.
            assertTrue(consumer.poll(Duration.ofSeconds(2)).isEmpty(), "no more records");
        } finally {
            command.interrupt();
            command.join(60_000);
        }
        assertEquals(0, exit[0], "stopped cleanly\n" + err);
        assertTrue(out.toString().contains("(dead letters: " + deadLetterTopic + ")"), out.toString());

        assertEquals(goodAnswers.size(), plaintext.size());
        for (int i = 0; i < plaintext.size(); i++) {
            JsonObject result = JsonParser.parseString(new String(plaintext.get(i).value(), StandardCharsets.UTF_8)).getAsJsonObject();
            assertEquals(goodAnswers.get(i).requestId(), plaintext.get(i).key());
            assertEqualsPlaintext(goodTexts.get(i), floats(result.getAsJsonArray("embedding")), "plaintext result " + i);
        }

        Map<String, ConsumerRecord<String, byte[]>> byName = deadLetters.stream()
                .collect(Collectors.toMap(rec -> rec.key().substring("hostile-".length()), rec -> rec));
        List<String> reported = err.toString().lines().filter(line -> line.startsWith("eestream: bad record sent to " + deadLetterTopic))
                .toList();
        assertEquals(kinds.size(), reported.size(), err.toString());
        for (Hostile hostile : kinds) {
            ConsumerRecord<String, byte[]> dead = byName.get(hostile.name());
            assertNotNull(dead, hostile.name() + " reached no dead-letter record");
            String reason = DeadLetters.header(dead.headers(), DeadLetters.REASON);
            assertTrue(reason != null && !reason.isBlank(), hostile.name());
            assertEquals(hostile.kind().name(), DeadLetters.header(dead.headers(), DeadLetters.KIND), hostile.name() + ": " + reason);
            assertEquals(SHARED_REPLIES, DeadLetters.header(dead.headers(), DeadLetters.TOPIC));
            assertEquals("0", DeadLetters.header(dead.headers(), DeadLetters.PARTITION));
            assertEquals(String.valueOf(hostileOffsets.get(hostile.name())), DeadLetters.header(dead.headers(), DeadLetters.OFFSET));
            byte[] original = hostile.valueFor().apply("hostile-" + hostile.name());
            if (original != null && original.length > DeadLetters.MAX_VALUE_BYTES) {
                assertEquals(String.valueOf(original.length), DeadLetters.header(dead.headers(), DeadLetters.TRUNCATED), hostile.name());
                assertTrue(Arrays.equals(Arrays.copyOf(original, DeadLetters.MAX_VALUE_BYTES), dead.value()), hostile.name() + " kept in part");
            } else {
                assertTrue(Arrays.equals(original, dead.value()), hostile.name() + " kept unchanged");
            }
            String where = "topic " + SHARED_REPLIES + ", partition 0, offset " + hostileOffsets.get(hostile.name()) + ", ";
            assertEquals(1, reported.stream().filter(line -> line.contains(where)).count(), hostile.name() + " reported once");
            System.out.printf("hostile reply %-28s -> DLQ %s: %s%n", hostile.name(), hostile.kind(), shorten(reason));
        }
        assertOnlyReportLines(err.toString(), "eestream: bad record sent to " + deadLetterTopic + ": ");
    }

    @Test
    void aBadReplyKeyedToAWaitingRequestFailsItAtOnceAndTheNextIsAnswered() throws Exception {
        try (EncryptedInferenceClient client = client(KEYED_REPLIES, UNSERVED_REQUESTS, new SimpleMeterRegistry());
             KafkaConsumer<String, byte[]> requests = rawConsumer()) {
            requests.assign(List.of(new TopicPartition(UNSERVED_REQUESTS, 0)));
            requests.seekToBeginning(List.of(new TopicPartition(UNSERVED_REQUESTS, 0)));
            for (Hostile hostile : kinds) {
                CompletableFuture<DecryptedResult.Embedding> future = client.embed("w3 w4 w5");
                String requestId = nextRequestId(requests);
                long offset = write(KEYED_REPLIES, requestId, hostile.valueFor().apply(requestId));
                long start = System.nanoTime();
                ExecutionException failure = assertThrows(ExecutionException.class, () -> future.get(30, TimeUnit.SECONDS),
                        hostile.name());
                long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                BadReplyException bad = assertInstanceOf(BadReplyException.class, failure.getCause(), hostile.name());
                assertEquals(hostile.kind(), bad.badRecord().kind(), hostile.name() + ": " + bad.getMessage());
                assertEquals(requestId, bad.requestId());
                assertEquals(KEYED_REPLIES, bad.badRecord().position().topic());
                assertEquals(offset, bad.badRecord().position().offset(), hostile.name());
                assertTrue(waitedMs < 20_000, hostile.name() + " failed at once, not at the 60 s timeout: " + waitedMs + " ms");
                System.out.printf("hostile reply %-28s -> request failed in %d ms: %s%n", hostile.name(), waitedMs,
                        shorten(bad.getMessage()));
            }
            // A good reply after all of them: the reply thread is alive and still decrypts.
            CompletableFuture<DecryptedResult.Embedding> future = client.embed("w6 w7");
            String requestId = nextRequestId(requests);
            List<Float> cipher = floatsOfWidth(TinyModels.HIDDEN);
            write(KEYED_REPLIES, requestId, responseBytes(KEYED_REPLIES, response(requestId, cipher).build()));
            DecryptedResult.Embedding embedding = future.get(30, TimeUnit.SECONDS);
            float[] expected = new OutputDecryptor(key).embedding(toArray(cipher));
            assertTrue(Arrays.equals(expected, embedding.vector()), "the good reply after them decrypts");
        }
    }

    @Test
    void theGatewayKeepsServingThroughHostileRecordsOnItsReplyTopic() throws Exception {
        Map<String, Object> kafka = new HashMap<>(local.clientProperties());
        try (Gateway gateway = Gateway.builder().key(key).kafka(kafka).profiles(List.of(profile)).port(0).timeout(Duration.ofSeconds(60))
                .start()) {
            assertEqualsPlaintext("w10 w11 w12", embedThroughGateway(gateway, "w10 w11 w12"), "before");
            for (Hostile hostile : kinds) {
                write(Topics.REPLIES_NAME, "hostile-" + hostile.name(), hostile.valueFor().apply("hostile-" + hostile.name()));
            }
            assertEqualsPlaintext("w13 w14", embedThroughGateway(gateway, "w13 w14"), "after every hostile record");
        }
    }

    /** The kinds of {@link HostileInputTest} that fit a reply topic, plus responses that decode but are not this key's. */
    private void defineKinds() throws Exception {
        byte[] randomBytes = new byte[200];
        random.nextBytes(randomBytes);
        randomBytes[0] = 0x42;
        byte[] noise = new byte[TEN_MEGABYTES];
        random.nextBytes(noise);
        ByteBuffer.wrap(noise).put(WireFormat.MAGIC_BYTE).putInt(2_000_000_001); // magic byte, then an id never registered
        Schema other = SchemaBuilder.record("Other").namespace("dev.hostile").fields().requiredString("x").endRecord();
        int otherId = registry.register("hostile-other", other);
        Schema noRequestId = SchemaBuilder.record("InferenceResponse").namespace("dev.eestream.schemas").fields()
                .requiredString("modelId").endRecord();
        int noRequestIdId = registry.register("hostile-missing", noRequestId);
        AvroSerializer<InferenceRequest> requests = new AvroSerializer<>(registry);
        String otherEncryption = "0".repeat(32); // the model's is 128 random bits
        List<Float> hugeScores = floatsOfWidth(TEN_MEGABYTES / Float.BYTES + 1000);

        kinds.add(new Hostile("random-bytes", BadRecordKind.NOT_WIRE_FORMAT, id -> randomBytes));
        kinds.add(new Hostile("truncated-avro", BadRecordKind.MALFORMED_AVRO, id -> {
            byte[] valid = validBytes(id);
            return Arrays.copyOf(valid, valid.length / 2);
        }));
        kinds.add(new Hostile("bytes-left-over", BadRecordKind.MALFORMED_AVRO, id -> Arrays.copyOf(validBytes(id), validBytes(id).length + 3)));
        kinds.add(new Hostile("wrong-magic-byte", BadRecordKind.NOT_WIRE_FORMAT, id -> {
            byte[] wrong = validBytes(id);
            wrong[0] = 1;
            return wrong;
        }));
        kinds.add(new Hostile("unknown-schema-id", BadRecordKind.UNKNOWN_SCHEMA_ID, id -> {
            byte[] valid = validBytes(id);
            return WireFormat.frame(987_654, Arrays.copyOfRange(valid, WireFormat.HEADER_SIZE, valid.length));
        }));
        kinds.add(new Hostile("other-schema", BadRecordKind.INCOMPATIBLE_SCHEMA, id -> frame(otherId, other, Map.of("x", "hello"))));
        kinds.add(new Hostile("missing-required-field", BadRecordKind.INCOMPATIBLE_SCHEMA,
                id -> frame(noRequestIdId, noRequestId, Map.of("modelId", MODEL))));
        kinds.add(new Hostile("request-instead-of-response", BadRecordKind.INCOMPATIBLE_SCHEMA, id -> requests.serialize(
                "hostile.elsewhere", InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(List.of(3L)).build())));
        kinds.add(new Hostile("empty-value", BadRecordKind.NOT_WIRE_FORMAT, id -> new byte[0]));
        kinds.add(new Hostile("null-value", BadRecordKind.NO_VALUE, id -> null));
        kinds.add(new Hostile("three-bytes", BadRecordKind.NOT_WIRE_FORMAT, id -> new byte[] {0, 0, 1}));
        kinds.add(new Hostile("json-instead-of-avro", BadRecordKind.NOT_WIRE_FORMAT,
                id -> ("{\"requestId\": \"" + id + "\", \"modelId\": \"" + MODEL + "\"}").getBytes(StandardCharsets.UTF_8)));
        kinds.add(new Hostile("ten-megabytes-of-noise", BadRecordKind.UNKNOWN_SCHEMA_ID, id -> noise));
        kinds.add(new Hostile("ten-megabyte-response", BadRecordKind.UNDECRYPTABLE,
                id -> responseBytes(SHARED_REPLIES, response(id, hugeScores).build())));
        kinds.add(new Hostile("other-encryption", BadRecordKind.OTHER_KEY, id -> responseBytes(SHARED_REPLIES,
                response(id, floatsOfWidth(TinyModels.HIDDEN)).setEncryptionId(otherEncryption).build())));
        kinds.add(new Hostile("other-model", BadRecordKind.OTHER_MODEL,
                id -> responseBytes(SHARED_REPLIES, response(id, floatsOfWidth(TinyModels.HIDDEN)).setModelId("someone-elses-model").build())));
        kinds.add(new Hostile("wrong-width", BadRecordKind.UNDECRYPTABLE,
                id -> responseBytes(SHARED_REPLIES, response(id, floatsOfWidth(TinyModels.HIDDEN + 1)).build())));
        kinds.add(new Hostile("no-outputs", BadRecordKind.UNDECRYPTABLE, id -> responseBytes(SHARED_REPLIES, response(id, null).build())));
    }

    /** Sends one request through the processor and waits for its answer, so the answer is on the topic before what follows. */
    private void answerGenuinely(EncryptedInferenceClient client) throws Exception {
        StringBuilder text = new StringBuilder();
        int words = 1 + random.nextInt(12);
        for (int i = 0; i < words; i++) {
            text.append(i == 0 ? "" : " ").append('w').append(SyntheticTokenizers.EOS_ID + 1 + random.nextInt(TinyModels.ENCODER_VOCAB - 3));
        }
        goodAnswers.add(client.embed(text.toString()).get(60, TimeUnit.SECONDS));
        goodTexts.add(text.toString());
    }

    private EncryptedInferenceClient client(String replyTopic, String requestsTopic, SimpleMeterRegistry meters) throws Exception {
        return EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers()).properties(local.clientProperties())
                .key(key).profile(profile).tokenizer(tokenizer).replyTopic(replyTopic).requestsTopic(requestsTopic)
                .timeout(Duration.ofSeconds(60)).meterRegistry(meters).build();
    }

    private float[] embedThroughGateway(Gateway gateway, String text) throws Exception {
        HttpResponse<String> reply = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/embeddings"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + MODEL + "\", \"input\": \"" + text + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, reply.statusCode(), reply.body());
        return floats(JsonParser.parseString(reply.body()).getAsJsonObject().getAsJsonArray("data").get(0).getAsJsonObject()
                .getAsJsonArray("embedding"));
    }

    private void assertEqualsPlaintext(String text, float[] got, String what) {
        float[] expected = plainModel.run(List.of(plainTokenizer.encodePlain(text)))[0];
        assertEquals(expected.length, got.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], got[i], 1e-4f, what + " element " + i);
        }
    }

    /** Every line on stderr is one the command writes on purpose: no stack trace, no frame of one. */
    private static void assertOnlyReportLines(String err, String... allowedPrefixes) {
        for (String line : err.lines().toList()) {
            assertTrue(Arrays.stream(allowedPrefixes).anyMatch(line::startsWith), "an unexpected line on stderr: " + line);
        }
        assertFalse(err.contains("\tat ") || err.contains("Caused by"), "no stack trace:\n" + err);
    }

    private void createLargeTopic(String name, int partitions) throws Exception {
        local.kafka().createTopic(name, partitions);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", local.bootstrapServers()))) {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, name),
                    List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", Integer.toString(LARGE_RECORD_BYTES)),
                            AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS);
        }
    }

    private long write(String topic, String recordKey, byte[] value) {
        try {
            return hostileProducer.send(new ProducerRecord<>(topic, recordKey, value)).get(30, TimeUnit.SECONDS).offset();
        } catch (Exception e) {
            throw new IllegalStateException("cannot write to " + topic, e);
        }
    }

    private KafkaConsumer<String, byte[]> rawConsumer() {
        Map<String, Object> config = new HashMap<>(local.clientProperties());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(LARGE_RECORD_BYTES));
        return new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** The first {@code count} records of partition 0 of {@code topic}; fails after 60 s with fewer. */
    private static List<ConsumerRecord<String, byte[]>> readAll(KafkaConsumer<String, byte[]> consumer, String topic, int count) {
        TopicPartition partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.size() < count && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
        assertEquals(count, out.size(), "records on " + topic);
        return out;
    }

    private static String nextRequestId(KafkaConsumer<String, byte[]> requests) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> rec : requests.poll(Duration.ofMillis(100))) {
                return rec.key();
            }
        }
        throw new AssertionError("the request never reached " + UNSERVED_REQUESTS);
    }

    private InferenceResponse.Builder response(String requestId, List<Float> scores) {
        return InferenceResponse.newBuilder().setRequestId(requestId).setModelId(MODEL).setStatus(ResponseStatus.OK)
                .setScores(scores).setKeyId(key.keyId()).setCreatedAt(CREATED_AT).setRespondedAt(CREATED_AT);
    }

    private byte[] validBytes(String requestId) {
        return responseBytes(SHARED_REPLIES, response(requestId, floatsOfWidth(TinyModels.HIDDEN)).build());
    }

    private byte[] responseBytes(String topic, InferenceResponse response) {
        AvroTrust.declare(InferenceResponse.class);
        return responseSerializer.serialize(topic, response);
    }

    private static byte[] frame(int schemaId, Schema schema, Map<String, Object> fields) {
        try {
            GenericRecord rec = new GenericData.Record(schema);
            fields.forEach(rec::put);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
            new GenericDatumWriter<GenericRecord>(schema).write(rec, encoder);
            encoder.flush();
            return WireFormat.frame(schemaId, bytes.toByteArray());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<Float> floatsOfWidth(int width) {
        List<Float> out = new ArrayList<>(width);
        for (int i = 0; i < width; i++) {
            out.add((i % 97) * 0.01f - 0.4f);
        }
        return out;
    }

    private static float[] toArray(List<Float> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    private static float[] floats(JsonArray array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).getAsFloat();
        }
        return out;
    }

    private static String shorten(String text) {
        return text.length() > 150 ? text.substring(0, 150) + "…" : text;
    }
}
