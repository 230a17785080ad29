package dev.eestream.processor.topology;

import dev.eestream.core.model.Task;
import dev.eestream.core.runtime.ModelSession;
import dev.eestream.processor.batching.BatchPlanner;
import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.PendingRequest;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.validation.RequestValidator;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.serde.DecodeResult;
import dev.eestream.schemas.serde.WireFormat;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * flushes a model's waiting requests as inference batches when the {@link BatchPolicy} says so.
 * Undecodable bytes go to the dead-letter sink with the reason in headers; invalid requests get an
 * ERROR response. Nothing here stops the stream.
 */
final class InferenceProcessor implements Processor<String, byte[], String, Object> {
    static final String RESPONSES = "responses";
    static final String DEAD_LETTERS = "dead-letters";
    static final String HEADER_REASON = "eestream.dlq.reason";
    /** Carries a request's reply topic to the sink's topic-name extractor. */
    static final String HEADER_REPLY_TOPIC = "eestream.reply-topic";

    private static final Logger LOG = LoggerFactory.getLogger(InferenceProcessor.class);

    private final ModelRepository models;
    private final RequestValidator validator;
    private final Deserializer<InferenceRequest> decoder;
    private final BatchPolicy policy;
    private ProcessorContext<String, Object> context;
    private PendingStore pending;

    InferenceProcessor(ModelRepository models, Deserializer<InferenceRequest> decoder, BatchPolicy policy) {
        this.models = models;
        this.validator = new RequestValidator(models);
        this.decoder = decoder;
        this.policy = policy;
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
        if (record.value() == null) {
            deadLetter(record, "record has no value (null)");
            return;
        }
        // A registry outage is re-thrown (the stream thread is replaced and the record retried):
        // only bytes that are themselves bad go to the dead-letter topic.
        DecodeResult<InferenceRequest> decoded = WireFormat.tryDecode(decoder, topic(), record.value());
        if (!decoded.isSuccess()) {
            deadLetter(record, decoded.failureReason().orElse("undecodable"));
            return;
        }
        InferenceRequest request = decoded.value();
        if (request == null) {
            deadLetter(record, "record decodes to null");
            return;
        }
        Optional<String> problem = validator.problem(request);
        if (problem.isPresent()) {
            respond(request, Responses.error(request, problem.get(), now()), record.timestamp());
            return;
        }
        pending.add(request, now());
        String model = request.getModelId();
        if (pending.count(model) >= policy.maxBatchSize() || pending.tokens(model) >= policy.maxBatchTokens()) {
            flush(model);
        }
    }

    private void flushDue(long nowMillis) {
        for (String model : pending.modelsWaiting()) {
            long oldest = pending.oldestArrival(model);
            if (oldest >= 0 && nowMillis - oldest >= policy.maxBatchDelay().toMillis()) {
                flush(model);
            }
        }
    }

    /** Answers up to {@code maxBatchSize} of the model's oldest requests, cut into batches by length. */
    private void flush(String modelId) {
        List<PendingRequest> taken = pending.oldest(modelId, policy.maxBatchSize());
        if (taken.isEmpty()) {
            return;
        }
        Optional<ModelSession> model = models.model(modelId);
        long flushStart = now();
        if (model.isEmpty()) {
            for (PendingRequest p : taken) {
                respond(p.request(), Responses.error(p.request(), "model '" + modelId + "' is no longer served", flushStart), flushStart);
            }
        } else {
            for (List<PendingRequest> batch : BatchPlanner.plan(taken, PendingRequest::length, policy)) {
                infer(model.get(), batch, flushStart);
            }
        }
        pending.remove(taken);
    }

