package dev.eestream.processor.topology;

import dev.eestream.processor.batching.BatchPlanner;
import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.batching.PendingRequest;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.processor.generation.GenerationDispatcher;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.generation.GenerationOutcome;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.validation.RequestValidator;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.serde.DecodeResult;
import dev.eestream.schemas.serde.WireFormat;
import dev.eestream.schemas.topics.DeadLetters;
import dev.eestream.schemas.topics.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and validates each request, parks valid ones in the durable {@link PendingStore}, and
 * hands a model's waiting requests to the {@link InferenceWorker} as batches when the
 * {@link BatchPolicy} says so. Answers are forwarded, and their requests removed from the store, on
 * the stream thread, so both land in the same transaction. Undecodable bytes go to the dead-letter
 * sink with the reason in headers; invalid requests get an ERROR response. Nothing stops the stream.
 *
 * <p>Requests for a generate model wait in the same store but take their own path: as the
 * {@link GenerationEngine} has room, they join their model's decode loop (continuous batching), and
 * each finished generation is forwarded, and its request removed, on the stream thread like a batch.
 */
final class InferenceProcessor implements Processor<String, byte[], String, Object> {
    static final String RESPONSES = "responses";
    static final String DEAD_LETTERS = "dead-letters";
    /** Carries a request's reply topic to the sink's topic-name extractor. */
    static final String HEADER_REPLY_TOPIC = "eestream.reply-topic";
    /** Batches computing at once per task: one running and one queued behind it, so the worker never idles. */
    static final int MAX_BATCHES_IN_FLIGHT = 2;

    /** The ERROR reason of a request its client cancelled. */
    static final String CANCELLED = "cancelled by the client";

    private static final Logger LOG = LoggerFactory.getLogger(InferenceProcessor.class);

    private final ModelRepository models;
    private final RequestValidator validator;
    private final Deserializer<InferenceRequest> decoder;
    private final BatchPolicy policy;
    private final InferenceWorker worker;
    private final ProcessorMetrics metrics;
    private final GenerationDispatcher generations;
    private final GenerationForwarder generationForwarder = new GenerationForwarder();
    private final Deque<CompletableFuture<InferenceWorker.Outcome>> inFlight = new ArrayDeque<>();
    /** Each served manifest's end ids, decoded once (null for a model without length buckets). */
    private final Map<ModelManifest, long[]> endIds = new HashMap<>();
    private final Queue<Finished> finished = new ConcurrentLinkedQueue<>();
    private ProcessorContext<String, Object> context;
    private PendingStore pending;

    /** A batch whose inference has ended, waiting for the stream thread to forward its answers. */
    private record Finished(CompletableFuture<InferenceWorker.Outcome> future, List<PendingRequest> batch,
            InferenceWorker.Outcome outcome, Throwable error, long flushStart, String device) {
    }

    InferenceProcessor(ModelRepository models, TopicExistence topics, Deserializer<InferenceRequest> decoder, BatchPolicy policy,
            InferenceWorker worker, GenerationEngine engine, ProcessorMetrics metrics) {
        this.models = models;
        this.generations = new GenerationDispatcher(engine);
        this.validator = new RequestValidator(models, topics);
        this.decoder = decoder;
        this.policy = policy;
        this.worker = worker;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        this.pending = new PendingStore(context.getStateStore(PendingStore.STORE_NAME));
        long tick = Math.max(1, Math.min(10, policy.maxBatchDelay().toMillis() / 4));
        context.schedule(Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::flushDue);
        if (pending.size() > 0) {
            LOG.info("{} requests were waiting in the state store; they will be answered", pending.size());
        }
    }

