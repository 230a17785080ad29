package dev.eestream.processor.metrics;

import dev.eestream.processor.generation.DecodeObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What the processor reports, by model: requests by outcome, batch sizes, time waiting for a batch,
 * inference time, end-to-end latency from the request's createdAt, padding, tokens. Every inference
 * meter carries the device in use (cpu or cuda) as a label. Names follow Prometheus conventions once
 * exported: {@code eestream_requests_total}, {@code eestream_inference_seconds}, ….
 */
public final class ProcessorMetrics {
    private final MeterRegistry registry;
    // Meters are looked up once per model (and outcome), not built on every request: this runs per record.
    private final Map<String, Counter> requests = new ConcurrentHashMap<>();
    private final Map<String, ModelMeters> byModel = new ConcurrentHashMap<>();

    /** The meters of one model on one device. */
    private record ModelMeters(DistributionSummary batchSize, Timer inference, DistributionSummary padding, Counter tokens,
            Timer batchWait, Timer endToEnd) {
    }

    private final Map<String, Counter> cipherTokens = new ConcurrentHashMap<>();
    private final Map<String, GenerationMeters> generationMeters = new ConcurrentHashMap<>();
    private final Map<String, Timer> interToken = new ConcurrentHashMap<>();

    /** The meters of one generate model on one device. */
    private record GenerationMeters(Timer firstToken, Counter tokens) {
    }

    public ProcessorMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Metrics kept in memory only: for tests and embedding without an endpoint. */
    public static ProcessorMetrics inMemory() {
        return new ProcessorMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** One request's outcome: ok, error (an ERROR response) or dead_letter. */
    public void request(String model, String outcome) {
        requests.computeIfAbsent(model + '\u0000' + outcome, k -> Counter.builder("eestream.requests")
                .description("Requests by model and outcome").tag("model", model).tag("outcome", outcome).register(registry))
                .increment();
    }

    /**
     * Ciphertext ids that crossed the topics under a model's key: a request's ids as sent (length-bucket padding
     * included) and generated ids. Summed over processors and time, it is the traffic one key has carried, which is what
     * decides when to rotate the key (README, Threat model).
     */
    public void cipherTokens(String model, long ids) {
        cipherTokens.computeIfAbsent(model, k -> Counter.builder("eestream.cipher.tokens")
                .description("Ciphertext ids carried under the model's key: request ids as sent and generated ids")
                .tag("model", model).register(registry)).increment(ids);
    }

    /** A finished inference batch. */
    public void batch(String model, String device, int size, long realTokens, long paddedTokens, long inferenceMs) {
        ModelMeters m = meters(model, device);
        m.batchSize().record(size);
        m.inference().record(inferenceMs, TimeUnit.MILLISECONDS);
        m.padding().record(paddedTokens == 0 ? 0 : (double) (paddedTokens - realTokens) / paddedTokens);
        m.tokens().increment(realTokens);
    }

    /** Failed batches (and failed prefills or decode steps) that were retried in halves to find the requests that fail alone. */
    public void batchSplits(String model, int splits) {
        if (splits > 0) {
            Counter.builder("eestream.batch.splits").description("Failed inference batches retried in halves")
                    .tag("model", model).register(registry).increment(splits);
        }
    }

    /** How long a request waited for its batch. */
    public void queued(String model, String device, long ms) {
        meters(model, device).batchWait().record(Math.max(0, ms), TimeUnit.MILLISECONDS);
    }

    /** From the request's createdAt (client clock) to the response. */
    public void endToEnd(String model, String device, long ms) {
        meters(model, device).endToEnd().record(Math.max(0, ms), TimeUnit.MILLISECONDS);
    }

    private ModelMeters meters(String model, String device) {
        return byModel.computeIfAbsent(model + '\u0000' + device, k -> new ModelMeters(
                DistributionSummary.builder("eestream.batch.size").description("Requests per inference batch").tag("model", model)
                        .publishPercentileHistogram().serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry),
                Timer.builder("eestream.inference").description("Time of one inference batch in ONNX Runtime")
                        .tag("model", model).tag("device", device).publishPercentileHistogram().register(registry),
                DistributionSummary.builder("eestream.padding.ratio").description("Share of a batch's tokens that are padding")
                        .tag("model", model).register(registry),
                Counter.builder("eestream.tokens").description("Real (unpadded) tokens inferred; rate() gives tokens per second")
                        .tag("model", model).tag("device", device).register(registry),
                Timer.builder("eestream.batch.wait").description("Time a request waited for its batch").tag("model", model)
                        .publishPercentileHistogram().register(registry),
                Timer.builder("eestream.end.to.end").description("From the request's createdAt to its response").tag("model", model)
                        .publishPercentileHistogram().register(registry)));
    }

