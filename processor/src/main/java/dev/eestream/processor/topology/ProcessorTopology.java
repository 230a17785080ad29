package dev.eestream.processor.topology;

import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.processor.batching.InferenceWorker;
import dev.eestream.processor.batching.PendingStore;
import dev.eestream.processor.generation.GenerationEngine;
import dev.eestream.processor.metrics.ProcessorMetrics;
import dev.eestream.processor.models.ModelRepository;
import dev.eestream.processor.validation.TopicExistence;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.topics.Topics;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.TopicNameExtractor;
import org.apache.kafka.streams.state.Stores;

/**
 * requests topic → inference processor (durable buffer, batching, ONNX Runtime) → the request's
 * reply topic, else the responses topic; undecodable bytes → dead-letter topic.
 */
public final class ProcessorTopology {
    private ProcessorTopology() {
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Topology build(Topics topics, ModelRepository models, TopicExistence replyTopics, BatchPolicy policy,
            InferenceWorker worker, GenerationEngine engine, ProcessorMetrics metrics, Deserializer<InferenceRequest> requestDeserializer,
            Serializer<InferenceResponse> responseSerializer) {
        Topology t = new Topology();
        // Requests are decoded by the processor, not the source: bytes that do not decode go to the dead letters.
        t.addSource("requests", new StringDeserializer(), Serdes.ByteArray().deserializer(), topics.requests().name());
        t.addProcessor("inference", () -> new InferenceProcessor(models, replyTopics, requestDeserializer, policy, worker, engine,
                metrics), "requests");
        // Caching: a request parked and answered within one commit interval reaches the changelog once
        // (a tombstone), not twice; what is still waiting at commit is written in the same transaction.
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PendingStore.STORE_NAME),
                Serdes.String(), Serdes.ByteArray()).withCachingEnabled(), "inference");
        TopicNameExtractor<String, InferenceResponse> replyTopic = (key, response, ctx) -> {
            var header = ctx.headers() == null ? null : ctx.headers().lastHeader(InferenceProcessor.HEADER_REPLY_TOPIC);
            return header != null ? new String(header.value(), java.nio.charset.StandardCharsets.UTF_8) : topics.responses().name();
        };
        t.addSink(InferenceProcessor.RESPONSES, (TopicNameExtractor) replyTopic, new StringSerializer(),
                (Serializer) responseSerializer, "inference");
        t.addSink(InferenceProcessor.DEAD_LETTERS, topics.deadLetters().name(), new StringSerializer(),
                (Serializer) new ByteArraySerializer(), "inference");
        return t;
    }
}
