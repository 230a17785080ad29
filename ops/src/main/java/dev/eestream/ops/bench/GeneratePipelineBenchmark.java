package dev.eestream.ops.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Generation through the processor against a bare ONNX Runtime decode loop, in one run on one
 * machine: the same EE decoder (synthetic, random weights), the same mixed-length backlog, the same
 * limit of sequences at once. Then continuous against static batching on that backlog (bare), and
 * the time to first token and between tokens at about half of the processor's capacity.
 *
 * <p>Throughput on both sides is generated tokens per second over the requests that finish after
 * the first tenth, timed from the tenth's finish to the last's (the processor's own {@code
 * respondedAt} stamps; the decode loop's clock), so start-up and the client's work do not count.
 */
public final class GeneratePipelineBenchmark {
    private static final String MODEL_ID = "bench-decoder";
    private static final String REPLIES = "bench.generate.replies";

    private final SyntheticDecoderSpec spec;
    private final int requests;
    private final int maxSequences;
    private final int[] promptRange;
    private final int[] newTokensRange;
    private final double latencySeconds;
    private final int inferenceThreads;
    private final Device device;
    private final PrintWriter out;

    /**
     * @param promptRange fewest and most prompt tokens; {@code newTokensRange} likewise for maxNewTokens
     * @param inferenceThreads ONNX Runtime intra-op threads for both sides, as the processor's inference.threads
     */
    public GeneratePipelineBenchmark(SyntheticDecoderSpec spec, int requests, int maxSequences, int[] promptRange,
            int[] newTokensRange, double latencySeconds, int inferenceThreads, Device device, PrintWriter out) {
        this.spec = spec;
        this.requests = requests;
        this.maxSequences = maxSequences;
        this.promptRange = promptRange.clone();
        this.newTokensRange = newTokensRange.clone();
        this.latencySeconds = latencySeconds;
        this.inferenceThreads = ProcessorSettings.resolveInferenceThreads(inferenceThreads);
        this.device = device;
        this.out = out;
        if (requests < 20 || maxSequences < 1) {
            throw new EeException("the backlog needs at least 20 requests and at least 1 sequence at once");
        }
        if (promptRange[0] < 1 || promptRange[1] < promptRange[0] || newTokensRange[0] < 1 || newTokensRange[1] < newTokensRange[0]) {
            throw new EeException("prompt and new-token ranges must be MIN-MAX with 1 <= MIN <= MAX");
        }
        if (promptRange[1] + newTokensRange[1] > spec.contextLength()) {
            throw new EeException("the longest prompt (" + promptRange[1] + ") and the most new tokens (" + newTokensRange[1]
                    + ") exceed the context length " + spec.contextLength());
        }
    }

