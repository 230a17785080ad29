package dev.eestream.processor;

import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.metrics.OpsHttpServer;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.topology.ProcessorTopology;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.schemas.topics.TopicAdmin;
import dev.eestream.schemas.topics.Topics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The running processor: a Kafka Streams application over a model directory. Never holds a key. */
public final class ProcessorApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessorApp.class);

    private final ModelRepository models;
    private final InferenceWorker worker;
    private final GenerationEngine engine;
    private final KafkaStreams streams;
    private final PrometheusMeterRegistry registry;
    private final KafkaStreamsMetrics streamsMetrics;
    private final OpsHttpServer http;
    private final TopicExistence replyTopics;

    private ProcessorApp(ModelRepository models, InferenceWorker worker, GenerationEngine engine, KafkaStreams streams,
            PrometheusMeterRegistry registry, KafkaStreamsMetrics streamsMetrics, OpsHttpServer http, TopicExistence replyTopics) {
        this.replyTopics = replyTopics;
        this.models = models;
        this.worker = worker;
        this.engine = engine;
        this.streams = streams;
        this.registry = registry;
        this.streamsMetrics = streamsMetrics;
        this.http = http;
    }

    public static ProcessorApp start(ProcessorSettings settings) throws IOException {
        Map<String, Object> kafka = settings.kafkaProperties();
        if (settings.createTopics()) {
            createTopics(kafka, settings);
        }
        ModelRepository models = ModelRepository.open(settings.modelsDir(), settings.sessionSettings(),
                settings.modelsScanIntervalMs());
        InferenceWorker worker = InferenceWorker.async(settings.inferenceConcurrency());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
        ProcessorMetrics metrics = new ProcessorMetrics(registry);
        // One decode thread: steps of all generate models take turns, beside the encoder batches.
        GenerationEngine engine = GenerationEngine.async(1, settings.generationPolicy(), metrics.decodeObserver());
        metrics.kvCache(engine::kvCacheBytes, engine.budget()::reserved, engine.budget().maxBytes());
        models.onLoaded((manifest, device) -> {
            metrics.modelServed(manifest.modelId(), manifest.task(), device.id());
            if (manifest.taskKind() == dev.eestream.runtime.model.Task.GENERATE) {
                metrics.runningSequences(manifest.modelId(), () -> engine.running(manifest.modelId()));
            }
        });
        OpsHttpServer http = null;
        TopicExistence replyTopics = TopicExistence.cached(Admin.create(TopicAdmin.adminConfig(kafka)));
        try {
            Topics topics = settings.topics();
            Topology topology = ProcessorTopology.build(topics, models, replyTopics, settings.batchPolicy(), worker, engine, metrics,
                    topics.requests().valueDeserializer(kafka), topics.responses().valueSerializer(kafka));
            Properties props = new Properties();
            props.putAll(kafka);
            KafkaStreams streams = new KafkaStreams(topology, props);
            // A failure the stream cannot handle (e.g. a broken broker connection) replaces the thread: the
            // pending requests are in the state store, so the new thread picks them up.
            streams.setUncaughtExceptionHandler(e -> {
                LOG.error("stream thread failed; replacing it: {}", e.toString());
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
            KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
            streamsMetrics.bindTo(registry);
            if (settings.httpPort() >= 0) {
                http = OpsHttpServer.start(settings.httpHost(), settings.httpPort(), registry::scrape,
                        () -> notReadyBecause(streams, models));
                LOG.info("metrics at {}/metrics, health at {}/health and {}/ready", http.url(), http.url(), http.url());
            }
            streams.start();
            LOG.info("processor '{}' started: models {} from {}, {} ({} processing)", kafka.get(StreamsConfig.APPLICATION_ID_CONFIG),
                    models.modelIds(), settings.modelsDir(), settings.batchPolicy(), kafka.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
            return new ProcessorApp(models, worker, engine, streams, registry, streamsMetrics, http, replyTopics);
        } catch (IOException | RuntimeException e) {
            if (http != null) {
                http.close();
            }
            replyTopics.close();
            worker.close();
            engine.close();
            models.close();
            throw e;
        }
    }

    /** Waits until the stream is RUNNING; false if it did not get there in time. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (streams.state() == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    public ModelRepository models() {
        return models;
    }

    /** Stops within {@code timeout}; under exactly-once, what was not committed is answered after restart. */
    public void close(Duration timeout) {
        if (http != null) {
            http.close();
        }
        // Leave the group even as a static member (group.instance.id): the others take the partitions over now, rather
        // than after the session timeout or when this instance comes back, whichever is first.
        streams.close(CloseOptions.timeout(timeout).withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        streamsMetrics.close();
        replyTopics.close();
        worker.close();
        engine.close();
        models.close();
        registry.close();
    }

    /** The /metrics, /health, /ready base URL, or null when the endpoints are off. */
    public String httpUrl() {
        return http == null ? null : http.url();
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private static String notReadyBecause(KafkaStreams streams, ModelRepository models) {
        if (streams.state() != KafkaStreams.State.RUNNING) {
            return "Kafka Streams is " + streams.state();
        }
        if (!models.failures().isEmpty()) {
            return "models failed to load: " + models.failures();
        }
        if (models.modelIds().isEmpty()) {
            return "no models in the model directory";
        }
        return null;
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    private static void createTopics(Map<String, Object> kafka, ProcessorSettings settings) {
        List<TopicAdmin.Spec> specs = settings.topics().names().stream()
                .map(name -> new TopicAdmin.Spec(name, settings.topicPartitions(), settings.topicReplication())).toList();
        TopicAdmin.ensure(kafka, specs, Duration.ofSeconds(60)).forEach(name -> LOG.info("created topic {}", name));
    }
}