    @Override
    public void process(Record<String, byte[]> record) {
        drainFinished();
        if (record.value() == null) {
            deadLetter(record, "record has no value (null)");
            return;
        }
        // A registry outage is re-thrown (the stream thread is replaced and the record retried):
        // only bytes that are themselves bad go to the dead-letter topic.
        DecodeResult<InferenceRequest> decoded = WireFormat.tryDecode(decoder, topic(), record.value());
        if (!decoded.isSuccess() || decoded.value() == null) {
            deadLetter(record, decoded.failureReason().orElse("record decodes to null"));
            return;
        }
        InferenceRequest request = decoded.value();
        if (request.getCancel()) {
            cancel(request);
            return;
        }
        Optional<String> problem = validator.problem(request);
        if (problem.isPresent()) {
            boolean generate = models.decoder(request.getModelId()).isPresent();
            respond(request, generate ? Responses.generationError(request, problem.get(), now())
                    : Responses.error(request, problem.get(), now()), record.timestamp());
            return;
        }
        String model = request.getModelId();
        metrics.cipherTokens(model, request.getTokenIds().size());
        Optional<DecoderSession> decoder = models.decoder(model);
        if (expired(request, now())) {
            respond(request, Responses.expired(request, decoder.isPresent(), 0, now()), record.timestamp());
            return;
        }
        // A request padded to its length bucket is cut after its first end id: the filler never reaches the model (or the
        // store), so it costs no inference and changes no output.
        long[] ends = endIds(model);
        if (ends != null) {
            request.setTokenIds(ModelManifest.unpadded(request.getTokenIds(), ends));
        }
        pending.add(request, now());
        if (decoder.isPresent()) {
            generations.admit(decoder.get(), pending, now());
        } else if (pending.count(model) >= policy.maxBatchSize() || pending.tokens(model) >= policy.maxBatchTokens()) {
            flush(model);
        }
    }

    /** The sorted end ids of the model's manifest; null for a model without length buckets (or one not served). */
    private long[] endIds(String model) {
        Optional<ModelManifest> m = models.manifest(model);
        if (m.isEmpty() || m.get().endIds() == null) {
            return null;
        }
        if (endIds.size() > 256) {
            endIds.clear(); // manifests of models reloaded since
        }
        return endIds.computeIfAbsent(m.get(), ModelManifest::endIdList);
    }

    /**
     * A client's cancel (same key, hence same partition and task, as its request): a running generation is stopped
     * and its slot freed, a waiting request withdrawn; either is answered ERROR and leaves the store in this
     * transaction. A request already answered, or unknown, is left alone.
     */
    private void cancel(InferenceRequest cancel) {
        Optional<PendingRequest> running = generations.cancel(cancel.getRequestId());
        Optional<PendingRequest> target = running.isPresent() ? running : pending.withdraw(cancel.getModelId(), cancel.getRequestId());
        if (target.isEmpty()) {
            return;
        }
        PendingRequest p = target.get();
        long now = now();
        InferenceRequest r = p.request();
        respond(r, models.decoder(p.modelId()).isPresent() ? Responses.generationError(r, CANCELLED, p.sentChunks(), now)
                : Responses.error(r, CANCELLED, now), now);
        if (running.isPresent()) {
            pending.answered(List.of(p));
        }
    }

    private void flushDue(long nowMillis) {
        drainFinished();
        generations.streamDue(nowMillis, pending, generationForwarder);
        for (String model : pending.modelsWaiting()) {
            Optional<DecoderSession> decoder = models.decoder(model);
            if (decoder.isPresent()) {
                generations.admit(decoder.get(), pending, nowMillis);
                continue;
            }
            long oldest = pending.oldestArrival(model);
            if (oldest >= 0 && nowMillis - oldest >= policy.maxBatchDelay().toMillis()) {
                flush(model);
            }
        }
    }

