package dev.eestream.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.generation.GenerationPolicy;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.topology.ProcessorTopology;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.runtime.TinyBundle;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batching rules and error routing, on a TopologyTestDriver with a real tiny EE model. */
class BatchingTopologyTest {
    private static final Topics TOPICS = Topics.DEFAULT;
    private static final String MODEL = "tiny-embed";

    @TempDir
    Path modelDir;

    private ModelManifest model;
    private ModelRepository repository;
    private final ProcessorMetrics metrics = ProcessorMetrics.inMemory();
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> requests;
    private TestOutputTopic<String, InferenceResponse> responses;
    private final Random random = new Random(3);
    private int next;

    @BeforeEach
    void setUp() throws Exception {
        model = TinyBundle.writeTo(modelDir, MODEL);
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
    }

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        repository.close();
    }

    private void start(BatchPolicy policy) {
        start(policy, InferenceWorker.inline());
    }

    private void start(BatchPolicy policy, InferenceWorker worker) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "batching-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(ProcessorTopology.build(TOPICS, repository, TopicExistence.assumeAll(), policy, worker,
                GenerationEngine.on(Runnable::run, GenerationPolicy.DEFAULT), metrics,
                PlainAvro.deserializer(InferenceRequest.class), PlainAvro.serializer(InferenceResponse.class)), props,
                Instant.ofEpochMilli(1_000_000));
        requests = driver.createInputTopic(TOPICS.requests().name(), new StringSerializer(), new ByteArraySerializer());
        responses = driver.createOutputTopic(TOPICS.responses().name(), new StringDeserializer(),
                PlainAvro.deserializer(InferenceResponse.class));
    }

    private InferenceRequest request(int length) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            ids.add((long) random.nextInt(model.vocabSize()));
        }
        return InferenceRequest.newBuilder().setRequestId("r" + (next++)).setModelId(MODEL).setTokenIds(ids)
                .setCreatedAt(Instant.ofEpochMilli(5)).setAttributes(Map.of("doc", "d" + next)).build();
    }

    private void send(InferenceRequest r) {
        requests.pipeInput(r.getRequestId(), PlainAvro.serializer(InferenceRequest.class).serialize("t", r));
    }

    @Test
    void flushesWhenTheBatchIsFull() {
        start(new BatchPolicy(4, 100_000, Duration.ofHours(1)));
        for (int i = 0; i < 3; i++) {
            send(request(5));
        }
        driver.advanceWallClockTime(Duration.ofSeconds(10));
        assertTrue(responses.isEmpty(), "three of four: nothing yet");
        send(request(5));
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(4, out.size());
        out.forEach(r -> assertEquals(4, r.getBatchSize()));
        out.forEach(r -> assertEquals(ResponseStatus.OK, r.getStatus()));
        var registry = metrics.registry();
        assertEquals(4.0, registry.get(Topics.REQUESTS_NAME).tags("model", MODEL, "outcome", "ok").counter().count());
        assertEquals(1, registry.get("eestream.batch.size").tags("model", MODEL).summary().count());
        assertEquals(4.0, registry.get("eestream.batch.size").tags("model", MODEL).summary().totalAmount());
        assertEquals(20.0, registry.get("eestream.tokens").tags("model", MODEL, "device", "cpu").counter().count());
        assertEquals(0.0, registry.get("eestream.padding.ratio").tags("model", MODEL).summary().max(), "equal lengths: no padding");
    }

    @Test
    void aRequestPastItsDeadlineIsAnsweredExpiredWithoutInference() {
        start(new BatchPolicy(4, 100_000, Duration.ofMillis(500)));
        long now = 1_000_000;
        InferenceRequest late = InferenceRequest.newBuilder(request(5)).setDeadline(Instant.ofEpochMilli(now - 1)).build();
        send(late);
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(1, out.size(), "answered at once, not batched");
        assertEquals(ResponseStatus.EXPIRED, out.get(0).getStatus());
        assertTrue(out.get(0).getError().contains("passed 1 ms before it could start"), out.get(0).getError());
        assertNull(out.get(0).getScores());
        assertNull(out.get(0).getFinishReason(), "an encoder answer has no finish reason");
        assertEquals(late.getAttributes(), out.get(0).getAttributes());

        // Deadlines that pass while the requests wait for their batch: only those are expired at the flush.
        InferenceRequest waits = InferenceRequest.newBuilder(request(5)).setDeadline(Instant.ofEpochMilli(now + 200)).build();
        InferenceRequest patient = InferenceRequest.newBuilder(request(5)).setDeadline(Instant.ofEpochMilli(now + 5_000)).build();
        InferenceRequest none = request(5);
        send(waits);
        send(patient);
        send(none);
        assertTrue(responses.isEmpty());
        driver.advanceWallClockTime(Duration.ofMillis(600));
        Map<String, InferenceResponse> byId = new java.util.HashMap<>();
        responses.readValuesToList().forEach(r -> byId.put(r.getRequestId(), r));
        assertEquals(3, byId.size());
        assertEquals(ResponseStatus.EXPIRED, byId.get(waits.getRequestId()).getStatus());
        assertEquals(ResponseStatus.OK, byId.get(patient.getRequestId()).getStatus());
        assertEquals(ResponseStatus.OK, byId.get(none.getRequestId()).getStatus());
        assertEquals(2, byId.get(patient.getRequestId()).getBatchSize(), "the expired request did not run");
        var registry = metrics.registry();
        assertEquals(2.0, registry.get(Topics.REQUESTS_NAME).tags("model", MODEL, "outcome", "expired").counter().count());
        assertEquals(2.0, registry.get(Topics.REQUESTS_NAME).tags("model", MODEL, "outcome", "ok").counter().count());
        assertEquals(2.0, registry.get("eestream.tokens").tags("model", MODEL, "device", "cpu").counter().count() / 5);
    }

    @Test
    void flushesAtTheTokenBudgetAndCutsBatchesByPaddedTokens() {
        start(new BatchPolicy(100, 20, Duration.ofHours(1)));
        send(request(8));
        send(request(8));
        assertTrue(responses.isEmpty(), "16 of 20 tokens: nothing yet");
        send(request(8));
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(3, out.size());
        // 3 × 8 = 24 padded tokens exceed the budget of 20: the flush is cut into batches of 2 and 1.
        assertEquals(List.of(1, 2, 2), out.stream().map(InferenceResponse::getBatchSize).sorted().toList());
    }

    @Test
    void flushesAfterTheDelay() {
        start(new BatchPolicy(100, 100_000, Duration.ofMillis(50)));
        send(request(3));
        send(request(9));
        driver.advanceWallClockTime(Duration.ofMillis(40));
        assertTrue(responses.isEmpty(), "40 of 50 ms: nothing yet");
        driver.advanceWallClockTime(Duration.ofMillis(20));
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(2, out.size());
        out.forEach(r -> assertEquals(2, r.getBatchSize()));
        out.forEach(r -> assertTrue(r.getQueuedMs() >= 50, "queued " + r.getQueuedMs() + " ms"));
    }

    @Test
    void answersEqualTheModelRunAloneAndAttributesTravelBack() {
        start(new BatchPolicy(8, 100_000, Duration.ofMillis(10)));
        List<InferenceRequest> sent = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            InferenceRequest r = request(1 + random.nextInt(model.maxSequenceLength()));
            sent.add(r);
            send(r);
        }
        driver.advanceWallClockTime(Duration.ofMillis(20));
        Map<String, InferenceResponse> byId = new java.util.HashMap<>();
        responses.readValuesToList().forEach(r -> byId.put(r.getRequestId(), r));
        assertEquals(20, byId.size());
        try (ModelSession alone = ModelSession.open(TinyBundle.modelBytes(), model)) {
            for (InferenceRequest r : sent) {
                InferenceResponse resp = byId.get(r.getRequestId());
                assertEquals(r.getAttributes(), resp.getAttributes());
                assertEquals(r.getCreatedAt(), resp.getCreatedAt());
                float[] expected = alone.run(List.of(r.getTokenIds().stream().mapToLong(Long::longValue).toArray()))[0];
                for (int k = 0; k < expected.length; k++) {
                    assertEquals(expected[k], resp.getScores().get(k), 1e-5f, "output " + k + " of " + r.getRequestId());
                }
            }
        }
    }

    @Test
    void invalidRequestsGetErrorsAndUndecodableBytesGoToTheDeadLetterTopic() {
        start(new BatchPolicy(1, 100_000, Duration.ofMillis(10)));
        TestOutputTopic<String, byte[]> dlq = driver.createOutputTopic(TOPICS.deadLetters().name(), new StringDeserializer(),
                new ByteArrayDeserializer());
        send(InferenceRequest.newBuilder(request(3)).setModelId("no-such-model").build());
        send(InferenceRequest.newBuilder(request(3)).setTokenIds(List.of(1L, (long) model.vocabSize())).build());
        send(InferenceRequest.newBuilder(request(3)).setTokenIds(List.of(-1L)).build());
        send(InferenceRequest.newBuilder(request(3)).setTokenIds(Collections.emptyList()).build());
        send(request(model.maxSequenceLength() + 1));
        send(InferenceRequest.newBuilder(request(3)).setReplyTopic("bad topic!").build());
        requests.pipeInput("junk", "this is not avro at all, not even close".getBytes(StandardCharsets.UTF_8));
        requests.pipeInput("null-value", (byte[]) null);
        send(request(4));
        List<String> errors = new ArrayList<>();
        InferenceResponse last = null;
        while (!responses.isEmpty()) {
            last = responses.readValue();
            if (last.getStatus() == ResponseStatus.ERROR) {
                errors.add(last.getError());
            }
        }
        assertEquals(6, errors.size(), errors.toString());
        assertTrue(errors.get(0).contains("unknown model 'no-such-model'"), errors.get(0));
        assertTrue(errors.get(1).contains("outside the vocabulary"), errors.get(1));
        assertTrue(errors.get(2).contains("outside the vocabulary"), errors.get(2));
        assertTrue(errors.get(3).contains("empty token sequence"), errors.get(3));
        assertTrue(errors.get(4).contains("exceeds the maximum of " + model.maxSequenceLength()), errors.get(4));
        assertTrue(errors.get(5).contains("not a legal Kafka topic name"), errors.get(5));
        assertNotNull(last);
        assertEquals(ResponseStatus.OK, last.getStatus(), "the stream keeps going after bad input");
        List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
        assertEquals(2, dead.size());
        assertEquals("junk", dead.get(0).key());
        String reason = new String(dead.get(0).headers().lastHeader("eestream.dlq.reason").value(), StandardCharsets.UTF_8);
        assertTrue(reason.contains("not an Avro InferenceRequest"), reason);
        assertNotNull(dead.get(0).headers().lastHeader("eestream.dlq.offset"));
    }

    @Test
    void withInferenceOffTheStreamThreadEveryRequestIsAnsweredExactlyOnce() throws Exception {
        try (InferenceWorker worker = InferenceWorker.async(1)) {
            start(new BatchPolicy(4, 100_000, Duration.ofMillis(5)), worker);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 37; i++) {
                InferenceRequest r = request(1 + random.nextInt(20));
                ids.add(r.getRequestId());
                send(r);
            }
            List<InferenceResponse> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < ids.size() && System.nanoTime() < deadline) {
                driver.advanceWallClockTime(Duration.ofMillis(5)); // punctuation forwards finished batches
                out.addAll(responses.readValuesToList());
                Thread.sleep(2);
            }
            assertEquals(ids.size(), out.size());
            assertEquals(new java.util.HashSet<>(ids), out.stream().map(InferenceResponse::getRequestId)
                    .collect(java.util.stream.Collectors.toSet()), "each request answered once");
            out.forEach(r -> assertEquals(ResponseStatus.OK, r.getStatus()));
            assertTrue(driver.<String, byte[]>getKeyValueStore("eestream-pending-requests").approximateNumEntries() == 0,
                    "answered requests leave the store");
        }
    }

    @Test
    void responsesGoToTheRequestsReplyTopic() {
        start(new BatchPolicy(1, 100_000, Duration.ofMillis(10)));
        TestOutputTopic<String, InferenceResponse> replies = driver.createOutputTopic("client-7.replies",
                new StringDeserializer(), PlainAvro.deserializer(InferenceResponse.class));
        send(InferenceRequest.newBuilder(request(3)).setReplyTopic("client-7.replies").build());
        send(request(3));
        assertEquals(1, replies.readValuesToList().size());
        assertEquals(1, responses.readValuesToList().size());
    }
    /**
     * A model encrypted with length buckets: a request padded after its end id answers exactly as the request alone (the
     * filler never reaches the model), and one without an end id runs whole. The same padding on a model without end
     * ids changes the answer, so the cut is what keeps it exact.
     */
    @Test
    void aPaddedRequestIsCutAfterItsFirstEndIdAndAnswersAsTheRequestAlone() throws Exception {
        long end = 7;
        repository.close();
        ModelBundle.in(modelDir, "tiny-padded").write(TinyBundle.modelBytes(),
                TinyBundle.manifest().withModelId("tiny-padded").withEndIds(new long[] {end, 41}), false);
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
        start(new BatchPolicy(1, 100_000, Duration.ofMillis(10)));
        List<Long> alone = List.of(3L, 12L, 25L, 8L, end);
        List<Long> padded = new ArrayList<>(alone);
        for (long filler : new long[] {19, 41, 2, end, 33, 0, 48, 11, 5, 30, 17}) {
            padded.add(filler);
        }
        Map<String, List<Float>> scores = new HashMap<>();
        for (String m : List.of("tiny-padded", MODEL)) {
            for (Map.Entry<String, List<Long>> e : Map.of("alone", alone, "padded", padded).entrySet()) {
                send(InferenceRequest.newBuilder(request(1)).setRequestId(m + "/" + e.getKey()).setModelId(m)
                        .setTokenIds(e.getValue()).build());
                InferenceResponse r = responses.readValue();
                assertEquals(ResponseStatus.OK, r.getStatus(), r.getError());
                scores.put(r.getRequestId(), r.getScores());
            }
        }
        assertEquals(scores.get("tiny-padded/alone"), scores.get("tiny-padded/padded"), "bit for bit");
        assertEquals(scores.get(MODEL + "/alone"), scores.get("tiny-padded/alone"), "the same model, the same request");
        assertNotEquals(scores.get(MODEL + "/alone"), scores.get(MODEL + "/padded"), "without the cut the filler counts");

        // No end id in the request: nothing is cut.
        List<Long> noEnd = List.of(3L, 12L, 25L, 8L, 9L);
        for (String m : List.of("tiny-padded", MODEL)) {
            send(InferenceRequest.newBuilder(request(1)).setRequestId(m + "/no-end").setModelId(m).setTokenIds(noEnd).build());
            scores.put(m + "/no-end", responses.readValue().getScores());
        }
        assertEquals(scores.get(MODEL + "/no-end"), scores.get("tiny-padded/no-end"));
    }
}