    /**
     * A finished generation: its time to first token (from the request's arrival at the processor, so
     * waiting for a slot counts) and the tokens it generated.
     */
    public void generation(String model, String device, long firstTokenMs, int generatedTokens) {
        GenerationMeters m = generationMeters.computeIfAbsent(model + '\u0000' + device, k -> new GenerationMeters(
                Timer.builder("eestream.time.to.first.token").description("From a generate request's arrival to its first token")
                        .tag("model", model).tag("device", device).publishPercentileHistogram().register(registry),
                Counter.builder("eestream.generated.tokens").description("Tokens generated; rate() gives tokens per second")
                        .tag("model", model).tag("device", device).register(registry)));
        if (firstTokenMs >= 0) {
            m.firstToken().record(firstTokenMs, TimeUnit.MILLISECONDS);
        }
        m.tokens().increment(generatedTokens);
        cipherTokens(model, generatedTokens);
    }

    /** Time between two consecutive tokens of one generation (inter-token latency). */
    public void interToken(String model, String device, long nanos) {
        interToken.computeIfAbsent(model + '\u0000' + device, k -> Timer.builder("eestream.inter.token")
                .description("Time between two consecutive tokens of a generation").tag("model", model).tag("device", device)
                .publishPercentileHistogram().register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Inter-token latency and the splits of failed decode steps, as the decode loops report them. */
    public DecodeObserver decodeObserver() {
        return new DecodeObserver() {
            @Override
            public void interToken(String model, String device, long nanos) {
                ProcessorMetrics.this.interToken(model, device, nanos);
            }

            @Override
            public void splits(String model, int splits) {
                batchSplits(model, splits);
            }
        };
    }

    /** The KV cache the running generations hold now, and what they reserved of the budget (whole processor). */
    public void kvCache(java.util.function.Supplier<Number> held, java.util.function.Supplier<Number> reserved, long max) {
        Gauge.builder("eestream.generate.kv.cache.bytes", held).description("KV-cache bytes the running generations hold")
                .baseUnit("bytes").register(registry);
        Gauge.builder("eestream.generate.kv.cache.reserved.bytes", reserved)
                .description("KV-cache bytes reserved by running generations (each its longest)").baseUnit("bytes").register(registry);
        Gauge.builder("eestream.generate.kv.cache.max.bytes", () -> max).description("The KV-cache budget (generate.kv.cache.max.bytes)")
                .baseUnit("bytes").register(registry);
    }

    /** Sequences of a generate model admitted or running now (all tasks of this processor). */
    public void runningSequences(String model, java.util.function.Supplier<Number> running) {
        Gauge.builder("eestream.generate.running.sequences", running).description("Sequences of a generate model being decoded")
                .tag("model", model).register(registry);
    }

    /** A model being served: a gauge of 1 labelled with its task and device. */
    public void modelServed(String model, String task, String device) {
        Gauge.builder("eestream.model.info", () -> 1).description("Models served, with task and device (cpu or cuda)")
                .tag("model", model).tag("task", task).tag("device", device).register(registry);
    }
}
