package dev.eestream.ops.demo;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.tokenizer.TokenizerJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The decoder of the demo's generation part, built here because no trained decoder can be downloaded: a
 * Llama-style decoder with <b>random weights</b> over a vocabulary of common English words, so it writes
 * English words in an order that means nothing. Written to disk as an optimum export is ({@code model.onnx},
 * {@code tokenizer.json}, {@code tokenizer_config.json}), so the demo encrypts it the way encrypt-model does.
 */
public record DemoDecoder(SyntheticDecoderSpec spec, ModelProto model, TokenizerJson tokenizer, String tokenizerConfig) {
    /** Every word the model knows; ids from 3, after [UNK], BOS and EOS. */
    static final List<String> WORDS = Arrays.asList("""
            the a an and or but if so then when where while because after before until since of to in on at by for
            with from into over under through past near far up down out off again here there now never always often
            i you he she it we they me him her us them my your his its our their this that these those who what
            is are was were be been has have had do does did will would can could may might must shall should
            go goes went walk walks walked run runs ran come comes came see sees saw look looks find finds found
            give gives take takes make makes made keep keeps hold holds read reads write writes sing sings play plays
            speak speaks think thinks know knows want wants feel feels sleep sleeps wake wakes wait waits turn turns
            man woman child children friend mother father king queen bird fish dog cat horse tree trees flower garden
            river sea lake hill mountain road path town city house home door window room table book letter song story
            light dark night day morning evening sun moon star stars rain snow wind fire water stone bread time year
            old new small big long short quiet loud cold warm green blue red white black first last good bad
            slow fast soft hard open closed empty full bright gentle wild early late one two three many few every
            some all no not very only just still yet also too more most less much little other same""".split("\\s+"));

    /** BOS in front of every prompt, EOS ends a reply: as a Llama export's config says. */
    private static final String TOKENIZER_CONFIG = "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \""
            + SyntheticTokenizers.BOS + "\", \"eos_token\": \"" + SyntheticTokenizers.EOS + "\", \"add_bos_token\": true}\n";

    /** The demo's decoder; the same every time (fixed seed), so its gibberish is repeatable too. */
    public static DemoDecoder build() {
        SyntheticDecoderSpec spec = SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(WORDS.size() + 3)
                .hiddenSize(64).layers(2).heads(4).kvHeads(2).intermediateSize(128).contextLength(128).seed(20_240_611).build();
        return new DemoDecoder(spec, SyntheticDecoders.build(spec), SyntheticTokenizers.wordLevel(WORDS), TOKENIZER_CONFIG);
    }

    /** Writes {@code model.onnx}, {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
    public Export writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Export export = new Export(dir.resolve("model.onnx"), dir.resolve("tokenizer.json"), dir.resolve("tokenizer_config.json"));
        Files.write(export.model(), model.toByteArray());
        Files.writeString(export.tokenizer(), tokenizer.text(), StandardCharsets.UTF_8);
        Files.writeString(export.tokenizerConfig(), tokenizerConfig, StandardCharsets.UTF_8);
        return export;
    }

    /** The files of an export on disk. */
    public record Export(Path model, Path tokenizer, Path tokenizerConfig) {
    }
}
