package dev.eestream.processor.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.processor.PlainAvro;
import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.generation.GenerationPolicy;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.runtime.TinyDecoderBundle;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.serde.AvroTrust;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.Executor;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash in the middle of a generation: the processor dies after some decode steps, before the
 * answer is forwarded. Its request is still in the pending store (which Kafka Streams restores from
 * the changelog); the next processor on that store generates it again, with the same tokens, and
 * answers it once.
 */
class GenerationRecoveryTest {
    @TempDir
    Path modelDir;

    private ModelRepository repository;
    private KeyValueStore<String, byte[]> store;

    @BeforeAll
    static void trustTheRequestClasses() {
        // Copying a request's builder goes through Avro's class check, whichever test runs first.
        AvroTrust.declare(InferenceRequest.class);
    }

    @BeforeEach
    void setUp() throws Exception {
        TinyDecoderBundle.writeTo(modelDir, TinyDecoderBundle.MODEL_ID);
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
        store = newStore();
    }

    @AfterEach
    void tearDown() {
        repository.close();
    }

    private static KeyValueStore<String, byte[]> newStore() {
        KeyValueStore<String, byte[]> s = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PendingStore.STORE_NAME),
                Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
        MockProcessorContext<String, Object> init = new MockProcessorContext<>();
        s.init(init.getStateStoreContext(), s);
        return s;
    }

    private InferenceProcessor processor(Executor decodeSteps, MockProcessorContext<String, Object> context,
            KeyValueStore<String, byte[]> on) {
        context.addStateStore(on);
        context.setRecordMetadata("eestream.requests", 0, 0);
        context.setCurrentSystemTimeMs(1_000_000);
        InferenceProcessor p = new InferenceProcessor(repository, TopicExistence.assumeAll(),
                PlainAvro.deserializer(InferenceRequest.class), BatchPolicy.DEFAULT, InferenceWorker.inline(),
                GenerationEngine.on(decodeSteps, new GenerationPolicy(4, Duration.ofMillis(30))), ProcessorMetrics.inMemory());
        p.init(context);
        return p;
    }

    private static InferenceRequest request() {
        // Sampled without a seed: the request id seeds the sampler, so only determinism makes the tokens equal.
        return InferenceRequest.newBuilder().setRequestId("crash-1").setModelId(TinyDecoderBundle.MODEL_ID)
                .setTokenIds(List.of(3L, 14L, 15L, 9L, 2L)).setCreatedAt(Instant.ofEpochMilli(5))
                .setGeneration(GenerationParams.newBuilder().setMaxNewTokens(20).setTemperature(1.2f).setTopK(30).build()).build();
    }

    private static Record<String, byte[]> record(InferenceRequest r) {
        return new Record<>(r.getRequestId(), PlainAvro.serializer(InferenceRequest.class).serialize("t", r), 0L);
    }

    private static void punctuate(MockProcessorContext<String, Object> context, int times) {
        for (int i = 0; i < times; i++) {
            context.scheduledPunctuators().get(0).getPunctuator().punctuate(context.currentSystemTimeMs());
        }
    }

    /**
     * A processor on {@link #store} takes the streamed request and runs {@code decodeSteps} decode
     * steps, 15 ms apart, punctuating after each (chunks go out); then it dies. Returns what it sent.
     */
    private List<InferenceResponse> streamThenCrash(InferenceRequest request, int decodeSteps) {
        Queue<Runnable> steps = new ArrayDeque<>();
        MockProcessorContext<String, Object> first = new MockProcessorContext<>();
        InferenceProcessor crashing = processor(steps::add, first, store);
        crashing.process(record(request));
        long now = first.currentSystemTimeMs();
        for (int i = 0; i < decodeSteps; i++) {
            steps.poll().run();
            now += 15;
            first.setCurrentSystemTimeMs(now);
            first.scheduledPunctuators().get(0).getPunctuator().punctuate(now);
        }
        crashing.close();
        return answers(first);
    }

    private static List<InferenceResponse> answers(MockProcessorContext<String, Object> context) {
        return context.forwarded(InferenceProcessor.RESPONSES).stream().map(f -> (InferenceResponse) f.record().value()).toList();
    }

    @Test
    void aGenerationInterruptedByACrashIsAnsweredOnceWithTheSameTokens() {
        // What an uninterrupted processor answers, on a store of its own.
        MockProcessorContext<String, Object> alone = new MockProcessorContext<>();
        InferenceProcessor uninterrupted = processor(Runnable::run, alone, newStore());
        uninterrupted.process(record(request()));
        punctuate(alone, 2);
        List<InferenceResponse> reference = answers(alone);
        assertEquals(1, reference.size());
        assertEquals(ResponseStatus.OK, reference.get(0).getStatus());
        assertEquals(20, reference.get(0).getTokenIds().size());
        uninterrupted.close();

        // First life: the request is parked, a few decode steps run, then the processor dies.
        Queue<Runnable> steps = new ArrayDeque<>();
        MockProcessorContext<String, Object> first = new MockProcessorContext<>();
        InferenceProcessor crashing = processor(steps::add, first, store);
        crashing.process(record(request()));
        for (int i = 0; i < 5; i++) {
            steps.poll().run();
        }
        punctuate(first, 1);
        crashing.close();
        assertTrue(answers(first).isEmpty(), "nothing was answered before the crash");
        assertEquals(1, store.approximateNumEntries(), "the request is still in the store");
        // The dead processor's decode loop finishes its step: its outcome reaches no one.
        while (!steps.isEmpty()) {
            steps.poll().run();
        }
        assertTrue(answers(first).isEmpty());

        // Second life on the same store: it finds the request, generates it again, answers it once.
        MockProcessorContext<String, Object> second = new MockProcessorContext<>();
        processor(Runnable::run, second, store);
        punctuate(second, 5);
        List<InferenceResponse> out = answers(second);
        assertEquals(1, out.size(), "answered once");
        assertEquals("crash-1", out.get(0).getRequestId());
        assertEquals(FinishReason.LENGTH, out.get(0).getFinishReason());
        assertEquals(reference.get(0).getTokenIds(), out.get(0).getTokenIds(), "regenerated deterministically");
        assertEquals(0, store.approximateNumEntries(), "the answered request left the store");
    }

    @Test
    void aStreamedGenerationInterruptedByACrashSendsEveryTokenOnceInOrder() {
        InferenceRequest request = InferenceRequest.newBuilder(request())
                .setGeneration(GenerationParams.newBuilder(request().getGeneration()).setStream(true).build()).build();
        MockProcessorContext<String, Object> alone = new MockProcessorContext<>();
        processor(Runnable::run, alone, newStore()).process(record(request));
        punctuate(alone, 2);
        List<InferenceResponse> reference = answers(alone);
        assertEquals(1, reference.size(), "generated at once: the whole answer is the final record");
        List<Long> expected = reference.get(0).getTokenIds();
        assertEquals(20, expected.size());

        // First life: chunks go out every 30 ms as decode steps run, then the processor dies.
        List<InferenceResponse> before = streamThenCrash(request, 7);
        assertTrue(before.size() >= 2, before.size() + " chunks before the crash");
        int sent = before.stream().mapToInt(r -> r.getTokenIds().size()).sum();
        assertTrue(sent > 0 && sent < expected.size());
        before.forEach(r -> assertTrue(!r.getFinalChunk()));

        // Second life: the store says how much was sent; the regeneration skips it and numbering goes on.
        MockProcessorContext<String, Object> second = new MockProcessorContext<>();
        processor(Runnable::run, second, store);
        punctuate(second, 3);
        List<InferenceResponse> after = answers(second);
        assertEquals(1, after.size(), "the rest comes as the final record");
        List<InferenceResponse> all = new java.util.ArrayList<>(before);
        all.addAll(after);
        List<Long> concatenated = new java.util.ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i, all.get(i).getChunk(), "chunk numbers go on across the crash");
            concatenated.addAll(all.get(i).getTokenIds());
        }
        assertTrue(after.get(0).getFinalChunk());
        assertEquals(20, after.get(0).getGeneratedTokens());
        assertEquals(expected, concatenated, "every token once, in order");
        assertEquals(0, store.approximateNumEntries());
    }

    @Test
    void aStreamedGenerationWhoseDeadlinePassedDuringTheCrashEndsWithDeadlineAndKeepsItsChunks() {
        InferenceRequest request = InferenceRequest.newBuilder(request()).setDeadline(Instant.ofEpochMilli(1_000_500))
                .setGeneration(GenerationParams.newBuilder(request().getGeneration()).setStream(true).build()).build();
        List<InferenceResponse> before = streamThenCrash(request, 5);
        int sent = before.stream().mapToInt(r -> r.getTokenIds().size()).sum();
        assertTrue(sent > 0, "chunks went out before the crash");

        // The next owner starts after the deadline: nothing is generated again, the chunks sent stand.
        MockProcessorContext<String, Object> second = new MockProcessorContext<>();
        Queue<Runnable> secondSteps = new ArrayDeque<>();
        InferenceProcessor restarted = processor(secondSteps::add, second, store);
        second.setCurrentSystemTimeMs(1_000_600);
        second.scheduledPunctuators().get(0).getPunctuator().punctuate(1_000_600);
        second.scheduledPunctuators().get(0).getPunctuator().punctuate(1_000_610);
        assertTrue(secondSteps.isEmpty(), "no decode step for an expired request");
        List<InferenceResponse> after = answers(second);
        assertEquals(1, after.size());
        InferenceResponse last = after.get(0);
        assertEquals(ResponseStatus.OK, last.getStatus());
        assertEquals(FinishReason.DEADLINE, last.getFinishReason());
        assertTrue(last.getFinalChunk());
        assertEquals(before.size(), last.getChunk(), "numbering goes on");
        assertEquals(List.of(), last.getTokenIds());
        assertEquals(sent, last.getGeneratedTokens());
        assertEquals(0, store.approximateNumEntries());
        restarted.close();
    }
}
