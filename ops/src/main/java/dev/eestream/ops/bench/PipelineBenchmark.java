package dev.eestream.ops.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.processor.batching.BatchPlanner;
import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.runtime.session.SessionSettings;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.topics.Topics;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The processor against bare ONNX Runtime, in one run on one machine: the same EE model, the same
 * requests, the same batch policy and batch cutting. Then end-to-end latency at about half capacity.
 *
 * <p>Processor throughput is measured on a backlog: the requests are in Kafka before the processor
 * starts, and the rate is read from the responses' {@code respondedAt} (the first tenth is warm-up),
 * so the client's own work does not count against the processor.
 */
public final class PipelineBenchmark {
    private final int documents;
    private final double latencySeconds;
    private final BatchPolicy policy;
    private final int inferenceThreads;
    private final Device device;
    private final PrintWriter out;

    /**
     * @param inferenceThreads ONNX Runtime intra-op threads for both the bare run and the processor (0: its default)
     * @param device where both run (cuda falls back to the CPU where it is not available)
     */
    public PipelineBenchmark(int documents, double latencySeconds, BatchPolicy policy, int inferenceThreads, Device device,
            PrintWriter out) {
        this.documents = documents;
        this.latencySeconds = latencySeconds;
        this.policy = policy;
        this.inferenceThreads = ProcessorSettings.resolveInferenceThreads(inferenceThreads);
        this.device = device;
        this.out = out;
    }

