package dev.eestream.ops.pipeline;

import static dev.eestream.ops.pipeline.ClientGenerationIntegrationTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.client.producer.PromptIds;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Homophones through a real broker, registry and processor (local mode): a decoder built here, encrypted with
 * {@code encrypt-model --homophones 4 --homophone-corpus}, so frequent words get more ids. The Java client's greedy
 * generations equal the plaintext model's, a stop token with several ids ends them whichever id the processor draws,
 * a prompt with millions of possible ciphertexts never goes out twice as the same ids (a short one goes out as more
 * than one), and the processor answers with ids spread over the top token's homophones; the
 * {@code encrypt} and {@code decrypt} commands use the profile's homophones.
 */
@Tag("integration")
class HomophoneIntegrationTest {
    private static final String MODEL = "tiny-homophones";
    private static final int VOCAB = 64;
    private static final int CONTEXT = 64; // the decoder's, as ClientGenerationIntegrationTest builds it
    private static final int NEW_TOKENS = 16;
    private static final long EOS = 2;
    private static final int REPEATS = 4;

    @TempDir
    Path work;

    @Test
    void generationWithHomophonesEqualsPlaintextAndNeverRepeatsItsCiphertexts() throws Exception {
        var source = ClientGenerationIntegrationTest.decoder(13);
        Path modelFile = work.resolve("decoder.onnx");
        Files.write(modelFile, source.toByteArray());
        Path tokenizerFile = work.resolve("tokenizer.json");
        Files.writeString(tokenizerFile, SyntheticTokenizers.numberedWords(VOCAB).text());
        Path config = work.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": true}");
        // A corpus where low-numbered words are frequent: they get the most ids.
        Path corpus = work.resolve("corpus.txt");
        Files.writeString(corpus, IntStream.range(0, 400).mapToObj(i -> "w" + (3 + i % 5) + " w" + (3 + i % 11) + " w"
                + (3 + i % 61)).collect(Collectors.joining("\n")));
        EeKey key = EeKey.generate();
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        Path models = work.resolve("models");
        ClientGenerationIntegrationTest.Run made = cli("encrypt-model", "--key", keyFile.toString(), "--model", modelFile.toString(), "--tokenizer",
                tokenizerFile.toString(), "--tokenizer-config", config.toString(), "--task", "generate", "--homophones", "4",
                "--homophone-corpus", corpus.toString(), "--out", models.resolve(MODEL).toString());
        assertEquals(0, made.exit(), made.err());
        assertTrue(made.out().contains("4.00 ids per token"), made.out());
        ClientProfile profile = ClientProfile.read(ClientProfile.besides(models.resolve(MODEL)));
        Homophones homophones = profile.homophones();
        assertEquals(4 * VOCAB, homophones.slotCount());
        assertTrue(homophones.count(3) > homophones.count(40), "a frequent word has more ids than a rare one");
        String manifest = Files.readString(ModelBundle.at(models.resolve(MODEL)).manifestFile());
        assertTrue(manifest.contains("idMultiplicities"), "the processor learns how many ids share each id's token");
        assertTrue(!manifest.contains(profile.homophoneCounts()), "but not the counts per token");
        CipherVocabulary vocab = profile.vocabulary(key);

