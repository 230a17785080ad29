package dev.eestream.ops.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ModelWriter;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encrypted generation through a real broker, registry and processor (local mode): ciphertext prompts
 * in, ciphertext tokens out, equal after π⁻¹ to the plaintext model's greedy generation. The decoder is
 * built in code with random weights (no trained decoder can be downloaded here), and the processor
 * loads it with its weights in an external data file, as it would a model over 2 GB.
 */
@Tag("integration")
class GenerationIntegrationTest {
    private static final String MODEL = "tiny-chat";
    private static final String REPLIES = "generate.replies";
    private static final int NEW_TOKENS = 40;

    @TempDir
    Path work;

    @Test
    void greedyGenerationOverKafkaEqualsThePlaintextModelsAndStreamedChunksAddUpToIt() throws Exception {
        EeKey key = EeKey.generate();
        var source = SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(96)
                .hiddenSize(32).layers(2).heads(4).kvHeads(2).intermediateSize(64).contextLength(128).seed(5).build());
        ModelTransformer.Result ee = ModelTransformer.transform(source,
                TransformSpec.builder(Task.GENERATE).key(key).hiddenPermutation(true).modelId(MODEL).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source,
                TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        // Written as a model over 2 GB must be, with its weights in model.onnx_data: the processor opens it from its files.
        ModelBundle bundle = ModelBundle.in(work.resolve("models"), MODEL);
        assertTrue(ModelWriter.write(bundle, ee, ModelWriter.ExternalDataMode.ALWAYS, false));
        Permutation pi = key.vocabPermutation(96);

        Random random = new Random(17);
        Map<String, long[]> prompts = new LinkedHashMap<>();
        for (int i = 0; i < 12; i++) {
            long[] p = new long[1 + random.nextInt(20)];
            for (int k = 0; k < p.length; k++) {
                p[k] = random.nextInt(96);
            }
            prompts.put("g" + i, p);
        }
        Map<String, long[]> expected = new HashMap<>();
        try (DecoderSession reference = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            for (var e : prompts.entrySet()) {
                Generation g = reference.greedy(e.getValue(), NEW_TOKENS, Set.of());
                expected.put(e.getKey(), g.ids());
            }
        }

        try (LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"),
                Map.of("generate.stream.interval.ms", "1")))) {
            local.kafka().createTopic(REPLIES, 1);
            Map<String, Object> cfg = new HashMap<>(local.clientProperties());
            try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, Topics.REQUESTS.keySerde().serializer(),
                    Topics.REQUESTS.valueSerializer(cfg))) {
                for (var e : prompts.entrySet()) {
                    List<Long> cipher = new ArrayList<>();
                    for (long id : e.getValue()) {
                        cipher.add((long) pi.apply((int) id));
                    }
                    boolean stream = e.getKey().endsWith("1");
                    InferenceRequest r = InferenceRequest.newBuilder().setRequestId(e.getKey()).setModelId(MODEL).setTokenIds(cipher)
                            .setReplyTopic(REPLIES).setCreatedAt(Instant.now())
                            .setGeneration(GenerationParams.newBuilder().setMaxNewTokens(NEW_TOKENS).setStream(stream).build()).build();
                    producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), r.getRequestId(), r)).get(30, TimeUnit.SECONDS);
                }
            }

            Map<String, List<InferenceResponse>> byRequest = new HashMap<>();
            Map<String, Object> c = new HashMap<>(cfg);
            c.put(ConsumerConfig.GROUP_ID_CONFIG, "generate-check");
            c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            try (KafkaConsumer<String, InferenceResponse> consumer = new KafkaConsumer<>(c, Topics.REPLIES.keySerde().deserializer(),
                    Topics.REPLIES.valueDeserializer(c))) {
                consumer.subscribe(List.of(REPLIES));
                while (System.nanoTime() < deadline && !allFinal(byRequest, prompts.size())) {
                    for (ConsumerRecord<String, InferenceResponse> rec : consumer.poll(Duration.ofMillis(200))) {
                        byRequest.computeIfAbsent(rec.key(), k -> new ArrayList<>()).add(rec.value());
                    }
                }
            }

            assertEquals(prompts.keySet(), byRequest.keySet(), "every request answered");
            int streamed = 0;
            for (var e : byRequest.entrySet()) {
                List<InferenceResponse> records = e.getValue();
                List<Long> cipherTokens = new ArrayList<>();
                for (int chunk = 0; chunk < records.size(); chunk++) {
                    InferenceResponse r = records.get(chunk);
                    assertEquals(ResponseStatus.OK, r.getStatus(), e.getKey() + ": " + r.getError());
                    assertEquals(chunk, r.getChunk(), e.getKey() + ": chunks in order, each once");
                    assertEquals(chunk == records.size() - 1, r.getFinalChunk(), e.getKey());
                    cipherTokens.addAll(r.getTokenIds());
                }
                streamed += records.size() > 1 ? 1 : 0;
                InferenceResponse last = records.get(records.size() - 1);
                assertEquals(FinishReason.LENGTH, last.getFinishReason(), e.getKey());
                assertEquals(prompts.get(e.getKey()).length, last.getPromptTokens());
                assertEquals(NEW_TOKENS, last.getGeneratedTokens());
                long[] decrypted = cipherTokens.stream().mapToLong(id -> pi.invert(id.intValue())).toArray();
                assertEquals(java.util.Arrays.toString(expected.get(e.getKey())), java.util.Arrays.toString(decrypted),
                        e.getKey() + ": EE generation over Kafka equals plaintext greedy generation");
            }
            System.out.printf("generation over Kafka: %d requests (%d streamed in chunks), %d tokens each, equal to plaintext%n",
                    byRequest.size(), streamed, NEW_TOKENS);
        }
    }

    private static boolean allFinal(Map<String, List<InferenceResponse>> byRequest, int expected) {
        return byRequest.size() == expected && byRequest.values().stream().allMatch(l -> l.get(l.size() - 1).getFinalChunk());
    }
}
