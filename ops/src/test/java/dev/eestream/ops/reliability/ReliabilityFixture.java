package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.serde.AvroDeserializer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import dev.eestream.core.key.Permutation;
import dev.eestream.runtime.session.ModelSession;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Setup and checks shared by the reliability tests that run the processor in a child JVM. */
final class ReliabilityFixture {
    private ReliabilityFixture() {
    }

    /** Closes what a test started, in the order given (processors before the broker they use); nulls are skipped. */
    static void closeInOrder(AutoCloseable... started) throws Exception {
        for (AutoCloseable part : started) {
            if (part != null) {
                part.close();
            }
        }
    }

    /** The tiny EE embed model under {@code key}, written to {@code modelsDir/modelId}. */
    static ModelTransformer.Result writeEmbedModel(Path modelsDir, EeKey key, String modelId) throws IOException {
        ModelTransformer.Result ee = ModelTransformer.transform(TinyModels.encoder(7, null),
                TransformSpec.builder(Task.EMBED).key(key).modelId(modelId).build());
        ModelBundle.in(modelsDir, modelId).write(ee.modelBytes(), ee.manifest(), false);
        return ee;
    }

    /** The same model without a key: the plaintext reference its answers are checked against. */
    static ModelTransformer.Result plainEmbedModel() {
        return ModelTransformer.transform(TinyModels.encoder(7, null), TransformSpec.builder(Task.EMBED).modelId("plain").build());
    }

    /** The child processor's settings against the test's broker and registry, models in {@code work/models}. */
    static Map<String, String> processorSettings(LocalMode infrastructure, Path work, String applicationId) {
        Map<String, String> settings = new HashMap<>();
        settings.put("bootstrap.servers", infrastructure.bootstrapServers());
        settings.put("schema.registry.url", infrastructure.registryUrl());
        settings.put("models.dir", work.resolve("models").toString());
        settings.put("state.dir", work.resolve("state").toString());
        settings.put("application.id", applicationId);
        // Any free port for /metrics and /health: other builds on the machine may hold the default 9400.
        settings.put("http.port", "0");
        return settings;
    }

    /** A consumer of answers that sees committed records only, from the start of the topic. */
    static KafkaConsumer<String, InferenceResponse> committedAnswers(LocalMode infrastructure, String group) {
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        cfg.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        AvroDeserializer<InferenceResponse> deserializer = new AvroDeserializer<>(InferenceResponse.class);
        deserializer.configure(cfg, false);
        return new KafkaConsumer<>(cfg, new StringDeserializer(), deserializer);
    }

    /** Random plaintext token ids for the tiny encoder, 1 to its maximum length. */
    static long[] randomIds(Random random) {
        long[] ids = new long[1 + random.nextInt(TinyModels.MAX_POSITIONS)];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = random.nextInt(TinyModels.ENCODER_VOCAB);
        }
        return ids;
    }

    /** The ids under π, as a request carries them. */
    static List<Long> encrypt(long[] ids, Permutation pi) {
        List<Long> cipher = new ArrayList<>(ids.length);
        for (long id : ids) {
            cipher.add((long) pi.apply((int) id));
        }
        return cipher;
    }

    /**
     * The answer to request {@code idPrefix + i} decrypts, with {@code key}, to the plaintext model's embedding of
     * {@code clear.get(i)}, for every i.
     */
    static void assertAllMatchPlaintext(EeKey key, List<long[]> clear, String idPrefix, Map<String, InferenceResponse> answers) {
        ModelTransformer.Result plain = plainEmbedModel();
        OutputDecryptor decryptor = new OutputDecryptor(key);
        try (ModelSession reference = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < clear.size(); from += 256) {
                List<long[]> chunk = clear.subList(from, Math.min(clear.size(), from + 256));
                float[][] expected = reference.run(chunk);
                for (int i = 0; i < chunk.size(); i++) {
                    assertMatchesPlaintext(decryptor, expected[i], answers.get(idPrefix + (from + i)));
                }
            }
        }
    }

    /** The answer is OK and, decrypted, equals the plaintext embedding within 1e-5. */
    static void assertMatchesPlaintext(OutputDecryptor decryptor, float[] expected, InferenceResponse r) {
        assertEquals(ResponseStatus.OK, r.getStatus(), r.getRequestId() + ": " + r.getError());
        float[] cipher = new float[r.getScores().size()];
        for (int k = 0; k < cipher.length; k++) {
            cipher[k] = r.getScores().get(k);
        }
        float[] got = decryptor.embedding(cipher);
        assertEquals(expected.length, got.length, r.getRequestId() + " embedding size");
        for (int k = 0; k < got.length; k++) {
            assertEquals(expected[k], got[k], 1e-5f, r.getRequestId() + " element " + k);
        }
    }
}
