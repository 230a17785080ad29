package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.DecoderState;
import dev.eestream.runtime.session.Generation;
import dev.eestream.runtime.session.ModelSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Homophones: each token has several ciphertext ids, drawn at random per occurrence, and the EE model computes
 * exactly what the plaintext model does whichever id is sent. Encoders: outputs equal plaintext (bit-identical
 * without ρ). Decoders: greedy generation decrypts to the plaintext tokens, and every id's logit is its token's
 * plaintext logit, the same for all ids of a token (what lets the processor draw tokens, not ids). float16, fused
 * (EmbedLayerNormalization) and static QDQ encoders are checked with homophones next to their own equivalence tests.
 */
class HomophoneEquivalenceTest {
    private static final int INPUTS = 120;
    private final EeKey key = EeKey.generate();

    /** Frequent tokens get more ids: a Zipf-like corpus over the vocabulary, about {@code perToken} ids each. */
    static Homophones zipf(int vocab, int perToken, long seed) {
        long[] freq = new long[vocab];
        Random r = new Random(seed);
        for (int t = 0; t < vocab; t++) {
            freq[t] = 1 + (long) (10_000.0 / (1 + r.nextInt(vocab)));
        }
        return Homophones.proportional(freq, perToken);
    }

    static List<long[]> encrypt(List<long[]> clear, CipherVocabulary vocab) {
        return TinyTransformerEquivalenceTest.encrypt(clear, vocab::encrypt);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"embed, true", "classify, false", "classify, true"})
    void anEncoderWithHomophonesComputesThePlaintextOutputsWhicheverIdsAreSent(String taskName, boolean hidden) {
        Task task = Task.parse(taskName);
        ModelProto source = TinyModels.encoder(7, null);
        float[][] prototypes = task == Task.CLASSIFY ? TinyTransformerEquivalenceTest.unitRows(4, TinyModels.HIDDEN, 3) : null;
        Homophones homophones = zipf(TinyModels.ENCODER_VOCAB, 4, 5);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(task).key(key)
                .hiddenPermutation(hidden).labelPrototypes(prototypes).homophones(homophones).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(task)
                .labelPrototypes(prototypes).build());
        assertEquals(homophones.slotCount(), ee.manifest().vocabSize());
        assertTrue(homophones.slotCount() >= 4 * TinyModels.ENCODER_VOCAB - 1, "about 4 ids per token");
        assertEquals(null, ee.manifest().idMultiplicities(), "an encoder's manifest needs no multiplicities");

        CipherVocabulary vocab = key.vocabulary(homophones);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        List<String> labels = List.of("a", "b", "c", "d");
        List<long[]> inputs = TinyTransformerEquivalenceTest.randomSequences(INPUTS, TinyModels.ENCODER_VOCAB, 1,
                TinyModels.MAX_POSITIONS, 11);
        double[] worst = {0};
        int differentCiphertexts = PairedRuns.homophonesInBatches(ee, plain, inputs, vocab, 16,
                (index, eeOut, eeAgain, plainOut) -> {
                    assertArrayEquals(eeOut, eeAgain, 0f, "the ids drawn do not change the output");
                    float[] decrypted = task == Task.EMBED ? decryptor.embedding(eeOut)
                            : PairedRuns.byLabel(decryptor.classScores(eeOut, labels), labels);
                    if (hidden) {
                        worst[0] = Math.max(worst[0], Compare.maxRelativeDifference(decrypted, plainOut));
                    } else {
                        assertArrayEquals(plainOut, decrypted, 0f, "input " + index);
                    }
                });
        System.out.printf("homophones %s rho=%s: %d ids for %d tokens, %d of %d inputs encrypted differently twice, worst "
                + "relative difference %.3g%n", task, hidden, homophones.slotCount(), homophones.vocabSize(),
                differentCiphertexts, INPUTS, worst[0]);
        // Only a short input of rare tokens (one id each) can repeat.
        assertTrue(differentCiphertexts >= INPUTS * 9 / 10, "the same text encrypts differently: " + differentCiphertexts);
        assertTrue(worst[0] <= 1e-5, "max relative difference " + worst[0]);
    }

    @ParameterizedTest(name = "{0}, tied head {1}, hidden permutation {2}")
    @CsvSource({"llama, true, false", "llama, false, true", "gpt2, true, false", "gpt2, true, true"})
    void aDecoderWithHomophonesGeneratesThePlaintextTokensAndGivesEveryIdItsTokensLogit(String family, boolean tied,
            boolean hidden) {
        ModelProto source = GenerateEquivalenceTest.decoder(family, tied);
        Homophones homophones = zipf(TinyDecoders.VOCAB, 3, 7);
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).key(key)
                .hiddenPermutation(hidden).homophones(homophones).modelId("tiny-decoder").build());
        ModelTransformer.Result plain = GenerateEquivalenceTest.transform(source, null, false);
        CipherVocabulary vocab = key.vocabulary(homophones);
        assertEquals(homophones.slotCount(), ee.manifest().vocabSize());
        assertEquals(homophones.slotCount(), ee.manifest().outputWidth());
        int[] multiplicities = ee.manifest().multiplicities();
        for (int c = 0; c < multiplicities.length; c++) {
            assertEquals(homophones.count(vocab.decrypt(c)), multiplicities[c], "id " + c);
        }

        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(40, TinyDecoders.VOCAB, 1, 20, 29);
        int newTokens = 12;
        double worst = 0;
        Set<Long> distinct = new HashSet<>();
        try (DecoderSession eeSession = DecoderSession.open(ee.modelBytes(), ee.manifest());
             DecoderSession plainSession = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            List<long[]> encrypted = encrypt(prompts, vocab);
            List<Generation> got = eeSession.greedy(encrypted, newTokens, Set.of());
            for (int p = 0; p < prompts.size(); p++) {
                Generation want = plainSession.greedy(prompts.get(p), newTokens, Set.of());
                long[] decrypted = Arrays.stream(got.get(p).ids()).map(c -> vocab.decrypt((int) c)).toArray();
                assertArrayEquals(want.ids(), decrypted, "prompt " + p);
                Arrays.stream(want.ids()).forEach(distinct::add);

                // Step by step along the plaintext generation, each step fed a freshly drawn id of the token.
                DecoderState plainState = plainSession.prefill(List.of(prompts.get(p))).get(0);
                DecoderState eeState = eeSession.prefill(List.of(encrypted.get(p))).get(0);
                for (long token : want.ids()) {
                    float[] eeLogits = eeState.nextLogits();
                    float[] plainLogits = plainState.nextLogits();
                    float[] byId = new float[eeLogits.length];
                    float[] firstOfToken = new float[TinyDecoders.VOCAB];
                    boolean[] seen = new boolean[TinyDecoders.VOCAB];
                    for (int c = 0; c < eeLogits.length; c++) {
                        int t = vocab.decrypt(c);
                        byId[c] = plainLogits[t];
                        if (seen[t]) {
                            assertEquals(Float.floatToIntBits(firstOfToken[t]), Float.floatToIntBits(eeLogits[c]),
                                    "all ids of token " + t + " get bit-identical logits");
                        }
                        seen[t] = true;
                        firstOfToken[t] = eeLogits[c];
                    }
                    if (hidden) {
                        worst = Math.max(worst, Compare.maxRelativeDifference(eeLogits, byId));
                    } else {
                        assertArrayEquals(byId, eeLogits, 0f, "prompt " + p);
                    }
                    plainState = plainSession.step(List.of(plainState), new long[] {token}).get(0);
                    eeState = eeSession.step(List.of(eeState), new long[] {vocab.encrypt((int) token)}).get(0);
                }
            }
        }
        System.out.printf("homophones generate %s tied=%s rho=%s: %d ids for %d tokens, %d prompts x %d tokens equal, %d "
                + "distinct, worst relative logit difference %.3g%n", family, tied, hidden, homophones.slotCount(),
                TinyDecoders.VOCAB, prompts.size(), newTokens, distinct.size(), worst);
        assertTrue(distinct.size() >= 10, "too degenerate to test with: " + distinct);
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    /**
     * The real all-MiniLM-L6-v2, float and int8 (whose DynamicQuantizeLinear takes one scale over the whole batch, padding
     * included): zero-shot scores of real texts, each token drawn among its homophones (allotted by other texts' token
     * counts), are bit-identical to the plaintext model's in batches of 16.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
    void realTextsThroughTheRealModelWithHomophonesAreBitIdentical(String name) throws Exception {
        ModelProto source;
        dev.eestream.core.tokenizer.TokenizerJson tokenizer;
        if (name.endsWith("-q")) {
            try (var in = getClass().getResourceAsStream("/" + name + ".onnx");
                 var tin = getClass().getResourceAsStream("/" + name + "-tokenizer.json")) {
                source = ModelTransformer.read(in, name);
                tokenizer = dev.eestream.core.tokenizer.TokenizerJson.of(new String(tin.readAllBytes(),
                        java.nio.charset.StandardCharsets.UTF_8), name);
            }
        } else {
            try (var in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
                source = ModelTransformer.read(in, name);
            }
            tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        }
        List<String> labels = List.of("finance and payments", "sports", "technology and computing", "health and medicine");
        long[] frequencies = new long[tokenizer.vocabSize()];
        try (var plain = dev.eestream.core.tokenizer.PrivateTokenizer.open(tokenizer, null, null, null)) {
            for (String text : dev.eestream.core.TestTexts.varied(300, 5)) {
                for (long t : plain.encodePlain(text)) {
                    frequencies[(int) t]++;
                }
            }
        }
        Homophones homophones = Homophones.proportional(frequencies, 3);
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer, TransformSpec.builder(Task.CLASSIFY).key(key)
                .homophones(homophones).modelId("ee").build(), labels, stage -> { });
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizer, TransformSpec.builder(Task.CLASSIFY)
                .modelId("plain").build(), labels, stage -> { });
        List<String> texts = new ArrayList<>(dev.eestream.core.TestTexts.varied(64, 43));
        int[] identical = {0};
        try (var tok = dev.eestream.core.tokenizer.PrivateTokenizer.open(tokenizer, key, ee.manifest().vocabSize(), 128,
                homophones);
             ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            OutputDecryptor decryptor = new OutputDecryptor(key);
            PairedRuns.inBatches(tok, eeSession, plainSession, texts, 16, (text, eeOut, plainOut) -> {
                float[] decrypted = PairedRuns.byLabel(decryptor.classScores(eeOut, labels), labels);
                identical[0] += Arrays.equals(decrypted, plainOut) ? 1 : 0;
            });
        }
        System.out.printf("homophones on real %s: %d ids for %d tokens, %d of %d texts bit-identical%n", name,
                homophones.slotCount(), homophones.vocabSize(), identical[0], texts.size());
        assertEquals(texts.size(), identical[0]);
    }

    @Test
    void aModelThatComparesTokenIdsIsRefusedNamingTheNode() {
        ModelProto roberta = TinyEncoderFamilies.roberta(3);
        var e = assertThrows(EeException.class, () -> ModelTransformer.transform(roberta, TransformSpec.builder(Task.EMBED)
                .key(key).homophones(Homophones.uniform(TinyModels.ENCODER_VOCAB, 2)).build()));
        assertTrue(e.getMessage().contains("homophones") && e.getMessage().contains("Equal"), e.getMessage());
    }

    @Test
    void homophonesNeedAKeyAndTheModelsVocabulary() {
        ModelProto source = TinyModels.encoder(7, null);
        var noKey = assertThrows(EeException.class, () -> ModelTransformer.transform(source, TransformSpec
                .builder(Task.EMBED).homophones(Homophones.uniform(TinyModels.ENCODER_VOCAB, 2)).build()));
        assertTrue(noKey.getMessage().contains("key"), noKey.getMessage());
        var wrong = assertThrows(EeException.class, () -> ModelTransformer.transform(source, TransformSpec
                .builder(Task.EMBED).key(key).homophones(Homophones.uniform(TinyModels.ENCODER_VOCAB + 1, 2)).build()));
        assertTrue(wrong.getMessage().contains("rows"), wrong.getMessage());
    }

    @Test
    void allotmentFollowsFrequenciesKeepsOneIdPerTokenAndSpendsTheBudget() {
        long[] freq = new long[1000];
        freq[0] = 500_000;
        freq[1] = 100_000;
        for (int t = 2; t < 900; t++) {
            freq[t] = 1000 / (t - 1) + 1;
        }
        Homophones h = Homophones.proportional(freq, 8);
        assertEquals(8 * 1000, h.slotCount());
        assertTrue(h.count(0) > h.count(1) && h.count(1) > h.count(2) && h.count(2) >= h.count(500));
        for (int t = 900; t < 1000; t++) {
            assertEquals(1, h.count(t), "an unseen token keeps one id");
        }
        assertEquals(Homophones.uniform(1000, 3), Homophones.proportional(new long[1000], 3), "no counts: uniform");
        assertFalse(Homophones.none(10).any());
        assertEquals(key.vocabPermutation(10), key.vocabulary(Homophones.none(10)).slotPermutation(),
                "one id per token is plain π: models encrypted before homophones keep their ids");
    }

    @Test
    void aVocabularyMapsEveryIdOfATokenBackToIt() {
        Homophones h = zipf(200, 5, 1);
        CipherVocabulary vocab = key.vocabulary(h);
        Set<Long> all = new HashSet<>();
        for (int t = 0; t < 200; t++) {
            long[] ids = vocab.cipherIdsOf(t);
            assertEquals(h.count(t), ids.length);
            for (long c : ids) {
                assertEquals(t, vocab.decrypt((int) c));
                assertTrue(all.add(c), "no id serves two tokens");
            }
            long first = vocab.encryptFirst(t);
            assertTrue(Arrays.stream(ids).anyMatch(c -> c == first));
        }
        assertEquals(h.slotCount(), all.size());
        // A token with k ids draws each about 1/k of the time.
        int token = 0;
        for (int t = 1; t < 200; t++) {
            token = h.count(t) > h.count(token) ? t : token;
        }
        Map<Long, Integer> drawn = new java.util.HashMap<>();
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            drawn.merge(vocab.encrypt(token), 1, Integer::sum);
        }
        assertEquals(h.count(token), drawn.size());
        double expected = (double) draws / h.count(token);
        drawn.values().forEach(n -> assertTrue(Math.abs(n - expected) < 6 * Math.sqrt(expected), n + " vs " + expected));
    }
}