    /**
     * Hands up to {@code maxBatchSize} of the model's oldest waiting requests to inference, cut into
     * batches by length. With {@link #MAX_BATCHES_IN_FLIGHT} batches computing and a full flush
     * waiting, it waits for the oldest batch: the stream stops consuming, so memory stays bounded.
     */
    private void flush(String modelId) {
        while (inFlight.size() >= MAX_BATCHES_IN_FLIGHT) {
            if (pending.count(modelId) < policy.maxBatchSize()) {
                return; // not a full batch: the punctuator tries again once a batch has finished
            }
            inFlight.peekFirst().handle((o, e) -> null).join();
            drainFinished();
        }
        List<PendingRequest> taken = pending.takeOldest(modelId, policy.maxBatchSize());
        if (taken.isEmpty()) {
            return;
        }
        long flushStart = now();
        // Requests whose deadline passed while they waited (also across a restart) are answered without inference.
        Map<Boolean, List<PendingRequest>> byExpiry = taken.stream()
                .collect(Collectors.partitioningBy(p -> expired(p.request(), flushStart)));
        List<PendingRequest> late = byExpiry.get(true);
        if (!late.isEmpty()) {
            late.forEach(p -> respond(p.request(), Responses.expired(p.request(), false, 0, flushStart), flushStart));
            pending.answered(late);
            taken = byExpiry.get(false);
            if (taken.isEmpty()) {
                return;
            }
        }
        Optional<ModelSession> model = models.model(modelId);
        if (model.isEmpty()) {
            for (PendingRequest p : taken) {
                respond(p.request(), Responses.error(p.request(), "model '" + modelId + "' is no longer served", flushStart),
                        flushStart);
            }
            pending.answered(taken);
            return;
        }
        for (List<PendingRequest> batch : BatchPlanner.plan(taken, PendingRequest::length, policy)) {
            CompletableFuture<InferenceWorker.Outcome> future = worker.submit(model.get(), batch);
            inFlight.addLast(future);
            String device = model.get().device().id();
            future.whenComplete((outcome, error) -> finished.add(new Finished(future, batch, outcome, error, flushStart, device)));
        }
        drainFinished();
    }

    /** Forwards the answers of finished batches and generations and removes their requests, in the current transaction. */
    private void drainFinished() {
        generations.drain(generationForwarder);
        Finished f;
        while ((f = finished.poll()) != null) {
            inFlight.remove(f.future());
            long done = now();
            if (f.error() != null) {
                for (PendingRequest p : f.batch()) {
                    respond(p.request(), Responses.error(p.request(), "inference failed: " + f.error().getMessage(), done), done);
                }
            } else {
                String model = f.batch().get(0).modelId();
                long real = f.batch().stream().mapToLong(PendingRequest::length).sum();
                metrics.batch(model, f.device(), f.batch().size(), real, BatchPlanner.paddedTokens(f.batch(), PendingRequest::length),
                        f.outcome().inferenceMs());
                metrics.batchSplits(model, f.outcome().splits());
                for (InferenceWorker.Answer a : f.outcome().answers()) {
                    InferenceRequest r = a.request().request();
                    InferenceResponse response = a.error() != null ? Responses.error(r, a.error(), done)
                            : Responses.ok(r, a.scores(), a.tokenIds(), Math.max(0, f.flushStart() - a.request().arrivalMillis()),
                                    f.outcome().inferenceMs(), f.outcome().batchSize(), done);
                    metrics.queued(model, f.device(), f.flushStart() - a.request().arrivalMillis());
                    respond(r, response, done);
                }
            }
            pending.answered(f.batch());
        }
    }

    /** Forwards streamed chunks and final records of generations, on the stream thread. */
    private final class GenerationForwarder implements GenerationDispatcher.Forwarder {
        @Override
        public void chunk(PendingRequest request, int chunk, List<Long> tokens, int generatedSoFar) {
            InferenceRequest r = request.request();
            long now = now();
            forward(r, Responses.chunk(r, tokens, chunk, generatedSoFar, now), now);
        }

