package dev.eestream.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small tokenizer.json files whose tokens split multi-byte characters, as real generative tokenizers do: GPT-2
 * style byte-level BPE, and Llama-2 style BPE with {@code <0x..>} byte fallback.
 */
public final class TinyTokenizers {
    private TinyTokenizers() {
    }

    /**
     * Byte-level BPE over the 256 byte symbols (ids 0–255 in byte order) with a few merges, two of which end inside
     * a character: space + the first byte of 日, and the last byte of 日 + the first byte of 本. Added tokens follow.
     */
    public static String byteLevel(List<String> addedTokens) {
        String[] symbol = gpt2ByteSymbols();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(symbol[b], b);
        }
        List<String[]> merges = new ArrayList<>(List.of(new String[] {"h", "e"}, new String[] {"l", "l"},
                new String[] {"he", "ll"}, new String[] {"hell", "o"}, new String[] {"Ġ", "w"}, new String[] {"o", "r"},
                new String[] {"Ġw", "or"}, new String[] {"l", "d"}, new String[] {"Ġwor", "ld"},
                new String[] {symbol[' '], symbol[0xE6]}, new String[] {symbol[0xA5], symbol[0xE6]}));
        JsonArray mergeList = new JsonArray();
        for (String[] m : merges) {
            vocab.putIfAbsent(m[0] + m[1], vocab.size());
            mergeList.add(m[0] + " " + m[1]);
        }
        JsonObject byteLevel = JsonParser.parseString(
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}").getAsJsonObject();
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("added_tokens", addedTokens(addedTokens, vocab.size()));
        root.add("pre_tokenizer", byteLevel);
        root.add("post_processor", byteLevel.deepCopy());
        root.add("decoder", byteLevel.deepCopy());
        root.add("model", bpe(vocab, mergeList, false));
        return root.toString();
    }

    /**
     * Llama-2 style: {@code <unk> <s> </s>}, the 256 byte tokens {@code <0x00>}–{@code <0xFF>} (ids 3–258), "▁" and
     * printable ASCII with a few merges; every other character falls back to its UTF-8 bytes.
     */
    public static String byteFallback() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("<unk>", 0);
        vocab.put("<s>", 1);
        vocab.put("</s>", 2);
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), vocab.size());
        }
        vocab.put("▁", vocab.size());
        for (char c = '!'; c <= '~'; c++) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        JsonArray mergeList = new JsonArray();
        for (String[] m : List.of(new String[] {"▁", "h"}, new String[] {"e", "l"}, new String[] {"▁h", "el"},
                new String[] {"l", "o"}, new String[] {"▁", "w"}, new String[] {"▁w", "o"})) {
            vocab.putIfAbsent(m[0] + m[1], vocab.size());
            mergeList.add(m[0] + " " + m[1]);
        }
        JsonObject root = JsonParser.parseString("""
                {"version": "1.0",
                 "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                   {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
                 "pre_tokenizer": null, "post_processor": null,
                 "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                   {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}}
                """).getAsJsonObject();
        JsonArray added = new JsonArray();
        for (String special : List.of("<unk>", "<s>", "</s>")) {
            added.add(addedToken(special, vocab.get(special)));
        }
        root.add("added_tokens", added);
        JsonObject model = bpe(vocab, mergeList, true);
        model.addProperty("unk_token", "<unk>");
        root.add("model", model);
        return root.toString();
    }

    /** DJL's tokenizer for a tokenizer.json text, adding no special tokens. Close it. */
    public static HuggingFaceTokenizer load(String tokenizerJson) throws IOException {
        return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson.getBytes(StandardCharsets.UTF_8)),
                Map.of("addSpecialTokens", "false"));
    }

    private static JsonObject bpe(Map<String, Integer> vocab, JsonArray merges, boolean byteFallback) {
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.addProperty("fuse_unk", byteFallback);
        model.addProperty("byte_fallback", byteFallback);
        JsonObject v = new JsonObject();
        vocab.forEach(v::addProperty);
        model.add("vocab", v);
        model.add("merges", merges);
        return model;
    }

    private static JsonArray addedTokens(List<String> contents, int firstId) {
        JsonArray added = new JsonArray();
        for (int i = 0; i < contents.size(); i++) {
            added.add(addedToken(contents.get(i), firstId + i));
        }
        return added;
    }

    private static JsonObject addedToken(String content, int id) {
        JsonObject t = new JsonObject();
        t.addProperty("id", id);
        t.addProperty("content", content);
        t.addProperty("single_word", false);
        t.addProperty("lstrip", false);
        t.addProperty("rstrip", false);
        t.addProperty("normalized", false);
        t.addProperty("special", true);
        return t;
    }

    // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to code points from 256 up.
    private static String[] gpt2ByteSymbols() {
        String[] symbol = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbol[b] = new String(Character.toChars(printable ? b : next++));
        }
        return symbol;
    }
}
