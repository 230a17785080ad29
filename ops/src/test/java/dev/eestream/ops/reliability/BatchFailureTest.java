package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An inference failure on one batch, from a real fault: the model's manifest promises 64 tokens but
 * its position table has only 32 rows, so ONNX Runtime fails on any batch padded past 32. Requests
 * of up to 32 tokens that share a batch with a longer one must still be answered correctly; only the
 * long ones get ERROR responses, and the processor reports the split batches.
 */
@Tag("integration")
class BatchFailureTest {
    private static final String MODEL = "misdeclared-embed";
    private static final String REPLIES = "batch-failure.replies";
    private static final int BATCH = 16;

    @TempDir
    Path work;

    private final EeKey key = EeKey.generate();

    @Test
    void aFailingBatchIsSplitAndOnlyTheOffendingRequestsGetErrors() throws Exception {
        ModelTransformer.Result ee = ReliabilityFixture.writeEmbedModel(work.resolve("models"), key, MODEL);
        ModelTransformer.Result plain = ReliabilityFixture.plainEmbedModel();
        ModelBundle.in(work.resolve("models"), MODEL).write(ee.modelBytes(), withMaxLength(ee.manifest(), 2 * TinyModels.MAX_POSITIONS), true);

        // Three rounds of 16 requests, each round one batch: round 0 holds one long request, round 1
        // holds three, round 2 none (a control: no split expected from it).
        Random random = new Random(5);
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        Map<String, long[]> clear = new LinkedHashMap<>();
        Map<String, InferenceRequest> requests = new LinkedHashMap<>();
        Set<Integer> longInRound0 = Set.of(7);
        Set<Integer> longInRound1 = Set.of(0, 9, 15);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < BATCH; i++) {
                boolean tooLong = (round == 0 && longInRound0.contains(i)) || (round == 1 && longInRound1.contains(i));
                int length = tooLong ? TinyModels.MAX_POSITIONS + 1 + random.nextInt(TinyModels.MAX_POSITIONS)
                        : 1 + random.nextInt(TinyModels.MAX_POSITIONS);
                long[] ids = new long[length];
                List<Long> cipher = new ArrayList<>(length);
                for (int j = 0; j < length; j++) {
                    ids[j] = random.nextInt(TinyModels.ENCODER_VOCAB);
                    cipher.add((long) pi.apply((int) ids[j]));
                }
                String id = (tooLong ? "long-" : "ok-") + round + "-" + i;
                clear.put(id, ids);
                requests.put(id, InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(cipher)
                        .setReplyTopic(REPLIES).setCreatedAt(Instant.now()).build());
            }
        }

        LocalMode.Options options = new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of())
                .withProcessorSetting("max.batch.size", Integer.toString(BATCH))
                // Long enough that each round's 16 requests always meet in one batch.
                .withProcessorSetting("max.batch.delay.ms", "3000");
        try (LocalMode local = LocalMode.start(options)) {
            local.kafka().createTopic(REPLIES, 1);
            Map<String, Object> cfg = new HashMap<>(local.clientProperties());
            AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
            serializer.configure(cfg, false);
            List<InferenceRequest> all = new ArrayList<>(requests.values());
            try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, new StringSerializer(), serializer)) {
                for (int round = 0; round < 3; round++) {
                    for (InferenceRequest r : all.subList(round * BATCH, (round + 1) * BATCH)) {
                        // One key: one partition, so one stream task batches them together.
                        producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, "same-partition", r));
                    }
                    producer.flush();
                    Thread.sleep(500);
                }
            }

            Map<String, InferenceResponse> answers = readAnswers(local, requests.size());
            assertEquals(requests.keySet(), answers.keySet(), "every request answered once");
            OutputDecryptor decryptor = new OutputDecryptor(key);
            int errors = 0;
            try (ModelSession reference = ModelSession.open(plain.modelBytes(), plain.manifest())) {
                for (Map.Entry<String, InferenceResponse> e : answers.entrySet()) {
                    InferenceResponse r = e.getValue();
                    if (e.getKey().startsWith("long-")) {
                        errors++;
                        assertEquals(ResponseStatus.ERROR, r.getStatus(), e.getKey());
                        assertTrue(r.getError().startsWith("inference failed: "), r.getError());
                        continue;
                    }
                    ReliabilityFixture.assertMatchesPlaintext(decryptor, reference.run(List.of(clear.get(e.getKey())))[0], r);
                }
            }
            double splits = scrape(local.processor().httpUrl(), "eestream_batch_splits_total");
            // A batch of 16 with a long request in it fails, and so does each half holding it, down to
            // pairs: at least log2(16) = 4 splits per round with long requests, none for the control round.
            System.out.printf("batch failure test: %d requests in 3 batches, %d offending, %d ERROR answers, %d correct answers, "
                    + "%.0f batch splits%n", requests.size(), longInRound0.size() + longInRound1.size(), errors,
                    answers.size() - errors, splits);
            assertEquals(longInRound0.size() + longInRound1.size(), errors, "ERROR answers only for the offending requests");
            assertTrue(splits >= 2 * 4, "failed batches were split in halves (" + splits + " splits)");
            assertEquals(KafkaStreams.State.RUNNING, local.processor().state());
        }
    }

    private static ModelManifest withMaxLength(ModelManifest m, int maxLength) {
        return new ModelManifest(m.format(), m.version(), m.modelId(), m.task(), m.encryptionId(), m.idsInput(),
                m.attentionMaskInput(), m.tokenTypeIdsInput(), m.output(), m.outputWidth(), m.vocabSize(), m.hiddenSize(),
                maxLength, m.labelCount());
    }

    private static Map<String, InferenceResponse> readAnswers(LocalMode local, int expected) {
        Map<String, InferenceResponse> answers = new HashMap<>();
        int records = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        try (KafkaConsumer<String, InferenceResponse> consumer = ReliabilityFixture.committedAnswers(local, "batch-failure-check")) {
            consumer.subscribe(List.of(REPLIES));
            while (System.nanoTime() < deadline && answers.size() < expected) {
                for (ConsumerRecord<String, InferenceResponse> r : consumer.poll(Duration.ofMillis(200))) {
                    records++;
                    answers.put(r.value().getRequestId(), r.value());
                }
            }
        }
        assertEquals(answers.size(), records, "no request answered twice");
        return answers;
    }

    /** A Prometheus series' value, summed over its labels. */
    private static double scrape(String httpUrl, String series) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(httpUrl + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + series + "\\{[^}]*\\} ([0-9.eE+-]+)$").matcher(body);
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }
}