        @Override
        public void finished(GenerationOutcome o, PendingRequest request) {
            InferenceRequest r = request.request();
            long done = now();
            long queued = Math.max(0, o.admittedMillis() - request.arrivalMillis());
            if (o.expired() && request.sentTokens() == 0) {
                respond(r, Responses.expired(r, true, request.sentChunks(), done), done);
            } else if (o.expired()) {
                // Streamed before a crash, expired before its regeneration: the chunks sent stand.
                respond(r, Responses.generated(r, List.of(), request.sentChunks(), request.sentTokens(), FinishReason.DEADLINE, queued,
                        0, 0, done), done);
            } else if (o.ok()) {
                String device = models.device(r.getModelId()).map(Device::id).orElse("unknown");
                metrics.generation(r.getModelId(), device, o.firstTokenMs() < 0 ? -1 : queued + o.firstTokenMs(), o.tokenIds().size());
                List<Long> unsent = o.tokenIds().subList(Math.min(request.sentTokens(), o.tokenIds().size()), o.tokenIds().size());
                respond(r, Responses.generated(r, unsent, request.sentChunks(), o.tokenIds().size(), o.finishReason(), queued,
                        o.generationMs(), o.batchSize(), done), done);
            } else {
                respond(r, Responses.generationError(r, o.error(), request.sentChunks(), done), done);
            }
            pending.answered(List.of(request));
        }
    }

    @Override
    public void close() {
        // Batches still computing are not forwarded: their requests stay in the store (and its
        // changelog), so whichever instance owns this task next answers them.
        inFlight.clear();
        finished.clear();
        generations.cancelAll();
    }

    private void respond(InferenceRequest request, InferenceResponse response, long timestamp) {
        // A model that is not served is counted as "(unknown)": clients must not be able to mint labels.
        Optional<Device> served = models.device(request.getModelId());
        String model = served.isPresent() ? request.getModelId() : "(unknown)";
        boolean ok = response.getStatus() == ResponseStatus.OK;
        metrics.request(model, ok ? "ok" : response.getStatus() == ResponseStatus.EXPIRED ? "expired" : "error");
        if (ok && served.isPresent() && request.getCreatedAt().toEpochMilli() > 0) {
            metrics.endToEnd(model, served.get().id(),
                    response.getRespondedAt().toEpochMilli() - request.getCreatedAt().toEpochMilli());
        }
        forward(request, response, timestamp);
    }

    /** Sends a record to the request's reply topic, else the responses topic; counts nothing (chunks go here directly). */
    private void forward(InferenceRequest request, InferenceResponse response, long timestamp) {
        // The model's encryption id: a client whose profile names another refuses the outputs instead of decrypting
        // garbage. (No key id: that would tell which models one client's key encrypted.)
        response.setEncryptionId(models.manifest(response.getModelId()).map(ModelManifest::encryptionId).orElse(null));
        Headers headers = new RecordHeaders();
        // An illegal or missing reply topic is itself the error: that answer goes to the default topic.
        if (validator.replyTopicUsable(request)) {
            headers.add(HEADER_REPLY_TOPIC, request.getReplyTopic().getBytes(StandardCharsets.UTF_8));
        }
        context.forward(new Record<String, Object>(response.getRequestId(), response, timestamp, headers), RESPONSES);
    }

    private void deadLetter(Record<String, byte[]> record, String reason) {
        metrics.request("(undecoded)", "dead_letter");
        // process() always has the record's metadata; the fallback only keeps a dead letter from failing without it.
        RecordMetadata meta = context.recordMetadata().orElse(null);
        Headers headers = DeadLetters.headers(record.headers(), reason, null, meta == null ? topic() : meta.topic(),
                meta == null ? -1 : meta.partition(), meta == null ? -1 : meta.offset(), record.value());
        LOG.warn("undecodable record at {}: {}", meta == null ? "?" : meta.topic() + "-" + meta.partition() + "@" + meta.offset(), reason);
        context.forward(new Record<String, Object>(DeadLetters.keptKey(record.key()), DeadLetters.keptValue(record.value()),
                record.timestamp(), headers), DEAD_LETTERS);
    }

    private static boolean expired(InferenceRequest r, long nowMillis) {
        return r.getDeadline() != null && nowMillis >= r.getDeadline().toEpochMilli();
    }

    private String topic() {
        return context.recordMetadata().map(RecordMetadata::topic).orElse(Topics.REQUESTS_NAME);
    }

    private long now() {
        return context.currentSystemTimeMs();
    }
}
