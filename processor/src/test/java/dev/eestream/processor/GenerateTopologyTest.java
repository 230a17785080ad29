package dev.eestream.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.generation.GenerationPolicy;
import dev.eestream.processor.generation.KvCacheBudget;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.topology.ProcessorTopology;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.runtime.TinyBundle;
import dev.eestream.runtime.TinyDecoderBundle;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation over the whole topology with the tiny EE decoder: tokens decrypted with π⁻¹ equal the
 * plaintext decoder's greedy tokens, requests join and leave the running set between decode steps,
 * every finish reason, repeatable sampling, and encoder requests served beside generations. Decode
 * iterations run when the test says, one at a time, so joining mid-run is deterministic.
 */
class GenerateTopologyTest {
    private static final Topics TOPICS = Topics.DEFAULT;
    private static final String DECODER = TinyDecoderBundle.MODEL_ID;
    private static final String ENCODER = "tiny-embed";
    private static final String LYING = "tiny-decoder-lying";
    private static final Duration STREAM_INTERVAL = Duration.ofMillis(30);

    @TempDir
    Path modelDir;

    private ModelManifest decoder;
    private ModelRepository repository;
    private final ProcessorMetrics metrics = ProcessorMetrics.inMemory();
    /** Decode iterations waiting to run; the test runs them. */
    private final Queue<Runnable> iterations = new ArrayDeque<>();
    private GenerationEngine engine;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> requests;
    private TestOutputTopic<String, InferenceResponse> responses;
    private final int[] pi = TinyDecoderBundle.pi();
    private final int[] piInverse = new int[pi.length];
    private final Random random = new Random(17);
    private int next;

