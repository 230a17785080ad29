package dev.eestream.processor.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client's cancel (schema version 3): a running generation stops and frees its slot, a waiting one is withdrawn;
 * each is answered ERROR once and leaves the store. Decode steps run by hand, so "running" is exact.
 */
class GenerationCancelTest {
    private static final String MODEL = TinyDecoderBundle.MODEL_ID;

    @TempDir
    Path modelDir;

    private ModelRepository repository;
    private KeyValueStore<String, byte[]> store;
    private final Queue<Runnable> steps = new ArrayDeque<>();
    private GenerationEngine engine;
    private MockProcessorContext<String, Object> context;
    private InferenceProcessor processor;

    @BeforeEach
    void setUp() throws Exception {
        TinyDecoderBundle.writeTo(modelDir, MODEL);
        repository = ModelRepository.open(modelDir, SessionSettings.defaults(), 0);
        store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PendingStore.STORE_NAME), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
        store.init(new MockProcessorContext<String, Object>().getStateStoreContext(), store);
        context = new MockProcessorContext<>();
        context.addStateStore(store);
        context.setRecordMetadata("eestream.requests", 0, 0);
        context.setCurrentSystemTimeMs(1_000_000);
        // One sequence at a time: a second request waits in the store.
        engine = GenerationEngine.on(steps::add, new GenerationPolicy(1, Duration.ofMillis(30)));
        processor = new InferenceProcessor(repository, TopicExistence.assumeAll(), PlainAvro.deserializer(InferenceRequest.class),
                BatchPolicy.DEFAULT, InferenceWorker.inline(), engine, ProcessorMetrics.inMemory());
        processor.init(context);
    }

    @AfterEach
    void tearDown() {
        processor.close();
        repository.close();
    }

    private static InferenceRequest request(String id) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(List.of(3L, 14L, 15L, 9L))
                .setGeneration(GenerationParams.newBuilder().setMaxNewTokens(40).build()).build();
    }

    private static InferenceRequest cancel(String id) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(List.of()).setCancel(true).build();
    }

    private void process(InferenceRequest r) {
        processor.process(new Record<>(r.getRequestId(), PlainAvro.serializer(InferenceRequest.class).serialize("t", r), 0L));
    }

    private void runSteps(int n) {
        for (int i = 0; i < n && !steps.isEmpty(); i++) {
            steps.poll().run();
        }
    }

    private void punctuate() {
        context.scheduledPunctuators().get(0).getPunctuator().punctuate(context.currentSystemTimeMs());
    }

    private List<InferenceResponse> answers() {
        return context.forwarded(InferenceProcessor.RESPONSES).stream().map(f -> (InferenceResponse) f.record().value()).toList();
    }

    @Test
    void aCancelledGenerationFreesItsSlotIsAnsweredOnceAndLeavesTheStore() {
        process(request("a"));
        process(request("b"));
        runSteps(3);
        assertEquals(1, engine.running(MODEL), "a runs, b waits");
        assertTrue(answers().isEmpty());

        process(cancel("a"));
        List<InferenceResponse> out = answers();
        assertEquals(1, out.size());
        assertEquals("a", out.get(0).getRequestId());
        assertEquals(ResponseStatus.ERROR, out.get(0).getStatus());
        assertEquals(FinishReason.ERROR, out.get(0).getFinishReason());
        assertEquals(InferenceProcessor.CANCELLED, out.get(0).getError());
        assertEquals(4, out.get(0).getPromptTokens(), "the stored request's prompt, not the cancel's");
        runSteps(1);
        assertEquals(0, engine.running(MODEL), "the next decode step drops the cancelled sequence: its slot is free");

        // b takes the slot and finishes; a is never answered again.
        punctuate();
        while (!steps.isEmpty()) {
            runSteps(1);
            punctuate();
        }
        out = answers();
        assertEquals(2, out.size(), out.toString());
        assertEquals("b", out.get(1).getRequestId());
        assertEquals(ResponseStatus.OK, out.get(1).getStatus());
        assertEquals(0, store.approximateNumEntries(), "both requests left the store");
    }

    @Test
    void aWaitingRequestIsWithdrawnAndAnUnknownOrAnsweredOneIsLeftAlone() {
        process(request("a"));
        process(request("b"));
        process(cancel("b"));
        List<InferenceResponse> out = answers();
        assertEquals(1, out.size());
        assertEquals("b", out.get(0).getRequestId());
        assertEquals(InferenceProcessor.CANCELLED, out.get(0).getError());
        assertEquals(1, store.approximateNumEntries(), "only a is left");

        process(cancel("no-such-request"));
        assertEquals(1, answers().size(), "nothing to cancel, nothing answered");
        while (!steps.isEmpty()) {
            runSteps(1);
            punctuate();
        }
        assertEquals(ResponseStatus.OK, answers().get(1).getStatus());
        process(cancel("a"));
        assertEquals(2, answers().size(), "a cancel after the answer changes nothing");
        assertFalse(answers().stream().anyMatch(r -> r.getRequestId().equals("a") && r.getStatus() == ResponseStatus.ERROR));
    }

    /** The store keeps a request without a deadline in version 2's shape, so a processor from before version 3 reads the same changelog. */
    @Test
    void storeEntriesAreReadableWithTheVersion2Schema() throws Exception {
        process(request("a"));
        Schema current = InferenceRequest.getClassSchema();
        List<Schema.Field> fields = new java.util.ArrayList<>();
        current.getFields().stream().filter(f -> !f.name().equals("cancel") && !f.name().equals("deadline")).forEach(f -> fields.add(new Schema.Field(f, f.schema())));
        Schema v2 = Schema.createRecord(current.getName(), current.getDoc(), current.getNamespace(), false, fields);
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            KeyValue<String, byte[]> entry = it.next();
            byte[] value = entry.value;
            // Not yet streamed: an 8-byte arrival time, then the request's Avro bytes.
            GenericRecord r = new GenericDatumReader<GenericRecord>(v2).read(null,
                    DecoderFactory.get().binaryDecoder(value, Long.BYTES, value.length - Long.BYTES, null));
            assertEquals("a", r.get("requestId").toString());
            assertEquals(List.of(3L, 14L, 15L, 9L), r.get("tokenIds"));
            assertFalse(it.hasNext());
        }
    }
}
