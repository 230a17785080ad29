package dev.eestream.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.eestream.core.TestTexts;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.BundledModel;
import dev.eestream.runtime.EeException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrivateTokenizerTest {
    private final EeKey key = EeKey.generate();

    @Test
    void encryptThenDecryptGivesTheNormalisedTextBack() throws Exception {
        TokenizerJson json = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, key, null, null)) {
            assertEquals(30522, tok.vocabSize());
            long[] cipher = tok.encrypt("Hello, encrypted world!");
            long[] plain = tok.encodePlain("Hello, encrypted world!");
            assertEquals(plain.length, cipher.length);
            assertFalse(Arrays.equals(plain, cipher));
            assertEquals(101, plain[0]); // [CLS]: special tokens are encrypted too
            assertEquals(key.vocabPermutation(30522).apply(101), cipher[0]);
            assertEquals("hello, encrypted world!", tok.decrypt(cipher));
            assertArrayEquals(plain, tok.decryptIds(cipher));
        }
    }

    @Test
    void longTextsAreTruncatedAndNeverPadded() throws Exception {
        TokenizerJson json = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, key, null, 512)) {
            String longText = "word ".repeat(2000);
            assertEquals(512, tok.encrypt(longText).length);
            assertEquals(3, tok.encrypt("word").length);
        }
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, key, null, null)) {
            assertEquals(128, tok.encrypt("word ".repeat(2000)).length, "the file's own truncation length");
        }
    }

    @Test
    void exportedPrivateTokenizerGivesTheSameIdsAsEncrypt() throws Exception {
        TokenizerJson json = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        String exported = PrivateTokenizerExport.export(json, key.vocabPermutation(json.vocabSize()));
        List<String> texts = TestTexts.varied(200, 9);
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "true", "padding", "false",
                "maxLength", "128");
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, key, null, 128);
             HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                     new ByteArrayInputStream(exported.getBytes(StandardCharsets.UTF_8)), options)) {
            for (String t : texts) {
                assertArrayEquals(tok.encrypt(t), hf.encode(t).getIds(), "ids of \"" + t + "\"");
            }
            assertEquals(tok.decrypt(tok.encrypt(texts.get(12))), hf.decode(tok.encrypt(texts.get(12)), true));
        }
        assertFalse(exported.contains("\"[CLS]\": 101"));
    }

    @Test
    void tokenizerLargerThanTheModelVocabularyIsRefused() throws Exception {
        TokenizerJson json = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        EeException e = assertThrows(EeException.class, () -> PrivateTokenizer.open(json, key, 1000, null));
        assertTrue(e.getMessage().contains("do not belong together"), e.getMessage());
    }

    @Test
    void idsOutsideTheVocabularyAreRefusedOnDecrypt() throws Exception {
        try (PrivateTokenizer tok = PrivateTokenizer.open(BundledModel.ALL_MINILM_L6_V2.tokenizer(), key, null, null)) {
            assertThrows(EeException.class, () -> tok.decrypt(new long[] {30522}));
            assertThrows(EeException.class, () -> tok.decrypt(new long[] {-1}));
        }
    }
}