    public void run() throws Exception {
        List<String> labels = List.of("finance", "sports", "technology", "health", "politics");
        EeKey key = EeKey.generate();
        TokenizerJson tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        ModelProto source;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.CLASSIFY).key(key).modelId("bench-topics").build(), labels, s -> { });
        List<String> texts = texts(documents);
        List<long[]> cipher = new ArrayList<>();
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, key, ee.manifest().vocabSize(), null)) {
            texts.forEach(t -> cipher.add(tok.encrypt(t)));
        }
        double meanLength = cipher.stream().mapToInt(c -> c.length).average().orElse(0);
        out.printf("all-MiniLM-L6-v2 zero-shot classify (EE), %d documents of %.1f tokens on average; batch policy: size %d, "
                + "tokens %d, delay %d ms; ONNX Runtime on %s, intra-op threads %s%n", documents, meanLength, policy.maxBatchSize(),
                policy.maxBatchTokens(), policy.maxBatchDelay().toMillis(), device.id(), inferenceThreads == 0 ? "default" : inferenceThreads);
        out.flush();

        // Bare ONNX Runtime runs before and after the processor's drain; their mean cancels the machine's drift.
        double bareBefore = bareOnnxRuntime(ee, cipher);
        out.printf("bare ONNX Runtime, same EE model and batches:       %8.1f docs/s (before the processor)%n", bareBefore);
        out.flush();

        Path work = Files.createTempDirectory("eestream-bench-");
        try {
            Path models = work.resolve("models");
            ModelBundle.in(models, "bench-topics").write(ee.modelBytes(), ee.manifest(), true);
            LocalMode.Options options = new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of(
                    ProcessorSettings.MAX_BATCH_SIZE, Integer.toString(policy.maxBatchSize()),
                    ProcessorSettings.MAX_BATCH_TOKENS, Integer.toString(policy.maxBatchTokens()),
                    ProcessorSettings.MAX_BATCH_DELAY_MS, Long.toString(policy.maxBatchDelay().toMillis()),
                    ProcessorSettings.INFERENCE_THREADS, Integer.toString(inferenceThreads),
                    ProcessorSettings.DEVICE, device.id()));
            try (LocalMode local = LocalMode.startInfrastructure(options)) {
                local.kafka().createTopic("bench.replies", 3);
                produceBacklog(local, cipher);
                local.startProcessor();
                double processor = drainRate(local);
                out.printf("processor, backlog through Kafka (exactly-once): %8.1f docs/s%n", processor);
                out.flush();
                local.stopProcessor();
                double bareAfter = bareOnnxRuntime(ee, cipher);
                double bare = (bareBefore + bareAfter) / 2;
                out.printf("bare ONNX Runtime, same EE model and batches:       %8.1f docs/s (after; mean %.1f)%n", bareAfter, bare);
                out.printf("processor / bare ONNX Runtime:                      %8.3f%n", processor / bare);
                out.flush();
                local.startProcessor();
                latency(local, key, ee, labels, processor / 2);
            }
        } finally {
            try (var paths = Files.walk(work)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The processor's work without Kafka: arrival-order flushes of maxBatchSize, cut by the same planner. */
    private double bareOnnxRuntime(ModelTransformer.Result ee, List<long[]> cipher) {
        try (ModelSession session = ModelSession.open(ee.modelBytes(), ee.manifest(),
                SessionSettings.builder().intraOpThreads(inferenceThreads).device(device).build())) {
            if (session.device() != device) {
                out.printf("%s is not available: bare ONNX Runtime runs on %s (so does the processor)%n", device.id(), session.device().id());
            }
            int warm = cipher.size() / 10;
            runFlushes(session, cipher.subList(0, warm));
            long t = System.nanoTime();
            runFlushes(session, cipher.subList(warm, cipher.size()));
            return (cipher.size() - warm) / ((System.nanoTime() - t) / 1e9);
        }
    }

    private void runFlushes(ModelSession session, List<long[]> requests) {
        for (int from = 0; from < requests.size(); from += policy.maxBatchSize()) {
            List<long[]> flush = requests.subList(from, Math.min(requests.size(), from + policy.maxBatchSize()));
            for (List<long[]> batch : BatchPlanner.plan(flush, ids -> ids.length, policy)) {
                session.run(batch);
            }
        }
    }

    private void produceBacklog(LocalMode local, List<long[]> cipher) throws Exception {
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        cfg.put("linger.ms", "5");
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, Topics.REQUESTS.keySerde().serializer(),
                Topics.REQUESTS.valueSerializer(cfg))) {
            List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
            for (int i = 0; i < cipher.size(); i++) {
                List<Long> ids = Arrays.stream(cipher.get(i)).boxed().toList();
                InferenceRequest r = InferenceRequest.newBuilder().setRequestId("bench-" + i).setModelId("bench-topics")
                        .setTokenIds(ids).setReplyTopic("bench.replies").setCreatedAt(Instant.now()).build();
                sends.add(producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), r.getRequestId(), r)));
            }
            for (var f : sends) {
                f.get();
            }
        }
    }

    /** Responses per second after the first tenth, from the processor's own respondedAt stamps. */
    private double drainRate(LocalMode local) {
        Map<String, Object> cfg = new HashMap<>(local.clientProperties());
        cfg.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + System.nanoTime());
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<Long> stamps = new ArrayList<>();
        List<Integer> batchSizes = new ArrayList<>();
        Map<String, Long> batchInference = new HashMap<>();
        try (KafkaConsumer<String, InferenceResponse> consumer = new KafkaConsumer<>(cfg, Topics.REPLIES.keySerde().deserializer(),
                Topics.REPLIES.valueDeserializer(cfg))) {
            consumer.subscribe(List.of("bench.replies"));
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (stamps.size() < documents && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    InferenceResponse v = r.value();
                    stamps.add(v.getRespondedAt().toEpochMilli());
                    batchSizes.add(v.getBatchSize());
                    // Requests of one batch share respondedAt-minus-inference and inferenceMs.
                    batchInference.put((v.getRespondedAt().toEpochMilli() - v.getInferenceMs()) + "/" + v.getInferenceMs(),
                            v.getInferenceMs());
                }
            }
        }
        if (stamps.size() < documents) {
            throw new IllegalStateException("only " + stamps.size() + " of " + documents + " responses arrived");
        }
        stamps.sort(Long::compare);
        int warm = documents / 10;
        double seconds = (stamps.get(documents - 1) - stamps.get(warm)) / 1000.0;
        double busy = batchInference.values().stream().mapToLong(Long::longValue).sum() / 1000.0;
        out.printf("  processor: mean batch size %.1f, %d batches, ONNX Runtime busy %.1f s of %.1f s draining%n",
                batchSizes.stream().mapToInt(Integer::intValue).average().orElse(0), batchInference.size(), busy,
                (stamps.get(documents - 1) - stamps.get(0)) / 1000.0);
        return (documents - 1 - warm) / seconds;
    }

    /** Open-loop requests at {@code rate} per second through the client; round-trip percentiles. */
    private void latency(LocalMode local, EeKey key, ModelTransformer.Result ee, List<String> labels, double rate) throws Exception {
        int count = (int) Math.max(20, rate * latencySeconds);
        List<String> texts = texts(count);
        ConcurrentLinkedQueue<Double> latencies = new ConcurrentLinkedQueue<>();
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                .properties(local.clientProperties()).key(key).profile(ClientProfile.of(ee, labels, "all-minilm-l6-v2"))
                .build()) {
            client.classify(texts.get(0)).get(60, TimeUnit.SECONDS); // warm the path
            List<CompletableFuture<?>> futures = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                long due = start + (long) (i * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                long sent = System.nanoTime();
                futures.add(client.classify(texts.get(i)).thenRun(() -> latencies.add((System.nanoTime() - sent) / 1e6)));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        }
        double[] sorted = Stats.sorted(latencies);
        out.printf("end-to-end latency at %.1f req/s (half of capacity), %d requests: p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
                rate, sorted.length, Stats.percentile(sorted, 50), Stats.percentile(sorted, 99), sorted[sorted.length - 1]);
        out.flush();
    }

    /** The bundled demo documents, numbered so each text is unique. */
    static List<String> texts(int n) throws Exception {
        List<String> base = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                PipelineBenchmark.class.getResourceAsStream("/demo/documents.jsonl"), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    base.add(com.google.gson.JsonParser.parseString(line).getAsJsonObject().get("text").getAsString());
                }
            }
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(base.get(i % base.size()) + " (case " + i + ")");
        }
        return out;
    }
}
