package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
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
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The generate transform on tiny Llama- and GPT-2-style decoders in the optimum with-past layout:
 * EE greedy generation (ciphertext prompt in, ciphertext ids out, decrypted with π⁻¹) equals
 * plaintext greedy generation token for token, EE logits equal plaintext logits once un-permuted,
 * KV-cache decoding equals recomputing the whole sequence, and a batch equals each prompt alone.
 */
class GenerateEquivalenceTest {
    private static final int PROMPTS = 56;
    private static final int NEW_TOKENS = 16;
    private static final int BATCH = 16;
    private static final Set<Long> NO_STOP = Set.of();
    private final EeKey key = EeKey.generate();

    static ModelProto decoder(String family, boolean tied) {
        return switch (family) {
            case "llama" -> TinyDecoders.llama(3, tied, null);
            case "llama-computed-rotary" -> TinyDecoders.llamaComputedRotary(3);
            default -> TinyDecoders.gpt2(3);
        };
    }

    /** The computed-rotary decoder has no position table to read the context length from: it is given. */
    static ModelTransformer.Result transform(ModelProto source, EeKey key, boolean hidden) {
        boolean hasTable = source.getGraph().getInitializerList().stream()
                .anyMatch(t -> t.getName().equals("cos_cached") || t.getName().equals("wpe"));
        return ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).key(key).hiddenPermutation(hidden)
                .maxSequenceLength(hasTable ? null : TinyDecoders.CONTEXT).modelId("tiny-decoder").build());
    }

    @ParameterizedTest(name = "{0}, tied head {1}, hidden permutation {2}")
    @CsvSource({"llama, true, false", "llama, true, true", "llama, false, false", "llama, false, true",
            "gpt2, true, false", "gpt2, true, true", "llama-computed-rotary, false, true"})
    void eeGreedyGenerationAndLogitsMatchPlaintext(String family, boolean tied, boolean hidden) {
        ModelProto source = decoder(family, tied);
        ModelTransformer.Result ee = transform(source, key, hidden);
        ModelTransformer.Result plain = transform(source, null, false);
        Permutation pi = key.vocabPermutation(TinyDecoders.VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(PROMPTS, TinyDecoders.VOCAB, 1, 20, 29);
        double worst = 0;
        Set<Long> distinct = new HashSet<>();
        try (DecoderSession eeSession = DecoderSession.open(ee.modelBytes(), ee.manifest());
             DecoderSession plainSession = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            List<Generation> expected = new ArrayList<>();
            for (long[] prompt : prompts) {
                expected.add(plainSession.greedy(prompt, NEW_TOKENS, NO_STOP));
            }
            List<long[]> encrypted = TinyTransformerEquivalenceTest.encrypt(prompts, pi);
            for (int from = 0; from < PROMPTS; from += BATCH) {
                List<Generation> got = eeSession.greedy(encrypted.subList(from, Math.min(PROMPTS, from + BATCH)), NEW_TOKENS, NO_STOP);
                for (int i = 0; i < got.size(); i++) {
                    Generation want = expected.get(from + i);
                    assertEquals(NEW_TOKENS, want.ids().length);
                    assertEquals(Generation.FinishReason.LENGTH, got.get(i).finishReason());
                    assertArrayEquals(want.ids(), decryptor.tokenIds(got.get(i).ids(), TinyDecoders.VOCAB),
                            "prompt " + (from + i) + " " + Arrays.toString(prompts.get(from + i)));
                    Arrays.stream(want.ids()).forEach(distinct::add);
                }
            }
            // Logits step by step along the plaintext generation: EE un-permuted equals plaintext.
            LogitSteps.Outcome logits = LogitSteps.compare(plainSession, eeSession, prompts, encrypted, expected, decryptor, pi,
                    hidden);
            worst = logits.worst();
        }
        System.out.printf("generate %s tied=%s rho=%s: %d prompts x %d tokens equal; %d distinct tokens; worst relative "
                + "logit difference %.3g%n", family, tied, hidden, PROMPTS, NEW_TOKENS, distinct.size(), worst);
        assertTrue(distinct.size() >= 10, "the tiny decoder generates only " + distinct + ": too degenerate to test with");
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama", "gpt2", "llama-computed-rotary"})
    void kvCacheDecodingEqualsRecomputingTheWholeSequence(String family) {
        ModelTransformer.Result plain = transform(decoder(family, true), null, false);
        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(20, TinyDecoders.VOCAB, 1, 20, 31);
        double worst = 0;
        try (DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            for (long[] prompt : prompts) {
                DecoderState cached = session.prefill(List.of(prompt)).get(0);
                long[] sequence = Arrays.copyOf(prompt, prompt.length + NEW_TOKENS);
                for (int t = 0; t < NEW_TOKENS; t++) {
                    long next = cached.argmax();
                    sequence[prompt.length + t] = next;
                    cached = session.step(List.of(cached), new long[] {next}).get(0);
                }
                DecoderState whole = session.prefill(List.of(sequence)).get(0);
                assertEquals(sequence.length, cached.length());
                assertEquals(whole.argmax(), cached.argmax(), "next token after " + Arrays.toString(sequence));
                worst = Math.max(worst, Compare.maxRelativeDifference(cached.nextLogits(), whole.nextLogits()));
            }
        }
        System.out.printf("generate %s: KV cache vs recomputation, worst relative logit difference %.3g%n", family, worst);
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"llama, false", "llama, true", "gpt2, true"})
    void aBatchOfMixedLengthsGeneratesWhatEachPromptGeneratesAlone(String family, boolean hidden) {
        ModelTransformer.Result ee = transform(decoder(family, false), key, hidden);
        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(BATCH, TinyDecoders.VOCAB, 1, 20, 37);
        java.util.Collections.shuffle(prompts, new java.util.Random(3));
        assertTrue(prompts.stream().mapToInt(p -> p.length).distinct().count() > 5, "lengths are mixed");
        // A stop id some prompts meet early and others never: sequences leave the batch at different steps.
        try (DecoderSession session = DecoderSession.open(ee.modelBytes(), ee.manifest())) {
            long stop = session.greedy(prompts.get(0), 4, NO_STOP).ids()[3];
            List<Generation> batch = session.greedy(prompts, NEW_TOKENS, Set.of(stop));
            int stopped = 0;
            for (int i = 0; i < prompts.size(); i++) {
                Generation alone = session.greedy(prompts.get(i), NEW_TOKENS, Set.of(stop));
                assertEquals(alone, batch.get(i), "prompt " + i + " of length " + prompts.get(i).length);
                if (alone.finishReason() == Generation.FinishReason.STOP) {
                    stopped++;
                    long[] ids = alone.ids();
                    assertEquals(stop, ids[ids.length - 1]);
                    assertTrue(Arrays.stream(ids, 0, ids.length - 1).noneMatch(id -> id == stop));
                }
            }
            assertTrue(stopped >= 1, "the stop id ended at least the prompt it came from");
            assertTrue(stopped < prompts.size(), "some sequences ran to the length limit");
        }
    }

    @Test
    void generationStopsAtTheContextLength() {
        ModelTransformer.Result plain = transform(decoder("llama", true), null, false);
        assertEquals(TinyDecoders.CONTEXT, plain.manifest().maxSequenceLength());
        long[] prompt = IntStream.range(0, TinyDecoders.CONTEXT - 3).mapToLong(i -> (i * 7) % TinyDecoders.VOCAB).toArray();
        try (DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            Generation g = session.greedy(prompt, NEW_TOKENS, NO_STOP);
            assertEquals(3, g.ids().length);
            assertEquals(Generation.FinishReason.LENGTH, g.finishReason());
            assertEquals(0, session.greedy(prompt, 0, NO_STOP).ids().length);
            long[] tooLong = new long[TinyDecoders.CONTEXT + 1];
            EeException e = assertThrows(EeException.class, () -> session.greedy(tooLong, 1, NO_STOP));
            assertTrue(e.getMessage().contains("exceeds the context length " + TinyDecoders.CONTEXT), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama, 2", "gpt2, 4"})
    void theManifestDescribesTheCacheAndTheModelKeepsOnlyLogitsAndPresents(String family, int kvHeads) {
        ModelTransformer.Result ee = transform(decoder(family, true), key, true);
        assertEquals("generate", ee.manifest().task());
        assertEquals(TinyDecoders.LAYERS, ee.manifest().layerCount());
        assertEquals(kvHeads, ee.manifest().kvHeads());
        assertEquals(TinyDecoders.HEAD_SIZE, ee.manifest().headSize());
        assertEquals(TinyDecoders.CONTEXT, ee.manifest().maxSequenceLength());
        assertEquals(TinyDecoders.VOCAB, ee.manifest().outputWidth());
        assertEquals(List.of("logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"),
                ee.model().getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList());
        assertEquals(Set.of("input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value",
                "past_key_values.1.key", "past_key_values.1.value"),
                Set.copyOf(ee.model().getGraph().getInputList().stream().map(ValueInfoProto::getName).toList()));
    }

    @Test
    void withoutAPositionTableTheContextLengthIsASetting() {
        EeException e = assertThrows(EeException.class, () -> ModelTransformer.transform(TinyDecoders.llamaComputedRotary(3),
                TransformSpec.builder(Task.GENERATE).key(key).build()));
        assertEquals(java.util.Optional.of("maxSequenceLength"), e.setting());
        assertEquals(TinyDecoders.CONTEXT, transform(TinyDecoders.llamaComputedRotary(3), key, true).manifest().maxSequenceLength());
    }

    @Test
    void anOpNoRuleProvesSafeOnTheResidualStreamIsAnErrorNamingTheNode() {
        ModelProto source = TinyDecoders.llama(3, true, "Trilu");
        var e = assertThrows(dev.eestream.core.model.transform.UnsupportedModelException.class,
                () -> transform(source, key, true));
        assertEquals(TinyDecoders.SUSPICIOUS, e.nodeName());
        assertTrue(e.getMessage().contains("'" + TinyDecoders.SUSPICIOUS + "' (Trilu)"), e.getMessage());
    }

    @Test
    void aCacheHoldingTheResidualStreamIsRefusedWithTheHiddenPermutation() {
        ModelProto source = TinyDecoders.streamInCache(3);
        TransformSpec.Builder spec = TransformSpec.builder(Task.GENERATE).key(key).maxSequenceLength(TinyDecoders.CONTEXT);
        var e = assertThrows(dev.eestream.core.model.transform.UnsupportedModelException.class,
                () -> ModelTransformer.transform(source, spec.hiddenPermutation(true).build()));
        assertEquals("present.0.key", e.nodeName());
        assertTrue(e.getMessage().contains("is a KV-cache tensor but is [?, 1, ?, " + TinyDecoders.HIDDEN
                + "], axis 3 permuted by ρ"), e.getMessage());
        // Without ρ nothing on the stream is permuted: the cache holds what the plaintext model's does.
        assertEquals(1, ModelTransformer.transform(source, spec.hiddenPermutation(false).build()).manifest().layerCount());
    }

    @Test
    void aClosedSessionRefusesWork() {
        ModelTransformer.Result plain = transform(decoder("gpt2", true), null, false);
        DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest());
        session.close();
        session.close();
        assertThrows(IllegalStateException.class, () -> session.greedy(new long[] {1, 2}, 2, NO_STOP));
    }

    @Test
    void anEncoderManifestDoesNotOpenADecoderSession() {
        ModelTransformer.Result embed = ModelTransformer.transform(TinyModels.encoder(7, null),
                TransformSpec.builder(Task.EMBED).key(key).build());
        EeException e = assertThrows(EeException.class, () -> DecoderSession.open(embed.modelBytes(), embed.manifest()));
        assertTrue(e.getMessage().contains("is not a generate model"), e.getMessage());
    }

    /** The processor's encoder path refuses a generate model with a reason, rather than failing on every batch. */
    @Test
    void aGenerateModelDoesNotOpenAnEncoderSession() {
        ModelTransformer.Result gpt2 = ModelTransformer.transform(TinyDecoders.gpt2(3),
                TransformSpec.builder(Task.GENERATE).key(key).modelId("tiny-decoder").build());
        EeException e = assertThrows(EeException.class, () -> ModelSession.open(gpt2.modelBytes(), gpt2.manifest()));
        assertTrue(e.getMessage().contains("runs in a DecoderSession"), e.getMessage());
    }
}