    @BeforeEach
    void setUp() throws Exception {
        decoder = TinyDecoderBundle.writeTo(modelDir, DECODER);
        TinyBundle.writeTo(modelDir, ENCODER);
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
        for (int t = 0; t < pi.length; t++) {
            piInverse[pi[t]] = t;
        }
    }

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        repository.close();
    }

    private void start(int maxSequences) {
        start(new GenerationPolicy(maxSequences, STREAM_INTERVAL));
    }

    private void start(GenerationPolicy policy) {
        engine = GenerationEngine.on(iterations::add, policy, metrics.decodeObserver());
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "generate-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(ProcessorTopology.build(TOPICS, repository, TopicExistence.assumeAll(),
                new BatchPolicy(1, 100_000, Duration.ofMillis(5)), InferenceWorker.inline(), engine, metrics,
                PlainAvro.deserializer(InferenceRequest.class), PlainAvro.serializer(InferenceResponse.class)), props,
                Instant.ofEpochMilli(1_000_000));
        requests = driver.createInputTopic(TOPICS.requests().name(), new StringSerializer(), new ByteArraySerializer());
        responses = driver.createOutputTopic(TOPICS.responses().name(), new StringDeserializer(),
                PlainAvro.deserializer(InferenceResponse.class));
    }

    private long[] plainPrompt(int length) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = random.nextInt(decoder.vocabSize());
        }
        return ids;
    }

    private List<Long> encrypt(long[] plain) {
        List<Long> out = new ArrayList<>();
        for (long t : plain) {
            out.add((long) pi[(int) t]);
        }
        return out;
    }

    private long[] decrypt(List<Long> cipher) {
        return cipher.stream().mapToLong(c -> piInverse[c.intValue()]).toArray();
    }

    private InferenceRequest request(long[] plainPrompt, GenerationParams params) {
        return InferenceRequest.newBuilder().setRequestId("g" + (next++)).setModelId(DECODER).setTokenIds(encrypt(plainPrompt))
                .setCreatedAt(Instant.ofEpochMilli(5)).setAttributes(Map.of("n", Integer.toString(next))).setGeneration(params)
                .build();
    }

    private static GenerationParams.Builder params() {
        return GenerationParams.newBuilder();
    }

    private void send(InferenceRequest r) {
        requests.pipeInput(r.getRequestId(), PlainAvro.serializer(InferenceRequest.class).serialize("t", r));
    }

    /**
     * Alternates punctuation (admission, forwarding) and one decode iteration until {@code count}
     * answers have come; returns them by request id, failing on a second answer to any request.
     */
    private Map<String, InferenceResponse> answers(int count) {
        Map<String, InferenceResponse> byId = new HashMap<>();
        for (int round = 0; round < 10_000 && byId.size() < count; round++) {
            driver.advanceWallClockTime(Duration.ofMillis(10));
            for (InferenceResponse r : responses.readValuesToList()) {
                assertNull(byId.put(r.getRequestId(), r), "a second answer to " + r.getRequestId());
            }
            Runnable iteration = iterations.poll();
            if (iteration != null) {
                iteration.run();
            }
        }
        assertEquals(count, byId.size(), "answers");
        return byId;
    }

    private long pendingInStore() {
        return driver.<String, byte[]>getKeyValueStore(PendingStore.STORE_NAME).approximateNumEntries();
    }

    @Test
    void greedyGenerationOverThePipelineEqualsPlaintextGreedyGeneration() {
        int maxSequences = 6;
        start(maxSequences);
        List<long[]> prompts = new ArrayList<>();
        List<InferenceRequest> sent = new ArrayList<>();
        Map<String, Set<Long>> plainStops = new HashMap<>();
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            for (int i = 0; i < 24; i++) {
                // Lengths 1 to 47 (47 leaves room for one token); budgets from 1 to the default 64 (null params).
                long[] prompt = plainPrompt(i == 0 ? decoder.maxSequenceLength() - 1 : 1 + random.nextInt(40));
                int budget = 1 + random.nextInt(30);
                // Every fourth request stops at the third token it would generate (or earlier, where that token comes first).
                long[] free = plain.greedy(prompt, budget, Set.of()).ids();
                Set<Long> stops = i % 4 == 1 && free.length >= 3 ? Set.of(free[2]) : Set.of();
                GenerationParams p = i % 3 == 0 ? null : params().setMaxNewTokens(budget)
                        .setStopTokenIds(stops.stream().map(s -> (long) pi[s.intValue()]).toList()).build();
                InferenceRequest r = request(prompt, p);
                prompts.add(prompt);
                sent.add(r);
                plainStops.put(r.getRequestId(), p == null ? Set.of() : stops);
                send(r);
            }
        }
        Map<String, InferenceResponse> byId = new HashMap<>();
        int mostRunning = 0;
        int mostAdmitted = 0;
        for (int round = 0; round < 10_000 && byId.size() < sent.size(); round++) {
            driver.advanceWallClockTime(Duration.ofMillis(10));
            responses.readValuesToList().forEach(r -> assertNull(byId.put(r.getRequestId(), r), r.getRequestId()));
            mostRunning = Math.max(mostRunning, engine.running(DECODER));
            mostAdmitted = Math.max(mostAdmitted, engine.admitted(DECODER));
            Runnable iteration = iterations.poll();
            if (iteration != null) {
                iteration.run();
            }
        }
        assertEquals(sent.size(), byId.size());
        assertEquals(maxSequences, mostRunning, "admission control: at most " + maxSequences + " sequences at once");
        assertEquals(2 * maxSequences, mostAdmitted, "as many again wait in the loop for a free slot");
        Set<Integer> batchSizes = new HashSet<>();
        Set<FinishReason> reasons = new HashSet<>();
        long generatedTotal = 0;
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            for (int i = 0; i < sent.size(); i++) {
                InferenceRequest r = sent.get(i);
                InferenceResponse resp = byId.get(r.getRequestId());
                int budget = r.getGeneration() == null ? 64 : r.getGeneration().getMaxNewTokens();
                Generation want = plain.greedy(prompts.get(i), budget, plainStops.get(r.getRequestId()));
                assertEquals(ResponseStatus.OK, resp.getStatus(), resp.getError());
                assertEquals(java.util.Arrays.toString(want.ids()), java.util.Arrays.toString(decrypt(resp.getTokenIds())),
                        "request " + i + " with a prompt of " + prompts.get(i).length);
                assertEquals(want.finishReason().name(), resp.getFinishReason().name(), "request " + i);
                assertEquals(prompts.get(i).length, resp.getPromptTokens());
                assertEquals(want.ids().length, resp.getGeneratedTokens());
                assertEquals(0, resp.getChunk());
                assertTrue(resp.getFinalChunk());
                assertEquals(r.getAttributes(), resp.getAttributes());
                assertTrue(resp.getBatchSize() >= 1 && resp.getBatchSize() <= maxSequences, "batch " + resp.getBatchSize());
                batchSizes.add(resp.getBatchSize());
                reasons.add(resp.getFinishReason());
                generatedTotal += want.ids().length;
            }
        }
        assertTrue(batchSizes.size() > 1, "sequences joined and left a running batch: " + batchSizes);
        assertEquals(Set.of(FinishReason.STOP, FinishReason.LENGTH), reasons);
        assertEquals(1, byId.get(sent.get(0).getRequestId()).getGeneratedTokens(), "a prompt of context - 1 leaves one token");
        assertEquals(0, pendingInStore(), "answered requests leave the store");
        assertEquals(0, engine.running(DECODER));
        var registry = metrics.registry();
        assertEquals((double) generatedTotal, registry.get("eestream.generated.tokens").tags("model", DECODER).counter().count());
        assertEquals(sent.size(), registry.get("eestream.time.to.first.token").tags("model", DECODER).timer().count());
        assertEquals(sent.size(), registry.get("eestream.requests").tags("model", DECODER, "outcome", "ok").counter().count());
        // Every token after a generation's first is timed from the one before it.
        assertEquals(generatedTotal - sent.size(), registry.get("eestream.inter.token").tags("model", DECODER).timer().count());
        assertEquals(0, engine.budget().reserved(), "finished generations give their KV-cache reservation back");
        assertEquals(0, engine.kvCacheBytes());
    }

    @Test
    void theKvCacheBudgetBoundsRunningSequencesAndRefusesAGenerationThatCouldNeverFit() {
        long perSequence = KvCacheBudget.worstCase(decoder, 4, 8);
        assertEquals(12L * 2 * decoder.layerCount() * decoder.kvHeads() * decoder.headSize() * Float.BYTES, perSequence);
        start(new GenerationPolicy(16, STREAM_INTERVAL, 2 * perSequence));
        List<long[]> prompts = new ArrayList<>();
        List<InferenceRequest> sent = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            long[] prompt = plainPrompt(4);
            InferenceRequest r = request(prompt, params().setMaxNewTokens(8).build());
            prompts.add(prompt);
            sent.add(r);
            send(r);
        }
        // Prompt and budget together fill 44 of 48 positions: more than the whole KV-cache budget.
        InferenceRequest tooBig = request(plainPrompt(4), params().setMaxNewTokens(40).build());
        send(tooBig);
        Map<String, InferenceResponse> byId = new HashMap<>();
        int mostRunning = 0;
        long mostHeld = 0;
        for (int round = 0; round < 10_000 && byId.size() < sent.size() + 1; round++) {
            driver.advanceWallClockTime(Duration.ofMillis(10));
            responses.readValuesToList().forEach(r -> assertNull(byId.put(r.getRequestId(), r), r.getRequestId()));
            mostRunning = Math.max(mostRunning, engine.running(DECODER));
            assertTrue(engine.budget().reserved() <= 2 * perSequence, "reserved " + engine.budget().reserved());
            Runnable iteration = iterations.poll();
            if (iteration != null) {
                iteration.run();
            }
            mostHeld = Math.max(mostHeld, engine.kvCacheBytes());
            assertTrue(engine.kvCacheBytes() <= engine.budget().reserved(), "held " + engine.kvCacheBytes());
        }
        assertEquals(sent.size() + 1, byId.size());
        assertEquals(2, mostRunning, "the budget holds two such sequences at once, though 16 are allowed");
        assertTrue(mostHeld > 0, "the running sequences' caches are counted");
        InferenceResponse refused = byId.get(tooBig.getRequestId());
        assertEquals(ResponseStatus.ERROR, refused.getStatus());
        assertEquals(FinishReason.ERROR, refused.getFinishReason());
        assertTrue(refused.getError().contains("needs " + KvCacheBudget.worstCase(decoder, 4, 40) + " bytes of KV cache")
                && refused.getError().contains("generate.kv.cache.max.bytes"), refused.getError());
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            for (int i = 0; i < sent.size(); i++) {
                InferenceResponse resp = byId.get(sent.get(i).getRequestId());
                assertEquals(ResponseStatus.OK, resp.getStatus(), resp.getError());
                assertEquals(java.util.Arrays.toString(plain.greedy(prompts.get(i), 8, Set.of()).ids()),
                        java.util.Arrays.toString(decrypt(resp.getTokenIds())), "request " + i);
            }
        }
        assertEquals(0, engine.budget().reserved());
        assertEquals(0, pendingInStore());
    }

    @Test
    void aPrefillThatFailsIsRetriedInHalvesSoOnlyTheFailingPromptFails() throws Exception {
        // The manifest promises a vocabulary of 80 ids, the model's embedding table has 64 rows: ONNX
        // Runtime fails any batch that holds an id from 64 on, a real failure inside the model.
        ModelBundle.in(modelDir, LYING).write(TinyDecoderBundle.modelBytes(), new ModelManifest(decoder.format(),
                decoder.version(), LYING, decoder.task(), decoder.encryptionId(), decoder.idsInput(), decoder.attentionMaskInput(),
                decoder.tokenTypeIdsInput(), decoder.output(), decoder.outputWidth(), 80, decoder.hiddenSize(),
                decoder.maxSequenceLength(), 0, decoder.layerCount(), decoder.kvHeads(),
                decoder.headSize()), false);
        repository.close();
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
        start(8);
        List<long[]> prompts = new ArrayList<>();
        List<InferenceRequest> sent = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            long[] prompt = plainPrompt(3 + i);
            InferenceRequest r = InferenceRequest.newBuilder(request(prompt, params().setMaxNewTokens(6).build())).setModelId(LYING)
                    .build();
            if (i == 2) {
                List<Long> ids = new ArrayList<>(r.getTokenIds());
                ids.set(1, 70L);
                r = InferenceRequest.newBuilder(r).setTokenIds(ids).build();
            }
            prompts.add(prompt);
            sent.add(r);
            send(r);
        }
        Map<String, InferenceResponse> byId = answers(sent.size());
        InferenceResponse failed = byId.get(sent.get(2).getRequestId());
        assertEquals(ResponseStatus.ERROR, failed.getStatus());
        assertTrue(failed.getError().startsWith("prefill failed: "), failed.getError());
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            for (int i = 0; i < sent.size(); i++) {
                if (i != 2) {
                    InferenceResponse resp = byId.get(sent.get(i).getRequestId());
                    assertEquals(ResponseStatus.OK, resp.getStatus(), resp.getError());
                    assertEquals(java.util.Arrays.toString(plain.greedy(prompts.get(i), 6, Set.of()).ids()),
                            java.util.Arrays.toString(decrypt(resp.getTokenIds())), "request " + i);
                }
            }
        }
        // 6 fail, then the half of 3 holding the bad prompt, then the 2 of those holding it.
        assertEquals(3.0, metrics.registry().get("eestream.batch.splits").tags("model", LYING).counter().count());
        assertEquals(0, engine.budget().reserved());
    }

    @Test
    void aGenerationPastItsDeadlineIsExpiredAndOneThatReachesItEndsWithDeadline() throws Exception {
        start(4);
        long now = 1_000_000;
        InferenceRequest late = InferenceRequest.newBuilder(request(plainPrompt(5), params().setMaxNewTokens(10).build()))
                .setDeadline(Instant.ofEpochMilli(now - 30)).build();
        send(late);
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(1, out.size(), "answered at once");
        assertEquals(ResponseStatus.EXPIRED, out.get(0).getStatus());
        assertEquals(FinishReason.DEADLINE, out.get(0).getFinishReason());
        assertTrue(out.get(0).getTokenIds() == null || out.get(0).getTokenIds().isEmpty());
        assertTrue(iterations.isEmpty(), "no decoding for an expired request");

        // The deadline is on the processor's clock; the decode thread keeps it on its own monotonic clock.
        long[] prompt = plainPrompt(5);
        InferenceRequest cut = InferenceRequest.newBuilder(request(prompt, params().setMaxNewTokens(40).build()))
                .setDeadline(Instant.ofEpochMilli(now + 1_500)).build();
        InferenceRequest free = request(prompt, params().setMaxNewTokens(40).build());
        send(cut);
        send(free);
        for (int i = 0; i < 4; i++) {
            iterations.poll().run();
        }
        Thread.sleep(1_600);
        Map<String, InferenceResponse> byId = answers(2);
        InferenceResponse partial = byId.get(cut.getRequestId());
        assertEquals(ResponseStatus.OK, partial.getStatus());
        assertEquals(FinishReason.DEADLINE, partial.getFinishReason());
        assertEquals(4, partial.getTokenIds().size(), "the tokens chosen in the 4 iterations before the deadline");
        InferenceResponse whole = byId.get(free.getRequestId());
        assertEquals(FinishReason.LENGTH, whole.getFinishReason());
        assertEquals(whole.getTokenIds().subList(0, 4), partial.getTokenIds(), "what it generated is the undisturbed prefix");
        assertEquals(1.0, metrics.registry().get("eestream.requests").tags("model", DECODER, "outcome", "expired").counter().count());
        assertEquals(0, engine.budget().reserved());
        assertEquals(0, pendingInStore());
    }

    @Test
    void aStopIdEndsTheGenerationWithStop() {
        start(4);
        long[] prompt = plainPrompt(6);
        long[] free;
        try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
            free = plain.greedy(prompt, 20, Set.of()).ids();
        }
        int at = 2;
        while (at < free.length && contains(free, at, free[at])) {
            at++; // the first token not generated before, so the stop comes exactly there
        }
        assertTrue(at < free.length, "the tiny decoder repeats itself: " + java.util.Arrays.toString(free));
        InferenceRequest r = request(prompt, params().setMaxNewTokens(20).setStopTokenIds(List.of((long) pi[(int) free[at]])).build());
        send(r);
        InferenceResponse resp = answers(1).get(r.getRequestId());
        assertEquals(FinishReason.STOP, resp.getFinishReason());
        assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOf(free, at + 1)), java.util.Arrays.toString(decrypt(resp.getTokenIds())),
                "the stop id ends the generation and is its last id");
    }

    private static boolean contains(long[] ids, int before, long id) {
        for (int i = 0; i < before; i++) {
            if (ids[i] == id) {
                return true;
            }
        }
        return false;
    }

    @Test
    void maxNewTokensEndsTheGenerationWithLength() {
        start(4);
        InferenceRequest r = request(plainPrompt(5), params().setMaxNewTokens(7).build());
        send(r);
        InferenceResponse resp = answers(1).get(r.getRequestId());
        assertEquals(FinishReason.LENGTH, resp.getFinishReason());
        assertEquals(7, resp.getTokenIds().size());
        assertEquals(7, resp.getGeneratedTokens());
        assertEquals(5, resp.getPromptTokens());
    }

    @Test
    void invalidGenerateRequestsGetErrorResponsesWithAReason() {
        start(4);
        int context = decoder.maxSequenceLength();
        send(request(plainPrompt(context), null));
        send(request(plainPrompt(context + 5), null));
        send(InferenceRequest.newBuilder(request(plainPrompt(3), null)).setTokenIds(List.of()).build());
        send(InferenceRequest.newBuilder(request(plainPrompt(3), null)).setTokenIds(List.of(2L, (long) decoder.vocabSize())).build());
        send(request(plainPrompt(3), params().setMaxNewTokens(0).build()));
        send(request(plainPrompt(3), params().setTemperature(-1f).build()));
        send(request(plainPrompt(3), params().setTopP(0f).build()));
        send(request(plainPrompt(3), params().setStopTokenIds(List.of(-4L)).build()));
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(8, out.size(), "invalid requests are answered at once");
        List<String> expected = List.of("prompt of " + context + " tokens leaves no room to generate",
                "prompt of " + (context + 5) + " tokens leaves no room", "empty token sequence", "outside the vocabulary",
                "maxNewTokens must be at least 1", "temperature must be 0", "topP must be in (0, 1]", "stop token id -4 is outside");
        for (int i = 0; i < out.size(); i++) {
            assertEquals(ResponseStatus.ERROR, out.get(i).getStatus());
            assertEquals(FinishReason.ERROR, out.get(i).getFinishReason());
            assertTrue(out.get(i).getError().contains(expected.get(i)), out.get(i).getError());
        }
        assertEquals(0, pendingInStore());
    }

    @Test
    void samplingWithTheSameSeedGivesTheSameTokens() {
        start(8);
        long[] prompt = plainPrompt(4);
        GenerationParams sampled = params().setMaxNewTokens(24).setTemperature(1.5f).setTopK(40).setTopP(0.95f).setSeed(42L).build();
        InferenceRequest first = request(prompt, sampled);
        InferenceRequest again = request(prompt, sampled);
        InferenceRequest otherSeed = request(prompt, GenerationParams.newBuilder(sampled).setSeed(43L).build());
        InferenceRequest greedy = request(prompt, params().setMaxNewTokens(24).build());
        for (InferenceRequest r : List.of(first, again, otherSeed, greedy)) {
            send(r);
        }
        Map<String, InferenceResponse> byId = answers(4);
        List<Long> a = byId.get(first.getRequestId()).getTokenIds();
        assertEquals(24, a.size());
        assertEquals(a, byId.get(again.getRequestId()).getTokenIds(), "same request and seed, same tokens");
        assertNotEquals(a, byId.get(otherSeed.getRequestId()).getTokenIds(), "another seed draws other tokens");
        assertNotEquals(a, byId.get(greedy.getRequestId()).getTokenIds(), "sampling at temperature 1.5 is not greedy");
        // Without a seed, the request id seeds the sampler: the same request sent again draws the same tokens.
        InferenceRequest unseeded = request(prompt, GenerationParams.newBuilder(sampled).setSeed(null).build());
        send(unseeded);
        List<Long> once = answers(1).get(unseeded.getRequestId()).getTokenIds();
        send(unseeded);
        assertEquals(once, answers(1).get(unseeded.getRequestId()).getTokenIds());
    }

    @Test
    void encoderRequestsAreAnsweredWhileGenerationsRun() {
        start(4);
        List<InferenceRequest> generations = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            InferenceRequest r = request(plainPrompt(3 + i), params().setMaxNewTokens(30).build());
            generations.add(r);
            send(r);
        }
        driver.advanceWallClockTime(Duration.ofMillis(10));
        for (int i = 0; i < 3; i++) {
            iterations.poll().run();
        }
        assertEquals(4, engine.running(DECODER), "the generations are running");
        InferenceRequest embed = InferenceRequest.newBuilder().setRequestId("embed-1").setModelId(ENCODER)
                .setTokenIds(List.of(1L, 2L, 3L)).setGeneration(params().setMaxNewTokens(5).build()).build();
        send(embed);
        List<InferenceResponse> out = responses.readValuesToList();
        assertEquals(1, out.size(), "the encoder answer does not wait for the generations");
        assertEquals("embed-1", out.get(0).getRequestId());
        assertEquals(ResponseStatus.OK, out.get(0).getStatus());
        assertEquals(TinyBundle.manifest().outputWidth(), out.get(0).getScores().size());
        assertNull(out.get(0).getFinishReason(), "generation parameters on an encoder request are ignored");
        assertEquals(4, answers(4).size());
        assertEquals(0, pendingInStore());
    }

    @Test
    void aStreamedGenerationSendsNumberedChunksThatAddUpToTheUnstreamedAnswer() {
        start(4);
        long[] prompt = plainPrompt(5);
        InferenceRequest streamed = request(prompt, params().setMaxNewTokens(25).setStream(true).build());
        InferenceRequest whole = request(prompt, params().setMaxNewTokens(25).build());
        send(streamed);
        send(whole);
        List<InferenceResponse> chunks = new ArrayList<>();
        InferenceResponse unstreamed = null;
        for (int round = 0; round < 1_000 && (unstreamed == null || chunks.isEmpty() || !chunks.get(chunks.size() - 1).getFinalChunk());
                round++) {
            driver.advanceWallClockTime(Duration.ofMillis(10));
            for (InferenceResponse r : responses.readValuesToList()) {
                if (r.getRequestId().equals(streamed.getRequestId())) {
                    chunks.add(r);
                } else {
                    assertNull(unstreamed, "one record for an unstreamed request");
                    unstreamed = r;
                }
            }
            Runnable iteration = iterations.poll();
            if (iteration != null) {
                iteration.run();
            }
        }
        assertTrue(chunks.size() >= 4, "a chunk every 3 decode steps or so: " + chunks.size() + " records");
        List<Long> concatenated = new ArrayList<>();
        for (int i = 0; i < chunks.size(); i++) {
            InferenceResponse c = chunks.get(i);
            boolean last = i == chunks.size() - 1;
            assertEquals(ResponseStatus.OK, c.getStatus());
            assertEquals(i, c.getChunk(), "chunks are numbered from 0");
            assertEquals(last, c.getFinalChunk());
            assertEquals(last ? FinishReason.LENGTH : null, c.getFinishReason(), "only the final record has a finish reason");
            assertTrue(last || !c.getTokenIds().isEmpty(), "a chunk is sent only with new tokens");
            concatenated.addAll(c.getTokenIds());
            assertEquals(concatenated.size(), c.getGeneratedTokens(), "generatedTokens counts the tokens sent so far");
            assertEquals(prompt.length, c.getPromptTokens());
        }
        assertEquals(unstreamed.getTokenIds(), concatenated, "the chunks add up to the unstreamed answer");
        assertEquals(0, pendingInStore());
    }

    @Test
    void withDecodingOnItsOwnThreadEveryGenerationIsAnsweredOnceAndEqualsTheDecoderAlone() throws Exception {
        try (GenerationEngine async = GenerationEngine.async(1, new GenerationPolicy(5, STREAM_INTERVAL))) {
            engine = async;
            Properties props = new Properties();
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "generate-async-test");
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            driver = new TopologyTestDriver(ProcessorTopology.build(TOPICS, repository, TopicExistence.assumeAll(),
                    new BatchPolicy(1, 100_000, Duration.ofMillis(5)), InferenceWorker.inline(), async, metrics,
                    PlainAvro.deserializer(InferenceRequest.class), PlainAvro.serializer(InferenceResponse.class)), props,
                    Instant.ofEpochMilli(1_000_000));
            requests = driver.createInputTopic(TOPICS.requests().name(), new StringSerializer(), new ByteArraySerializer());
            responses = driver.createOutputTopic(TOPICS.responses().name(), new StringDeserializer(),
                    PlainAvro.deserializer(InferenceResponse.class));
            List<long[]> prompts = new ArrayList<>();
            List<InferenceRequest> sent = new ArrayList<>();
            for (int i = 0; i < 14; i++) {
                long[] prompt = plainPrompt(1 + random.nextInt(30));
                InferenceRequest r = request(prompt, params().setMaxNewTokens(4 + random.nextInt(16)).build());
                prompts.add(prompt);
                sent.add(r);
                send(r);
            }
            Map<String, InferenceResponse> byId = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (byId.size() < sent.size() && System.nanoTime() < deadline) {
                driver.advanceWallClockTime(Duration.ofMillis(10)); // admits waiting requests, forwards finished ones
                responses.readValuesToList().forEach(r -> assertNull(byId.put(r.getRequestId(), r), r.getRequestId()));
                Thread.sleep(2);
            }
            assertEquals(sent.size(), byId.size());
            try (DecoderSession plain = DecoderSession.open(TinyDecoderBundle.plainModelBytes(), TinyDecoderBundle.plainManifest())) {
                for (int i = 0; i < sent.size(); i++) {
                    InferenceRequest r = sent.get(i);
                    Generation want = plain.greedy(prompts.get(i), r.getGeneration().getMaxNewTokens(), Set.of());
                    assertEquals(java.util.Arrays.toString(want.ids()),
                            java.util.Arrays.toString(decrypt(byId.get(r.getRequestId()).getTokenIds())), "request " + i);
                }
            }
            assertEquals(0, pendingInStore());
            driver.close();
            driver = null;
        }
    }
}
