package dev.eestream.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.EeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerConfigTest {
    // Byte-level vocabulary: 256 bytes + 11 merges = ids 0–266; added tokens from 267 in this order.
    private static final TokenizerJson LLAMA3 = TokenizerJson.of(TinyTokenizers.byteLevel(List.of("<|begin_of_text|>",
            "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")), "llama3-like");
    private static final TokenizerJson QWEN = TokenizerJson.of(
            TinyTokenizers.byteLevel(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>")), "qwen-like");

    @Test
    void stringTokensResolveToAddedTokenIdsAndEndOfTurnMarkersAreStops(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer_config.json");
        Files.writeString(file, """
                {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": true,
                 "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"}
                """);
        TokenizerConfig config = TokenizerConfig.read(file, LLAMA3);
        assertEquals(Optional.of("<|begin_of_text|>"), config.bosToken());
        assertEquals(OptionalLong.of(267), config.bosId());
        assertEquals(OptionalLong.of(271), config.eosId());
        assertEquals(List.of(271L, 268L), config.stopIds(), "EOS, then <|end_of_text|>; <|eot_id|> only once");
        assertTrue(config.isStop(268));
        assertFalse(config.isStop(267));
        assertEquals(Optional.of(true), config.addBosToken());
        assertEquals(Optional.of("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"), config.chatTemplate());
        assertEquals(config.chatTemplate(), config.chatTemplate("default"));
        assertEquals(Map.of(), config.namedChatTemplates());
    }

    @Test
    void addedTokenObjectsAndVocabularyEntriesResolve() {
        TokenizerJson llama2 = TokenizerJson.of(TinyTokenizers.byteFallback(), "llama2-like");
        TokenizerConfig config = TokenizerConfig.of("""
                {"add_bos_token": false, "add_eos_token": false,
                 "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false, "normalized": false},
                 "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false, "normalized": false},
                 "unk_token": {"__type": "AddedToken", "content": "<unk>"}, "model_max_length": 4096}
                """, "llama2 config", llama2);
        assertEquals(Optional.of("<s>"), config.bosToken());
        assertEquals(OptionalLong.of(1), config.bosId());
        assertEquals(OptionalLong.of(2), config.eosId());
        assertEquals(List.of(2L), config.stopIds());
        assertEquals(Optional.of(false), config.addBosToken());
        assertEquals(Optional.empty(), config.chatTemplate());

        // "hel" is an ordinary vocabulary entry, not an added token.
        TokenizerConfig plain = TokenizerConfig.of("{\"eos_token\": \"▁hel\"}", "vocab eos", llama2);
        assertEquals(OptionalLong.of(llama2.tokenId("▁hel").getAsInt()), plain.eosId());
        assertTrue(plain.eosId().getAsLong() > 258);
    }

    @Test
    void listOfNamedTemplatesGivesDefaultAndTheNamedOnes() {
        TokenizerConfig config = TokenizerConfig.of("""
                {"bos_token": null, "eos_token": "<|im_end|>", "tokenizer_class": "Qwen2Tokenizer",
                 "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}
                """, "qwen config", QWEN);
        assertEquals(Optional.empty(), config.bosToken());
        assertEquals(OptionalLong.empty(), config.bosId());
        assertEquals(Optional.empty(), config.addBosToken());
        assertEquals(Optional.of("D"), config.chatTemplate());
        assertEquals(Optional.of("T"), config.chatTemplate("tool_use"));
        assertEquals(Set.of("default", "tool_use"), config.namedChatTemplates().keySet());
        assertEquals(List.of(269L, 267L), config.stopIds(), "<|im_end|> (EOS), then <|endoftext|>");
    }

    @Test
    void configIsAnImmutableValue() {
        String text = "{\"eos_token\": \"<|im_end|>\", \"chat_template\": [{\"name\": \"default\", \"template\": \"D\"}]}";
        TokenizerConfig a = TokenizerConfig.of(text, "a", QWEN);
        assertEquals(a, TokenizerConfig.of(text, "b", QWEN));
        assertThrows(UnsupportedOperationException.class, () -> a.stopIds().add(1L));
        assertThrows(UnsupportedOperationException.class, () -> a.namedChatTemplates().put("x", "y"));
    }

    @Test
    void filesThatAreNoTokenizerConfigAreRefusedClearly(@TempDir Path dir) {
        assertMessage("not JSON", () -> TokenizerConfig.of("{nope", "f1", QWEN));
        assertMessage("not a JSON object", () -> TokenizerConfig.of("[1, 2]", "f2", QWEN));
        assertMessage("looks like a tokenizer.json", () -> TokenizerConfig.of(QWEN.text(), "f3", QWEN));
        assertMessage("not a Hugging Face tokenizer_config.json", () -> TokenizerConfig.of("{\"vocab_size\": 3}", "f4", QWEN));
        assertMessage("does not exist", () -> TokenizerConfig.read(dir.resolve("missing.json"), QWEN));
        assertMessage("must be a string or an object", () -> TokenizerConfig.of("{\"eos_token\": 7}", "f5", QWEN));
        assertMessage("do not belong together", () -> TokenizerConfig.of("{\"eos_token\": \"<|eot_id|>\"}", "f6", QWEN));
        assertMessage("list of {\"name\", \"template\"}",
                () -> TokenizerConfig.of("{\"chat_template\": [\"x\"]}", "f7", QWEN));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        EeException e = assertThrows(EeException.class, call);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
