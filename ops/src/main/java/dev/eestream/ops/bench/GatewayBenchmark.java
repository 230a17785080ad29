package dev.eestream.ops.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.gateway.Gateway;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the OpenAI-compatible gateway adds on top of the Java client it wraps, in one run on one machine: the same EE
 * embedding model, the same texts, the same local broker and processor, once through {@link EncryptedInferenceClient}
 * in this JVM and once over HTTP and JSON through the gateway. Latency is measured one request at a time, the two
 * sides interleaved request by request so drift hits both; throughput with a fixed number in flight, the sides
 * alternating in rounds.
 */
public final class GatewayBenchmark {
    private static final String MODEL = "bench-embed";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int requests;
    private final int concurrency;
    private final double seconds;
    private final PrintWriter out;

    /**
     * @param requests    per side, for latency
     * @param concurrency requests in flight, for throughput
     * @param seconds     per side and round, for throughput (two rounds)
     */
    public GatewayBenchmark(int requests, int concurrency, double seconds, PrintWriter out) {
        this.requests = requests;
        this.concurrency = concurrency;
        this.seconds = seconds;
        this.out = out;
    }

    /** One way to embed a text, waiting for the answer. */
    @FunctionalInterface
    private interface Side {
        void embed(String text) throws Exception;
    }

    public void run() throws Exception {
        EeKey key = EeKey.generate();
        ModelProto source;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, BundledModel.ALL_MINILM_L6_V2.tokenizer(),
                TransformSpec.builder(Task.EMBED).key(key).modelId(MODEL).build(), null, s -> { });
        ClientProfile profile = ClientProfile.of(ee, null, "all-minilm-l6-v2");
        List<String> texts = PipelineBenchmark.texts(Math.max(requests, 100));
        Path work = Files.createTempDirectory("eestream-gateway-bench-");
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            Path models = work.resolve("models");
            ModelBundle.in(models, MODEL).write(ee.modelBytes(), ee.manifest(), true);
            try (LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of()))) {
                Map<String, Object> kafka = new HashMap<>(local.clientProperties());
                kafka.put("bootstrap.servers", local.bootstrapServers());
                try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                        .properties(local.clientProperties()).key(key).profile(profile).timeout(Duration.ofSeconds(120)).build();
                     Gateway gateway = Gateway.builder().key(key).kafka(kafka).profiles(List.of(profile)).port(0)
                             .maxInFlight(Math.max(64, concurrency)).start()) {
                    HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(concurrency)).build();
                    URI embeddings = URI.create(gateway.baseUrl() + "/embeddings");
                    Side direct = text -> client.embed(text).get(120, TimeUnit.SECONDS);
                    Side overHttp = text -> {
                        String body = JSON.writeValueAsString(Map.of("model", MODEL, "input", text));
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(embeddings).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                        JsonNode vector = JSON.readTree(r.body()).path("data").path(0).path("embedding");
                        if (r.statusCode() != 200 || vector.size() != profile.hiddenSize()) {
                            throw new IllegalStateException("gateway answered " + r.statusCode() + ": " + r.body());
                        }
                    };
                    out.printf("all-MiniLM-L6-v2 embed (EE), one text per request, local broker and processor on this machine%n");
                    out.flush();
                    latency(texts, direct, overHttp);
                    throughput(texts, pool, direct, overHttp);
                }
            }
        } finally {
            pool.shutdownNow();
            try (var paths = Files.walk(work)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void latency(List<String> texts, Side direct, Side overHttp) throws Exception {
        for (int i = 0; i < 20; i++) { // warm-up: JIT, connections, the model's first batches
            direct.embed(texts.get(i));
            overHttp.embed(texts.get(i));
        }
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            String text = texts.get(i % texts.size());
            a.add(timeMs(direct, text));
            b.add(timeMs(overHttp, text));
        }
        double[] sa = Stats.sorted(a);
        double[] sb = Stats.sorted(b);
        out.printf("latency, one request at a time, %d per side, interleaved:%n", requests);
        out.printf("  Java client alone         p50 %6.1f ms   p99 %6.1f ms%n", Stats.percentile(sa, 50), Stats.percentile(sa, 99));
        out.printf("  through the gateway       p50 %6.1f ms   p99 %6.1f ms%n", Stats.percentile(sb, 50), Stats.percentile(sb, 99));
        out.printf("  added by the gateway      p50 %+6.1f ms   p99 %+6.1f ms%n", Stats.percentile(sb, 50) - Stats.percentile(sa, 50),
                Stats.percentile(sb, 99) - Stats.percentile(sa, 99));
        out.flush();
    }

    private static double timeMs(Side side, String text) throws Exception {
        long t = System.nanoTime();
        side.embed(text);
        return (System.nanoTime() - t) / 1e6;
    }

    private void throughput(List<String> texts, ExecutorService pool, Side direct, Side overHttp) throws Exception {
        double[] rates = new double[2];
        for (int round = 0; round < 2; round++) {
            rates[0] += rate(texts, pool, direct) / 2;
            rates[1] += rate(texts, pool, overHttp) / 2;
        }
        out.printf("throughput, %d in flight, 2 rounds of %.0f s per side:%n", concurrency, seconds);
        out.printf("  Java client alone         %7.1f docs/s%n", rates[0]);
        out.printf("  through the gateway       %7.1f docs/s%n", rates[1]);
        out.printf("  gateway / Java client     %7.3f%n", rates[1] / rates[0]);
        out.flush();
    }

    /** Documents per second with {@code concurrency} workers sending one after another for {@code seconds}. */
    private double rate(List<String> texts, ExecutorService pool, Side side) throws Exception {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        AtomicLong done = new AtomicLong();
        long start = System.nanoTime();
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            int offset = w;
            workers.add(pool.submit(() -> {
                for (int i = offset; System.nanoTime() < end; i += concurrency) {
                    side.embed(texts.get(i % texts.size()));
                    done.incrementAndGet();
                }
                return null;
            }));
        }
        for (Future<?> f : workers) {
            f.get();
        }
        return done.get() / ((System.nanoTime() - start) / 1e9);
    }
}