    public void run() throws Exception {
        EeKey key = EeKey.generate();
        ModelProto source = SyntheticDecoders.build(spec);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).key(key)
                .hiddenPermutation(true).modelId(MODEL_ID).build());
        GenerateWorkload work = new GenerateWorkload(requests, spec.vocabSize(), promptRange[0], promptRange[1], newTokensRange[0],
                newTokensRange[1], key.vocabPermutation(spec.vocabSize()), 7);
        SessionSettings settings = SessionSettings.builder().intraOpThreads(inferenceThreads).device(device).build();
        out.println(spec.describe() + " (random weights), EE with π and ρ");
        out.printf("backlog: %d greedy requests, prompts of %d–%d tokens (%d in all), %d–%d new tokens each (%d in all); at most %d "
                + "sequences at once; ONNX Runtime on %s, intra-op threads %s%n", requests, promptRange[0], promptRange[1],
                work.promptTokens(), newTokensRange[0], newTokensRange[1], work.newTokens(), maxSequences, device.id(),
                inferenceThreads == 0 ? "default" : Integer.toString(inferenceThreads));
        out.flush();

        BareDecodeLoop.Result before;
        BareDecodeLoop.Result staticBatches;
        try (DecoderSession session = DecoderSession.open(ee.modelBytes(), ee.manifest(), settings)) {
            if (session.device() != device) {
                out.printf("%s is not available: the bare loop and the processor run on %s%n", device.id(), session.device().id());
            }
            BareDecodeLoop.run(session, work, maxSequences, true); // warm-up
            before = BareDecodeLoop.run(session, work, maxSequences, true);
            staticBatches = BareDecodeLoop.run(session, work, maxSequences, false);
        }
        double bareBefore = tokensPerSecond(before.ids(), before.doneNanos(), 1e9);
        out.printf("bare decode loop (continuous batching):         %8.1f tokens/s (before the processor)%n", bareBefore);
        out.flush();

        Path dir = Files.createTempDirectory("eestream-bench-generate-");
        try {
            Path models = dir.resolve("models");
            ModelBundle.in(models, MODEL_ID).write(ee.modelBytes(), ee.manifest(), true);
            LocalMode.Options options = new LocalMode.Options(0, 0, models, dir.resolve("data"), Map.of(
                    ProcessorSettings.GENERATE_MAX_SEQUENCES, Integer.toString(maxSequences),
                    ProcessorSettings.INFERENCE_THREADS, Integer.toString(inferenceThreads),
                    ProcessorSettings.DEVICE, device.id()));
            try (LocalMode local = LocalMode.startInfrastructure(options)) {
                local.kafka().createTopic(REPLIES, 3);
                produceBacklog(local, work);
                local.startProcessor();
                Map<Integer, InferenceResponse> answers = drain(local, work.size());
                long[][] ids = new long[work.size()][];
                long[] doneMillis = new long[work.size()];
                for (var e : answers.entrySet()) {
                    ids[e.getKey()] = e.getValue().getTokenIds().stream().mapToLong(Long::longValue).toArray();
                    doneMillis[e.getKey()] = e.getValue().getRespondedAt().toEpochMilli();
                }
                if (!Arrays.deepEquals(before.ids(), ids)) {
                    throw new IllegalStateException("the processor generated other ids than the bare decode loop on the same model");
                }
                out.printf("  the processor's %d answers equal the bare loop's ids, token for token%n", answers.size());
                double processor = tokensPerSecond(ids, doneMillis, 1e3);
                out.printf("processor, backlog through Kafka (exactly-once): %8.1f tokens/s%n", processor);
                out.flush();
                local.stopProcessor();
                double bareAfter;
                try (DecoderSession session = DecoderSession.open(ee.modelBytes(), ee.manifest(), settings)) {
                    BareDecodeLoop.Result after = BareDecodeLoop.run(session, work, maxSequences, true);
                    bareAfter = tokensPerSecond(after.ids(), after.doneNanos(), 1e9);
                }
                double bare = (bareBefore + bareAfter) / 2;
                out.printf("bare decode loop (continuous batching):         %8.1f tokens/s (after; mean %.1f)%n", bareAfter, bare);
                out.printf("processor / bare decode loop:                   %8.3f%n", processor / bare);
                out.flush();
                batchingComparison(before, staticBatches);
                double capacity = requestsPerSecond(doneMillis, 1e3);
                local.startProcessor();
                latency(local, work, capacity / 2);
            }
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Generated tokens per second of the requests finishing after the first tenth, from the tenth's finish. */
    private static double tokensPerSecond(long[][] ids, long[] done, double ticksPerSecond) {
        Integer[] order = byFinish(done);
        int warm = order.length / 10;
        long tokens = 0;
        for (int k = warm + 1; k < order.length; k++) {
            tokens += ids[order[k]].length;
        }
        return tokens / ((done[order[order.length - 1]] - done[order[warm]]) / ticksPerSecond);
    }

    private static double requestsPerSecond(long[] done, double ticksPerSecond) {
        Integer[] order = byFinish(done);
        int warm = order.length / 10;
        return (order.length - 1 - warm) / ((done[order[order.length - 1]] - done[order[warm]]) / ticksPerSecond);
    }

    private static Integer[] byFinish(long[] done) {
        Integer[] order = new Integer[done.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compare(done[a], done[b]));
        return order;
    }

    /** One row of the batching comparison: throughput and completion latencies of {@code result}; returns its tokens/s. */
    private double printBatchingRow(String name, BareDecodeLoop.Result result) {
        double rate = result.tokens() / (Arrays.stream(result.doneNanos()).max().orElse(1) / 1e9);
        double[] latencyMs = Stats.sortedMillis(result.doneNanos());
        out.printf("  %-22s %12.1f %11.0f ms %11.0f ms %11.0f ms%n", name, rate, Arrays.stream(latencyMs).average().orElse(0),
                Stats.percentile(latencyMs, 50), Stats.percentile(latencyMs, 99));
        return rate;
    }

    private void batchingComparison(BareDecodeLoop.Result continuous, BareDecodeLoop.Result staticBatches) {
        if (!Arrays.deepEquals(continuous.ids(), staticBatches.ids())) {
            throw new IllegalStateException("static and continuous batching generated other ids");
        }
        out.printf("bare, the whole backlog at once, same ids both ways:%n");
        out.printf("  %-22s %12s %14s %14s %14s%n", "", "tokens/s", "latency mean", "latency p50", "latency p99");
        double continuousRate = printBatchingRow("continuous batching", continuous);
        double staticRate = printBatchingRow("static batching", staticBatches);
        out.printf("  continuous / static throughput: %.3f%n", continuousRate / staticRate);
        out.flush();
    }

    private InferenceRequest request(GenerateWorkload work, int i, String id, boolean stream) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL_ID)
                .setTokenIds(Arrays.stream(work.cipherPrompt(i)).boxed().toList()).setReplyTopic(REPLIES).setCreatedAt(Instant.now())
                .setGeneration(GenerationParams.newBuilder().setMaxNewTokens(work.maxNewTokens(i)).setStream(stream).build()).build();
    }

    private KafkaProducer<String, InferenceRequest> producer(LocalMode local) {
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        cfg.put("linger.ms", "1");
        return new KafkaProducer<>(cfg, Topics.REQUESTS.keySerde().serializer(), Topics.REQUESTS.valueSerializer(cfg));
    }

    private KafkaConsumer<String, InferenceResponse> consumer(LocalMode local) {
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        cfg.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + System.nanoTime());
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        KafkaConsumer<String, InferenceResponse> c = new KafkaConsumer<>(cfg, Topics.REPLIES.keySerde().deserializer(),
                Topics.REPLIES.valueDeserializer(cfg));
        c.subscribe(List.of(REPLIES));
        return c;
    }

    private void produceBacklog(LocalMode local, GenerateWorkload work) throws Exception {
        try (KafkaProducer<String, InferenceRequest> producer = producer(local)) {
            List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
            for (int i = 0; i < work.size(); i++) {
                InferenceRequest r = request(work, i, "backlog-" + i, false);
                sends.add(producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), r.getRequestId(), r)));
            }
            for (var f : sends) {
                f.get();
            }
        }
    }

    /** The backlog's answers by request number. */
    private Map<Integer, InferenceResponse> drain(LocalMode local, int count) {
        Map<Integer, InferenceResponse> answers = new HashMap<>();
        try (KafkaConsumer<String, InferenceResponse> consumer = consumer(local)) {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(15);
            while (answers.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    InferenceResponse v = r.value();
                    if (v.getStatus() != ResponseStatus.OK) {
                        throw new IllegalStateException("request " + v.getRequestId() + " failed: " + v.getError());
                    }
                    answers.put(Integer.parseInt(v.getRequestId().substring("backlog-".length())), v);
                }
            }
        }
        if (answers.size() < count) {
            throw new IllegalStateException("only " + answers.size() + " of " + count + " answers arrived");
        }
        return answers;
    }

    /**
     * Streamed requests at {@code rate} per second, open loop, drawn from the backlog in turn. Time to
     * first token and between tokens come from the processor's histograms (the difference over this
     * run; bucket upper bounds); the client measures from sending to the first chunk and to the final
     * record, which adds the wait for the transaction commit (commit.interval.ms) and the stream
     * interval.
     */
    private void latency(LocalMode local, GenerateWorkload work, double rate) throws Exception {
        int count = (int) Math.max(20, rate * latencySeconds);
        warmUp(local, work);
        CountAtBucket[] ttftBefore = histogram(local, "eestream.time.to.first.token");
        CountAtBucket[] itlBefore = histogram(local, "eestream.inter.token");
        Map<String, Long> sent = new ConcurrentHashMap<>();
        List<Double> firstChunk = new ArrayList<>();
        List<Double> complete = new ArrayList<>();
        Map<String, Boolean> seenFirst = new HashMap<>();
        try (KafkaProducer<String, InferenceRequest> producer = producer(local);
             KafkaConsumer<String, InferenceResponse> consumer = consumer(local)) {
            consumer.poll(Duration.ofMillis(500)); // join the group before the first answer
            long start = System.nanoTime();
            int next = 0;
            long deadline = start + (long) ((count / rate + 120) * 1e9);
            while (complete.size() < count && System.nanoTime() < deadline) {
                while (next < count && System.nanoTime() >= start + (long) (next * 1e9 / rate)) {
                    String id = "latency-" + next;
                    InferenceRequest r = request(work, next % work.size(), id, true);
                    sent.put(id, System.nanoTime());
                    producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), id, r));
                    next++;
                }
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(2))) {
                    InferenceResponse v = r.value();
                    Long at = sent.get(v.getRequestId());
                    if (at == null) {
                        continue;
                    }
                    double ms = (System.nanoTime() - at) / 1e6;
                    if (seenFirst.put(v.getRequestId(), true) == null) {
                        firstChunk.add(ms);
                    }
                    if (v.getFinalChunk()) {
                        complete.add(ms);
                    }
                }
            }
        }
        if (complete.size() < count) {
            throw new IllegalStateException("only " + complete.size() + " of " + count + " streamed requests finished");
        }
        Timer ttft = timer(local, "eestream.time.to.first.token");
        Timer itl = timer(local, "eestream.inter.token");
        double[] first = Stats.sorted(firstChunk);
        double[] whole = Stats.sorted(complete);
        out.printf("at %.2f requests/s (half of the backlog rate), %d streamed requests:%n", rate, count);
        out.printf("  processor: time to first token p50 <= %s, p99 <= %s; between tokens p50 <= %s, p99 <= %s (histogram buckets)%n",
                bucketPercentile(ttftBefore, ttft, 0.5), bucketPercentile(ttftBefore, ttft, 0.99),
                bucketPercentile(itlBefore, itl, 0.5), bucketPercentile(itlBefore, itl, 0.99));
        out.printf("  client: to the first chunk p50 %.0f ms, p99 %.0f ms; to the final record p50 %.0f ms, p99 %.0f ms%n",
                Stats.percentile(first, 50), Stats.percentile(first, 99), Stats.percentile(whole, 50), Stats.percentile(whole, 99));
        out.flush();
    }

    /** One streamed request through the restarted processor, answered before the clock starts. */
    private void warmUp(LocalMode local, GenerateWorkload work) {
        try (KafkaProducer<String, InferenceRequest> producer = producer(local);
             KafkaConsumer<String, InferenceResponse> consumer = consumer(local)) {
            producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), "warm-up", request(work, 0, "warm-up", true)));
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(100))) {
                    if (r.value().getRequestId().equals("warm-up") && r.value().getFinalChunk()) {
                        return;
                    }
                }
            }
        }
        throw new IllegalStateException("the warm-up request was not answered within 2 minutes");
    }

    private static Timer timer(LocalMode local, String name) {
        return local.processor().registry().find(name).tag("model", MODEL_ID).timer();
    }

    private static CountAtBucket[] histogram(LocalMode local, String name) {
        Timer t = timer(local, name);
        return t == null ? new CountAtBucket[0] : t.takeSnapshot().histogramCounts();
    }

    /** The upper bound of the bucket holding the q-quantile of what the timer recorded since {@code before}. */
    private static String bucketPercentile(CountAtBucket[] before, Timer timer, double q) {
        if (timer == null) {
            return "n/a";
        }
        CountAtBucket[] after = timer.takeSnapshot().histogramCounts();
        double[] counts = new double[after.length];
        for (int i = 0; i < after.length; i++) {
            counts[i] = after[i].count() - (i < before.length ? before[i].count() : 0);
        }
        // Cumulative buckets (Prometheus' le) grow with the bound; make them so if they come per bucket.
        boolean cumulative = true;
        for (int i = 1; i < counts.length; i++) {
            cumulative &= counts[i] >= counts[i - 1];
        }
        if (!cumulative) {
            for (int i = 1; i < counts.length; i++) {
                counts[i] += counts[i - 1];
            }
        }
        double total = counts.length == 0 ? 0 : counts[counts.length - 1];
        if (total == 0) {
            return "n/a";
        }
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] >= q * total) {
                return String.format("%.1f ms", after[i].bucket(TimeUnit.MILLISECONDS));
            }
        }
        return "> " + String.format("%.0f ms", after[after.length - 1].bucket(TimeUnit.MILLISECONDS));
    }
}
