package dev.eestream.processor.generation;

import dev.eestream.processor.batching.PendingRequest;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.runtime.session.DecoderSession;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * A stream task's side of generation: hands the task's waiting requests of a generate model to the
 * {@link GenerationEngine} as slots free up, and collects the outcomes for the task's punctuator
 * to forward on the stream thread. Used by the stream thread only (outcomes arrive through a
 * concurrent queue).
 */
public final class GenerationDispatcher {
    private final GenerationEngine engine;
    private final Queue<GenerationOutcome> finished = new ConcurrentLinkedQueue<>();
    private final Map<PendingRequest, GenerationJob> inFlight = new IdentityHashMap<>();

    public GenerationDispatcher(GenerationEngine engine) {
        this.engine = engine;
    }

    /** Starts as many of the model's oldest waiting requests as the engine has room for; returns how many. */
    public int admit(DecoderSession session, PendingStore pending, long nowMillis) {
        String model = session.manifest().modelId();
        int free = Math.min(engine.freeSlots(model), pending.count(model));
        if (free == 0) {
            return 0;
        }
        List<PendingRequest> taken = pending.takeOldest(model, free);
        for (PendingRequest p : taken) {
            GenerationJob job = new GenerationJob(p, DecodingParams.of(p.request()), nowMillis, finished::add);
            inFlight.put(p, job);
            engine.submit(session, job);
        }
        return taken.size();
    }

    /** Hands each finished generation to {@code forward}, oldest first. */
    public void drain(Consumer<GenerationOutcome> forward) {
        GenerationOutcome o;
        while ((o = finished.poll()) != null) {
            inFlight.remove(o.request());
            forward.accept(o);
        }
    }

    public int inFlight() {
        return inFlight.size();
    }

    /**
     * The task is closing: its generations stop at the next step and nothing more is forwarded. Their
     * requests are still in the state store, so the task's next owner generates them again.
     */
    public void cancelAll() {
        inFlight.values().forEach(GenerationJob::cancel);
        inFlight.clear();
        finished.clear();
    }

    /** The jobs this task has running, for tests and logs. */
    public Map<PendingRequest, GenerationJob> jobs() {
        return Collections.unmodifiableMap(inFlight);
    }
}
