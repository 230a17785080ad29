package dev.eestream.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.eestream.core.TestTexts;
import dev.eestream.core.model.BundledModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IncrementalDetokenizerTest {
    private static final List<String> TEXTS = List.of("hello world", "é", "café crème brûlée", "日本語",
            "hello 日本語 world 日本", "emoji 🙂 ok 🙂🙃🎉", "naïve Zürich, résumé; ß ø å", "a 🙂é日 b");

    @ParameterizedTest
    @ValueSource(strings = {"byteLevel", "byteFallback"})
    void deltasConcatenateToTheDecodingAndNeverHoldHalfACharacterForEveryPrefix(String kind) throws Exception {
        try (HuggingFaceTokenizer hf = TinyTokenizers.load(tokenizerJson(kind))) {
            TokenDecoder decoder = TokenDecoder.of(hf, false);
            for (String text : TEXTS) {
                long[] ids = hf.encode(text).getIds();
                assertEquals(text, decoder.decode(ids), "the tiny " + kind + " tokenizer round-trips \"" + text + "\"");
                for (int n = 1; n <= ids.length; n++) {
                    long[] prefix = Arrays.copyOf(ids, n);
                    List<String> deltas = stream(decoder, prefix);
                    String pushed = String.join("", deltas.subList(0, n));
                    String finished = deltas.get(n);
                    String context = kind + ", \"" + text + "\", first " + n + " of " + ids.length + " ids: " + deltas;
                    assertFalse(pushed.contains("\uFFFD"), context);
                    assertTrue(text.startsWith(pushed), "pushes give whole characters of the text: " + context);
                    String decoded = decoder.decode(prefix);
                    if (decoded.contains("\uFFFD")) {
                        // The prefix ends inside a character: only finish() gives the replacement character.
                        assertTrue(finished.endsWith("\uFFFD"), context);
                    } else {
                        assertEquals(decoded, pushed + finished, context);
                    }
                }
                List<String> all = stream(decoder, ids);
                assertEquals(text, String.join("", all.subList(0, ids.length)), "a complete text comes out of push alone");
                assertEquals("", all.get(ids.length));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"byteLevel", "byteFallback"})
    void multiByteCharactersReallySpanTokensAndAreHeldBackUntilComplete(String kind) throws Exception {
        try (HuggingFaceTokenizer hf = TinyTokenizers.load(tokenizerJson(kind))) {
            TokenDecoder decoder = TokenDecoder.of(hf, false);
            long[] ids = hf.encode("日本語").getIds();
            assertTrue(ids.length > 3, "日本語 is split inside characters: " + Arrays.toString(ids));
            assertTrue(Arrays.stream(ids).anyMatch(id -> decoder.decode(new long[] {id}).contains("\uFFFD")),
                    "some token alone is half a character");
            List<String> deltas = stream(decoder, ids);
            assertEquals("", deltas.get(0));
            assertEquals("日本語", String.join("", deltas));
            assertTrue(deltas.stream().filter(d -> !d.isEmpty()).allMatch(d -> "日本語".contains(d)), deltas.toString());
        }
    }

    @Test
    void aTokenSpanningTwoCharactersIsHeldUntilTheSecondIsComplete() throws Exception {
        try (HuggingFaceTokenizer hf = TinyTokenizers.load(TinyTokenizers.byteLevel(List.of()))) {
            TokenDecoder decoder = TokenDecoder.of(hf, false);
            // "日本" is E6 97 A5 | E6 9C AC; the merge "A5 E6" makes a token that ends one character and starts the next,
            // so the text ends in half a character until AC arrives.
            long[] ids = hf.encode("日本").getIds();
            assertEquals(5, ids.length, Arrays.toString(ids));
            assertEquals(List.of("", "", "", "", "日本", ""), stream(decoder, ids));
        }
    }

    @Test
    void finishGivesTheReplacementCharacterOfAnIncompleteEndAsDecodeDoes() throws Exception {
        try (HuggingFaceTokenizer hf = TinyTokenizers.load(TinyTokenizers.byteLevel(List.of()))) {
            TokenDecoder decoder = TokenDecoder.of(hf, false);
            long[] ids = hf.encode("ok 🙂").getIds();
            IncrementalDetokenizer stream = new IncrementalDetokenizer(decoder);
            StringBuilder pushed = new StringBuilder();
            for (int i = 0; i < ids.length - 1; i++) {
                pushed.append(stream.push(ids[i]));
            }
            assertEquals("ok ", pushed.toString());
            assertEquals("\uFFFD", stream.finish());
        }
    }

    @Test
    void wordPieceDeltasOfTheBundledTokenizerConcatenateToTheFullDecoding() throws Exception {
        try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), null, null, 512)) {
            for (String text : TestTexts.varied(40, 3)) {
                long[] ids = tok.encodePlain(text);
                List<String> deltas = stream(tok::decodePlain, ids);
                assertEquals(tok.decodePlain(ids), String.join("", deltas), "\"" + text + "\": " + deltas);
            }
        }
    }

    /** Every push's delta, then finish()'s. */
    private static List<String> stream(TokenDecoder decoder, long[] ids) {
        IncrementalDetokenizer stream = new IncrementalDetokenizer(decoder);
        List<String> deltas = new ArrayList<>();
        for (long id : ids) {
            deltas.add(stream.push(id));
        }
        deltas.add(stream.finish());
        return deltas;
    }

    private static String tokenizerJson(String kind) {
        return kind.equals("byteLevel") ? TinyTokenizers.byteLevel(List.of("<|endoftext|>")) : TinyTokenizers.byteFallback();
    }
}
