package dev.eestream.ops.pipeline;

import static dev.eestream.ops.pipeline.ClientGenerationIntegrationTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.TestTexts;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Length buckets through a real broker, registry and processor (local mode), on the bundled model encrypted with
 * {@code encrypt-model --homophones 2 --homophone-corpus … --length-buckets 16,32,64}: a client whose profile has the
 * buckets and one whose copy of the profile has none classify the same texts. The answers are bit-identical, the padded
 * requests on the topic all have bucket lengths, and the filler after [SEP] (any of its ids) never changed an answer.
 */
@Tag("integration")
class LengthBucketIntegrationTest {
    private static final String MODEL = "minilm-buckets";
    private static final List<Integer> BUCKETS = List.of(16, 32, 64, 128);

    @TempDir
    Path work;

    @Test
    void paddedRequestsAnswerExactlyAsUnpaddedOnesAndShowOnlyBucketLengths() throws Exception {
        EeKey key = EeKey.generate();
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        Path corpus = work.resolve("corpus.txt");
        Files.write(corpus, TestTexts.varied(300, 41));
        Path models = work.resolve("models");
        ClientGenerationIntegrationTest.Run made = cli("encrypt-model", "--key", keyFile.toString(), "--model",
                "all-minilm-l6-v2", "--task", "classify", "--labels", "sports,finance,cooking,politics", "--homophones", "2",
                "--homophone-corpus", corpus.toString(), "--length-buckets", "16,32,64", "--out", models.resolve(MODEL).toString());
        assertEquals(0, made.exit(), made.err());
        ClientProfile padded = ClientProfile.read(ClientProfile.besides(models.resolve(MODEL)));
        assertEquals(BUCKETS, padded.lengthBuckets());
        ClientProfile unpadded = new ClientProfile(padded.format(), padded.version(), padded.modelId(), padded.keyId(),
                padded.task(), padded.labels(), padded.tokenizer(), padded.vocabSize(), padded.hiddenSize(),
                padded.maxSequenceLength(), padded.generation(), padded.classifier(), padded.homophoneCounts(),
                padded.encryptionId(), null);
        CipherVocabulary vocab = padded.vocabulary(key);
        int sepIds = vocab.cipherIdsOf(102).length;
        assertTrue(sepIds >= 2, "[SEP] has several ids: " + sepIds);

        List<String> texts = new ArrayList<>(TestTexts.varied(40, 7));
        texts.add("Short.");
        texts.add("word ".repeat(200)); // past the last bucket: truncated to the tokenizer's 128
        Map<String, Integer> realLength = new HashMap<>();
        Map<String, Integer> sentLength = new HashMap<>();
        try (LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of()));
             EncryptedInferenceClient withBuckets = client(local, key, padded);
             EncryptedInferenceClient without = client(local, key, unpadded)) {
            // One at a time, so each runs in a batch of its own: a batch's shape (its longest request) can move the last
            // bit of a float, with or without padding; in equal batches the answers must be equal bit for bit.
            for (int i = 0; i < texts.size(); i++) {
                DecryptedResult.Classification x = withBuckets.classify(texts.get(i)).get(120, TimeUnit.SECONDS);
                DecryptedResult.Classification y = without.classify(texts.get(i)).get(120, TimeUnit.SECONDS);
                assertEquals(y.scores(), x.scores(), "text " + i + ": padded and unpadded answers, bit for bit");
                assertEquals(y.ciphertextScores(), x.ciphertextScores());
                realLength.put(x.requestId(), without.tokenCount(texts.get(i)));
                realLength.put(y.requestId(), without.tokenCount(texts.get(i)));
                sentLength.put(x.requestId(), -1);
            }

            Map<String, Object> props = new HashMap<>(local.clientProperties());
            props.put("bootstrap.servers", local.bootstrapServers());
            props.put("isolation.level", "read_committed");
            props.put("auto.offset.reset", "earliest");
            props.put("group.id", "it-buckets-" + System.nanoTime());
            Set<Integer> paddedLengths = new TreeSet<>();
            Set<Integer> unpaddedLengths = new TreeSet<>();
            int read = 0;
            int fillerAfterSep = 0;
            try (KafkaConsumer<String, InferenceRequest> requests = new KafkaConsumer<>(props, Topics.REQUESTS.keySerde()
                    .deserializer(), Topics.REQUESTS.valueDeserializer(props))) {
                requests.subscribe(List.of(Topics.REQUESTS_NAME));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (read < 2 * texts.size() && System.nanoTime() < deadline) {
                    for (var rec : requests.poll(Duration.ofMillis(100))) {
                        InferenceRequest r = rec.value();
                        int length = r.getTokenIds().size();
                        int real = realLength.get(r.getRequestId());
                        if (sentLength.containsKey(r.getRequestId())) {
                            assertTrue(BUCKETS.contains(length) && length >= real, length + " for " + real + " tokens");
                            assertEquals(102, vocab.decrypt(Math.toIntExact(r.getTokenIds().get(real - 1))), "[SEP] ends the text");
                            paddedLengths.add(length);
                            fillerAfterSep += length - real;
                        } else {
                            assertEquals(real, length);
                            unpaddedLengths.add(length);
                        }
                        read++;
                    }
                }
            }
            assertEquals(2 * texts.size(), read, "every request read back");
            assertTrue(paddedLengths.size() <= BUCKETS.size() && unpaddedLengths.size() > 2 * paddedLengths.size(),
                    "padded lengths " + paddedLengths + ", unpadded " + unpaddedLengths);
            assertTrue(fillerAfterSep > 0);
            System.out.printf("length buckets through the pipeline: %d texts answered bit-identically padded and unpadded; "
                    + "the topic showed %d lengths %s instead of %d; %d filler ids after [SEP] (which has %d ids)%n",
                    texts.size(), paddedLengths.size(), paddedLengths, unpaddedLengths.size(), fillerAfterSep, sepIds);
        }
    }

    private static EncryptedInferenceClient client(LocalMode local, EeKey key, ClientProfile profile) throws java.io.IOException {
        return EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers()).properties(local.clientProperties())
                .key(key).profile(profile).timeout(Duration.ofSeconds(120)).build();
    }
}