        // The first has enough ciphertexts (about 20^6) that its sends must all differ.
        List<String> prompts = List.of("w3 w4 w5 w3 w4 w5", "w3 w17 w9", "w40 w3");
        Map<String, long[]> expected = new HashMap<>();
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        try (DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest());
             PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(tokenizerFile), null, VOCAB, CONTEXT);
             LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of()));
             EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                     .properties(local.clientProperties()).key(key).profile(profile).timeout(Duration.ofSeconds(120)).build()) {
            for (String p : prompts) {
                expected.put(p, session.greedy(PromptIds.prompt(tok.encodePlain(p), profile.generation()), NEW_TOKENS,
                        Set.of(EOS)).ids());
            }
            GenerationOptions greedy = GenerationOptions.builder().maxNewTokens(NEW_TOKENS).build();
            Set<String> requestIds = new HashSet<>();
            for (String p : prompts) {
                for (int i = 0; i < REPEATS; i++) {
                    DecryptedResult.Generation g = client.generate(p, greedy).get(120, TimeUnit.SECONDS);
                    assertEquals(Arrays.toString(expected.get(p)), Arrays.toString(g.tokenIds()), "prompt '" + p + "'");
                    requestIds.add(g.requestId());
                }
            }

            // A stop token with several ids ends the generation whichever of them the processor draws: the client sends
            // them all. Stop at a token the greedy continuation reaches, one with more than one id.
            long[] continuation = expected.get(prompts.get(1));
            int at = 1;
            while (at < continuation.length - 1 && (homophones.count((int) continuation[at]) < 2
                    || firstIndexOf(continuation, continuation[at]) < at)) {
                at++;
            }
            long stopToken = continuation[at];
            assertTrue(homophones.count((int) stopToken) >= 2, "a token with several ids in " + Arrays.toString(continuation));
            for (int i = 0; i < REPEATS; i++) {
                DecryptedResult.Generation g = client.generate(prompts.get(1), greedy.toBuilder().stopTokenId(stopToken)
                        .build()).get(120, TimeUnit.SECONDS);
                assertEquals("STOP", g.finishReason());
                assertEquals(Arrays.toString(Arrays.copyOf(continuation, at + 1)), Arrays.toString(g.tokenIds()));
                requestIds.add(g.requestId());
            }

            // What the topics carried: each prompt in REPEATS different ciphertexts, answers in several ids per token.
            Map<String, List<long[]>> sentByPrompt = new HashMap<>();
            Map<String, long[]> answers = new HashMap<>();
            Map<String, Object> props = new HashMap<>(local.clientProperties());
            props.put("bootstrap.servers", local.bootstrapServers());
            props.put("isolation.level", "read_committed");
            props.put("auto.offset.reset", "earliest");
            props.put("group.id", "it-homophones-" + System.nanoTime());
            try (KafkaConsumer<String, InferenceRequest> requests = new KafkaConsumer<>(props, Topics.REQUESTS.keySerde()
                    .deserializer(), Topics.REQUESTS.valueDeserializer(props));
                 KafkaConsumer<String, InferenceResponse> replies = new KafkaConsumer<>(props, Topics.REPLIES.keySerde()
                    .deserializer(), Topics.REPLIES.valueDeserializer(props))) {
                requests.subscribe(List.of(Topics.REQUESTS_NAME));
                replies.subscribe(List.of(Topics.REPLIES_NAME));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                int sent = 0;
                while ((sent < requestIds.size() || answers.size() < requestIds.size()) && System.nanoTime() < deadline) {
                    for (var rec : requests.poll(Duration.ofMillis(100))) {
                        long[] ids = rec.value().getTokenIds().stream().mapToLong(Long::longValue).toArray();
                        String text = tok.decodePlain(Arrays.stream(ids).map(c -> vocab.decrypt((int) c)).toArray());
                        sentByPrompt.computeIfAbsent(text, k -> new ArrayList<>()).add(ids);
                        sent++;
                    }
                    for (var rec : replies.poll(Duration.ofMillis(100))) {
                        InferenceResponse r = rec.value();
                        if (r.getTokenIds() != null && Boolean.TRUE.equals(r.getFinalChunk())) {
                            answers.put(r.getRequestId(), r.getTokenIds().stream().mapToLong(Long::longValue).toArray());
                        }
                    }
                }
            }
            int longPromptSends = 0;
            for (String p : prompts) {
                List<long[]> ciphertexts = sentByPrompt.get(p);
                int sends = p.equals(prompts.get(1)) ? 2 * REPEATS : REPEATS;
                assertEquals(sends, ciphertexts.size(), "prompt '" + p + "' sent " + sends + " times: " + sentByPrompt.keySet());
                Set<List<Long>> distinct = ciphertexts.stream().map(c -> Arrays.stream(c).boxed().toList()).collect(Collectors.toSet());
                // The draws are random: a prompt with C possible ciphertexts repeats among s sends with probability about
                // s²/2C. Where C is large that must not happen; where it is small, the sends must at least differ.
                double possible = 1;
                for (long[] c : ciphertexts.subList(0, 1)) {
                    for (long id : c) {
                        possible *= homophones.count(vocab.decrypt((int) id));
                    }
                }
                if (possible >= 1e6) {
                    assertEquals(sends, distinct.size(), "prompt '" + p + "' (" + possible + " ciphertexts) never repeats");
                    longPromptSends += sends;
                } else {
                    assertTrue(distinct.size() >= 2, "prompt '" + p + "' (" + possible + " ciphertexts) sent " + sends
                            + " times as " + distinct.size() + " ciphertext(s)");
                }
            }
            assertTrue(longPromptSends > 0, "one prompt has enough ciphertexts to be checked for repeats");
            Map<Long, Set<Long>> idsPerToken = new HashMap<>();
            answers.values().forEach(ids -> Arrays.stream(ids).forEach(c -> idsPerToken
                    .computeIfAbsent((long) vocab.decrypt((int) c), t -> new HashSet<>()).add(c)));
            long spread = idsPerToken.entrySet().stream().filter(e -> e.getValue().size() > 1).count();
            System.out.printf("homophones through the pipeline: %d greedy generations equal plaintext (%d ended by a stop token "
                    + "with %d ids); %d sends of a prompt with over 10^6 ciphertexts all distinct, the others in more than "
                    + "one; %d of %d generated tokens came back as more than one id%n", requestIds.size(), REPEATS,
                    homophones.count((int) stopToken), longPromptSends, spread, idsPerToken.size());
            assertEquals(requestIds.size(), answers.size(), "every answer read back");
            assertTrue(spread >= 2, "generated ids are spread over homophones: " + idsPerToken);

            // The commands: encrypt with the profile draws homophones; decrypt with the profile reads them back.
            ClientGenerationIntegrationTest.Run e1 = cli("encrypt", "--key", keyFile.toString(), "--profile", ClientProfile.besides(models.resolve(MODEL))
                    .toString(), "--text", "w3 w3 w3 w4");
            ClientGenerationIntegrationTest.Run e2 = cli("encrypt", "--key", keyFile.toString(), "--profile", ClientProfile.besides(models.resolve(MODEL))
                    .toString(), "--text", "w3 w3 w3 w4");
            assertEquals(0, e1.exit(), e1.err());
            assertNotEquals(e1.out(), e2.out(), "two encryptions of one text differ");
            ClientGenerationIntegrationTest.Run d = cli("decrypt", "--key", keyFile.toString(), "--profile", ClientProfile.besides(models.resolve(MODEL))
                    .toString(), "--ids", e1.out().strip());
            assertEquals(0, d.exit(), d.err());
            assertEquals("w3 w3 w3 w4", d.out().strip());
        }
    }

    private static int firstIndexOf(long[] ids, long id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        return -1;
    }
}
