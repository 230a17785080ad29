package dev.eestream.ops.support;

import dev.eestream.core.model.ModelInspector;
import dev.eestream.core.model.transform.TransformSpec;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options that say how to read a model's graph (which input holds token ids, which output the
 * head reads, …): encrypt-model and inspect take the same ones, so inspect predicts encrypt-model's outcome.
 */
public final class ModelReadingOptions {
    @Option(names = "--ids-input", paramLabel = "NAME", description = "The graph input holding token ids (default: found by analysis).")
    String idsInput;

    @Option(names = "--mask-input", paramLabel = "NAME", description = "The attention-mask input (default: attention_mask).")
    String maskInput;

    @Option(names = "--source-output", paramLabel = "NAME",
            description = "The graph output the task head reads (default: the hidden states, or the logits for generate).")
    String sourceOutput;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Maximum sequence length for the manifest (default: the model's position table, else the tokenizer's).")
    Integer maxLength;

    /** The transform spec with these settings (unset ones left to analysis). */
    public TransformSpec.Builder applyTo(TransformSpec.Builder spec) {
        return spec.idsInput(idsInput).attentionMaskInput(maskInput).sourceOutput(sourceOutput).maxSequenceLength(maxLength);
    }

    public ModelInspector.Options inspectorOptions(Integer tokenizerVocabSize) {
        return new ModelInspector.Options(idsInput, maskInput, sourceOutput, maxLength, tokenizerVocabSize);
    }

    /** The options as given, flag and value, to repeat on another command line. */
    public List<String> given() {
        List<String> words = new ArrayList<>();
        addIfGiven(words, "--ids-input", idsInput);
        addIfGiven(words, "--mask-input", maskInput);
        addIfGiven(words, "--source-output", sourceOutput);
        addIfGiven(words, "--max-length", maxLength == null ? null : maxLength.toString());
        return words;
    }

    private static void addIfGiven(List<String> words, String flag, String value) {
        if (value != null) {
            words.add(flag);
            words.add(value);
        }
    }
}
