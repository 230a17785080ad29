package dev.eestream.core.model.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The word-level tokenizer runs in the real Hugging Face tokenizer: ids in word order, specials below them. */
class SyntheticTokenizersTest {
    private static final List<String> WORDS = List.of("river", "stone", "quiet", "light", "w7");

    @Test
    void wordsGetTheirIdsInOrderAndDecodeJoinedBySpaces() throws Exception {
        TokenizerJson json = SyntheticTokenizers.wordLevel(WORDS);
        assertEquals(WORDS.size() + 3, json.vocabSize());
        assertEquals(SyntheticTokenizers.EOS_ID, json.addedTokenId(SyntheticTokenizers.EOS).getAsInt());
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, null, json.vocabSize(), 64)) {
            assertArrayEquals(new long[] {3, 6, 4, 0, 7}, tok.encodePlain("river light stone moon w7"));
            assertArrayEquals(new long[] {5, 0, 3}, tok.encodePlain("quiet, river"), "punctuation is a word of its own");
            assertEquals("quiet river w7", tok.decodePlain(new long[] {SyntheticTokenizers.BOS_ID, 5, 3, 7, SyntheticTokenizers.EOS_ID}),
                    "special tokens are left out of the text");
        }
        TokenizerConfig config = TokenizerConfig.of("{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}", "config", json);
        assertEquals(SyntheticTokenizers.BOS_ID, config.bosId().getAsLong());
        assertEquals(List.of((long) SyntheticTokenizers.EOS_ID), config.stopIds());
    }

    @Test
    void numberedWordsHaveTheIdOfTheirNumber() throws Exception {
        TokenizerJson json = SyntheticTokenizers.numberedWords(64);
        assertEquals(64, json.vocabSize());
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, null, 64, 64)) {
            assertArrayEquals(new long[] {3, 17, 63, 0}, tok.encodePlain("w3 w17 w63 w64"));
        }
    }

    @Test
    void wordsTheTokenizerCouldNotLookUpAreRefused() {
        EeException twice = assertThrows(EeException.class, () -> SyntheticTokenizers.wordLevel(List.of("a", "b", "a")));
        assertTrue(twice.getMessage().contains("'a' is given twice"), twice.getMessage());
        EeException split = assertThrows(EeException.class, () -> SyntheticTokenizers.wordLevel(List.of("two words")));
        assertTrue(split.getMessage().contains("not a word"), split.getMessage());
        assertThrows(EeException.class, () -> SyntheticTokenizers.wordLevel(List.of("</s>")));
    }
}
