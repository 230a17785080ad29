package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.serde.AvroDeserializer;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.serde.WireFormat;
import dev.eestream.schemas.topics.Topics;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input, each kind between two valid requests: every bad record gets an ERROR response or a
 * dead-letter record that says why, the processor stays up, and every valid request is answered right.
 * All kinds go through one pipeline run (set up once); each kind is then reported as a test of its own.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {
    private static final String MODEL = "hostile-embed";
    private static final String REPLIES = "hostile.replies";

    @TempDir
    static Path work;

    private final EeKey key = EeKey.generate();
    private final Random random = new Random(99);
    private final Map<String, long[]> validClear = new LinkedHashMap<>();
    private int validCount;
    private LocalMode local;
    private ModelTransformer.Result plain;
    private final Map<String, Expectation> expected = new LinkedHashMap<>();
    private final Map<String, List<InferenceResponse>> answers = new HashMap<>();
    private final Map<String, ConsumerRecord<String, byte[]>> deadLetters = new HashMap<>();

    /** What each hostile record must come to: an ERROR answer whose reason contains the text, or a dead letter. */
    private record Expectation(boolean deadLetter, String reasonContains) {
    }

    /** Sends every kind, each between two valid requests, and collects what comes back. */
    @BeforeAll
    void sendEveryKindThroughThePipeline() throws Exception {
        ReliabilityFixture.writeEmbedModel(work.resolve("models"), key, MODEL);
        plain = ReliabilityFixture.plainEmbedModel();
        local = LocalMode.start(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        local.kafka().createTopic(REPLIES, 1);
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", local.bootstrapServers()))) {
            // Let the requests topic take a 10 MB record, so that hostile size reaches the processor.
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, Topics.REQUESTS_NAME),
                    List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", "16777216"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(cfg, false);
        Map<String, Object> producerCfg = new HashMap<>(cfg);
        producerCfg.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "16777216");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerCfg, new StringSerializer(), new ByteArraySerializer());
             SchemaRegistryClient registry = SchemaRegistryClient.fromConfig(cfg)) {
            Sender send = (k, bytes, expectation) -> {
                producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, k, bytes)).get(30, TimeUnit.SECONDS);
                expected.put(k, expectation);
                sendValid(producer, serializer);
            };
            byte[] valid = serializer.serialize(Topics.REQUESTS_NAME, request("template", ids(5), null));
            Expectation dlq = new Expectation(true, null);

            byte[] randomBytes = new byte[200];
            random.nextBytes(randomBytes);
            randomBytes[0] = 0x42;
            send.send("random-bytes", randomBytes, dlq);
            send.send("truncated-avro", java.util.Arrays.copyOf(valid, valid.length / 2), dlq);
            byte[] wrongMagic = valid.clone();
            wrongMagic[0] = 1;
            send.send("wrong-magic-byte", wrongMagic, dlq);
            send.send("unknown-schema-id", WireFormat.frame(987_654, java.util.Arrays.copyOfRange(valid, 5, valid.length)), dlq);
            Schema other = SchemaBuilder.record("Other").namespace("dev.hostile").fields().requiredString("x").endRecord();
            send.send("other-schema", frame(registry.register("hostile-other", other), other, Map.of("x", "hello")), dlq);
            Schema noRequestId = SchemaBuilder.record("InferenceRequest").namespace("dev.eestream.schemas").fields()
                    .requiredString("modelId").endRecord();
            send.send("missing-required-field", frame(registry.register("hostile-missing", noRequestId), noRequestId,
                    Map.of("modelId", MODEL)), dlq);
            send.send("empty-value", new byte[0], dlq);
            send.send("null-value", null, dlq);
            send.send("three-bytes", new byte[] {0, 0, 1}, dlq);
            send.send("json-instead-of-avro", "{\"requestId\": \"x\", \"modelId\": \"y\"}".getBytes(StandardCharsets.UTF_8), dlq);
            byte[] tenMegabytes = new byte[10 * 1024 * 1024];
            random.nextBytes(tenMegabytes);
            tenMegabytes[0] = 0;
            send.send("ten-megabytes-of-noise", tenMegabytes, dlq);

            send.send("negative-ids", bytes(serializer, request("negative-ids", List.of(1L, -7L, 2L), null)),
                    new Expectation(false, "outside the vocabulary"));
            send.send("ids-past-vocabulary", bytes(serializer, request("ids-past-vocabulary", List.of(1L, (long) TinyModels.ENCODER_VOCAB), null)),
                    new Expectation(false, "outside the vocabulary"));
            send.send("huge-id", bytes(serializer, request("huge-id", List.of(Long.MAX_VALUE), null)),
                    new Expectation(false, "outside the vocabulary"));
            send.send("empty-sequence", bytes(serializer, request("empty-sequence", List.of(), null)),
                    new Expectation(false, "empty token sequence"));
            send.send("hundred-thousand-ids", bytes(serializer, request("hundred-thousand-ids", Collections.nCopies(100_000, 3L), null)),
                    new Expectation(false, "exceeds the maximum"));
            send.send("ten-megabyte-request", bytes(serializer, request("ten-megabyte-request", Collections.nCopies(5_000_000, 3L), null)),
                    new Expectation(false, "exceeds the maximum"));
            Map<String, String> hugeAttributes = new HashMap<>();
            for (int i = 0; i < 5_000; i++) {
                hugeAttributes.put("attribute-" + i, "x".repeat(90));
            }
            send.send("huge-attributes", bytes(serializer, InferenceRequest.newBuilder(request("huge-attributes", ids(3), null))
                    .setAttributes(hugeAttributes).build()), new Expectation(false, "attributes of"));
            send.send("unknown-model", bytes(serializer, InferenceRequest.newBuilder(request("unknown-model", ids(3), null))
                    .setModelId("no-such-model").build()), new Expectation(false, "unknown model 'no-such-model'"));
            send.send("path-traversal-model", bytes(serializer, InferenceRequest.newBuilder(request("path-traversal-model", ids(3), null))
                    .setModelId("../" + MODEL).build()), new Expectation(false, "unknown model '../"));
            send.send("illegal-reply-topic", bytes(serializer, request("illegal-reply-topic", ids(3), "bad topic!")),
                    new Expectation(false, "not a legal Kafka topic name"));
            send.send("missing-reply-topic", bytes(serializer, request("missing-reply-topic", ids(3), "no.such.topic")),
                    new Expectation(false, "does not exist"));
            String longId = "L".repeat(10_000);
            send.send("long-request-id", bytes(serializer, InferenceRequest.newBuilder(request("x", ids(3), null))
                    .setRequestId(longId).build()), new Expectation(false, "request id must have"));
            send.send("empty-request-id", bytes(serializer, InferenceRequest.newBuilder(request("x", ids(3), null))
                    .setRequestId("").build()), new Expectation(false, "request id must have"));
            // Non-UTF-8 bytes where the model id goes: Avro decodes them with replacement characters.
            byte[] nonUtf8 = bytes(serializer, InferenceRequest.newBuilder(request("non-utf8-model", ids(3), null))
                    .setModelId("ZZZZ").build());
            int at = indexOf(nonUtf8, "ZZZZ".getBytes(StandardCharsets.US_ASCII));
            nonUtf8[at] = (byte) 0xFF;
            nonUtf8[at + 1] = (byte) 0xFE;
            send.send("non-utf8-model", nonUtf8, new Expectation(false, "unknown model"));
            // The same request id twice: each record is a request, and each is answered.
            InferenceRequest dup = request("duplicated-id", ids(4), null);
            producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, "duplicated-id", bytes(serializer, dup))).get();
            send.send("duplicated-id", bytes(serializer, dup), new Expectation(false, null));
        }

        // Collect what came back.
        AvroDeserializer<InferenceResponse> responses = new AvroDeserializer<>(InferenceResponse.class);
        responses.configure(cfg, false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (KafkaConsumer<String, byte[]> consumer = consumer(cfg)) {
            consumer.subscribe(List.of(Topics.RESPONSES_NAME, REPLIES, Topics.DEAD_LETTERS_NAME));
            while (System.nanoTime() < deadline && !complete()) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.topic().equals(Topics.DEAD_LETTERS_NAME)) {
                        deadLetters.put(r.key(), r);
                    } else {
                        InferenceResponse resp = responses.deserialize(r.topic(), r.value());
                        String id = resp.getRequestId().startsWith("LLLL") ? "long-request-id"
                                : resp.getRequestId().isEmpty() ? "empty-request-id" : resp.getRequestId();
                        answers.computeIfAbsent(id, k -> new ArrayList<>()).add(resp);
                    }
                }
            }
        }

    }

    @AfterAll
    void stop() {
        if (local != null) {
            local.close();
        }
    }

    Stream<String> kinds() {
        return expected.keySet().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void isAnsweredWithAReasonOrDeadLettered(String kind) {
        Expectation e = expected.get(kind);
        if (e.deadLetter()) {
            ConsumerRecord<String, byte[]> d = deadLetters.get(kind);
            assertNotNull(d, kind + " reached no dead-letter record");
            String reason = new String(d.headers().lastHeader("eestream.dlq.reason").value(), StandardCharsets.UTF_8);
            assertTrue(!reason.isBlank(), kind);
            System.out.printf("hostile input %-24s -> DLQ: %s%n", kind, reason.length() > 90 ? reason.substring(0, 90) + "…" : reason);
        } else {
            List<InferenceResponse> got = answers.get(kind);
            assertNotNull(got, kind + " got no answer");
            if (e.reasonContains() == null) {
                assertEquals(2, got.size(), kind + ": each of the two records answered");
                got.forEach(r -> assertEquals(ResponseStatus.OK, r.getStatus(), kind));
                System.out.printf("hostile input %-24s -> answered twice, OK%n", kind);
            } else {
                InferenceResponse r = got.get(0);
                assertEquals(ResponseStatus.ERROR, r.getStatus(), kind);
                assertTrue(r.getError().contains(e.reasonContains()), kind + ": " + r.getError());
                System.out.printf("hostile input %-24s -> ERROR: %s%n", kind,
                        r.getError().length() > 90 ? r.getError().substring(0, 90) + "…" : r.getError());
            }
        }
    }

    @Test
    void oversizedFieldsAreKeptInPartNotEchoedWhole() {
        assertEquals(String.valueOf(10 * 1024 * 1024),
                new String(deadLetters.get("ten-megabytes-of-noise").headers().lastHeader("eestream.dlq.truncated").value(),
                        StandardCharsets.UTF_8), "a huge dead letter is kept in part, with its size");
        assertTrue(answers.get("huge-attributes").get(0).getAttributes().isEmpty(), "huge attributes are not echoed");
        assertEquals(256, answers.get("long-request-id").get(0).getRequestId().length(), "a huge request id is echoed in part");
    }

    @Test
    void everyValidRequestBetweenThemIsAnsweredRightAndTheProcessorStaysUp() {
        OutputDecryptor decryptor = new OutputDecryptor(key);
        try (ModelSession reference = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (Map.Entry<String, long[]> v : validClear.entrySet()) {
                List<InferenceResponse> got = answers.get(v.getKey());
                assertNotNull(got, "valid request " + v.getKey() + " was answered");
                assertEquals(ResponseStatus.OK, got.get(0).getStatus(), v.getKey());
                float[] cipher = new float[got.get(0).getScores().size()];
                for (int k = 0; k < cipher.length; k++) {
                    cipher[k] = got.get(0).getScores().get(k);
                }
                float[] expect = reference.run(List.of(v.getValue()))[0];
                float[] decrypted = decryptor.embedding(cipher);
                for (int k = 0; k < expect.length; k++) {
                    assertEquals(expect[k], decrypted[k], 1e-5f, v.getKey());
                }
            }
        }
        assertEquals(KafkaStreams.State.RUNNING, local.processor().state(), "the processor stays up");
        System.out.printf("hostile input: %d kinds, %d valid requests between them, all answered correctly; processor %s%n",
                expected.size(), validClear.size(), local.processor().state());
    }

    @FunctionalInterface
    private interface Sender {
        void send(String key, byte[] value, Expectation expectation) throws Exception;
    }

    private void sendValid(KafkaProducer<String, byte[]> producer, AvroSerializer<InferenceRequest> serializer) throws Exception {
        String id = "valid-" + (validCount++);
        long[] clear = new long[1 + random.nextInt(20)];
        List<Long> cipher = new ArrayList<>();
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        for (int i = 0; i < clear.length; i++) {
            clear[i] = random.nextInt(TinyModels.ENCODER_VOCAB);
            cipher.add((long) pi.apply((int) clear[i]));
        }
        validClear.put(id, clear);
        producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, id, bytes(serializer, request(id, cipher, REPLIES)))).get();
    }

    private boolean complete() {
        for (Map.Entry<String, Expectation> e : expected.entrySet()) {
            if (e.getValue().deadLetter() ? !deadLetters.containsKey(e.getKey())
                    : answers.getOrDefault(e.getKey(), List.of()).size() < (e.getValue().reasonContains() == null ? 2 : 1)) {
                return false;
            }
        }
        return validClear.keySet().stream().allMatch(answers::containsKey);
    }

    private List<Long> ids(int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add((long) random.nextInt(TinyModels.ENCODER_VOCAB));
        }
        return out;
    }

    private static InferenceRequest request(String id, List<Long> ids, String replyTopic) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(ids).setReplyTopic(replyTopic)
                .setCreatedAt(Instant.now()).build();
    }

    private static byte[] bytes(AvroSerializer<InferenceRequest> serializer, InferenceRequest r) {
        return serializer.serialize(Topics.REQUESTS_NAME, r);
    }

    private static byte[] frame(int id, Schema schema, Map<String, Object> fields) throws Exception {
        GenericRecord rec = new GenericData.Record(schema);
        fields.forEach(rec::put);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(rec, enc);
        enc.flush();
        return WireFormat.frame(id, out.toByteArray());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalArgumentException("not found");
    }

    private static KafkaConsumer<String, byte[]> consumer(Map<String, Object> cfg) {
        Map<String, Object> c = new HashMap<>(cfg);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "hostile-check");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "16777216");
        return new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
    }
}