    /** Runs one batch; when it fails, halves it until the requests that fail alone are found. */
    private void infer(ModelSession session, List<PendingRequest> batch, long flushStart) {
        List<long[]> ids = new ArrayList<>(batch.size());
        for (PendingRequest p : batch) {
            ids.add(p.request().getTokenIds().stream().mapToLong(Long::longValue).toArray());
        }
        long t0 = System.nanoTime();
        List<InferenceResponse> out = new ArrayList<>(batch.size());
        List<InferenceRequest> answered = new ArrayList<>(batch.size());
        try {
            boolean lm = session.manifest().taskKind() == Task.LM;
            float[][] scores = lm ? null : session.run(ids);
            List<List<Long>> generated = lm ? nextTokenIds(session.runLogits(ids), ids) : null;
            long inferenceMs = (System.nanoTime() - t0) / 1_000_000;
            long done = now();
            for (int i = 0; i < batch.size(); i++) {
                PendingRequest p = batch.get(i);
                answered.add(p.request());
                out.add(Responses.ok(p.request(), lm ? null : boxed(scores[i]), lm ? generated.get(i) : null,
                        Math.max(0, flushStart - p.arrivalMillis()), inferenceMs, batch.size(), done));
            }
        } catch (RuntimeException e) {
            if (batch.size() > 1) {
                LOG.warn("a batch of {} failed on model {} ({}); retrying in halves", batch.size(), session.manifest().modelId(), e.getMessage());
                infer(session, batch.subList(0, batch.size() / 2), flushStart);
                infer(session, batch.subList(batch.size() / 2, batch.size()), flushStart);
                return;
            }
            LOG.warn("request {} failed on model {}: {}", batch.get(0).request().getRequestId(), session.manifest().modelId(), e.getMessage());
            answered.add(batch.get(0).request());
            out.add(Responses.error(batch.get(0).request(), "inference failed: " + e.getMessage(), now()));
        }
        for (int i = 0; i < out.size(); i++) {
            respond(answered.get(i), out.get(i), now());
        }
    }

    /** For lm models: the argmax ciphertext id at each real (unpadded) position. */
    private static List<List<Long>> nextTokenIds(float[][][] logits, List<long[]> ids) {
        List<List<Long>> out = new ArrayList<>();
        for (int b = 0; b < logits.length; b++) {
            List<Long> row = new ArrayList<>();
            for (int s = 0; s < ids.get(b).length; s++) {
                float[] l = logits[b][s];
                int best = 0;
                for (int v = 1; v < l.length; v++) {
                    if (l[v] > l[best]) {
                        best = v;
                    }
                }
                row.add((long) best);
            }
            out.add(row);
        }
        return out;
    }

    private void respond(InferenceRequest request, InferenceResponse response, long timestamp) {
        Headers headers = new RecordHeaders();
        // An illegal reply topic is itself the error: that answer goes to the default topic.
        if (request.getReplyTopic() != null && RequestValidator.isLegalTopic(request.getReplyTopic())) {
            headers.add(HEADER_REPLY_TOPIC, request.getReplyTopic().getBytes(StandardCharsets.UTF_8));
        }
        context.forward(new Record<String, Object>(response.getRequestId(), response, timestamp, headers), RESPONSES);
    }

    private void deadLetter(Record<String, byte[]> record, String reason) {
        Headers headers = record.headers();
        headers.add(HEADER_REASON, reason.getBytes(StandardCharsets.UTF_8));
        Optional<RecordMetadata> meta = context.recordMetadata();
        meta.ifPresent(m -> {
            headers.add("eestream.dlq.topic", m.topic().getBytes(StandardCharsets.UTF_8));
            headers.add("eestream.dlq.partition", Integer.toString(m.partition()).getBytes(StandardCharsets.UTF_8));
            headers.add("eestream.dlq.offset", Long.toString(m.offset()).getBytes(StandardCharsets.UTF_8));
        });
        LOG.warn("undecodable record at {}: {}", meta.map(m -> m.topic() + "-" + m.partition() + "@" + m.offset()).orElse("?"), reason);
        context.forward(new Record<String, Object>(record.key(), record.value(), record.timestamp(), headers), DEAD_LETTERS);
    }

    private String topic() {
        return context.recordMetadata().map(RecordMetadata::topic).orElse("eestream.requests");
    }

    private long now() {
        return context.currentSystemTimeMs();
    }

    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
    }
}
