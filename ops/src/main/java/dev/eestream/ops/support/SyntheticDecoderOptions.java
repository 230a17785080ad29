package dev.eestream.ops.support;

import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import picocli.CommandLine.Option;

/** The shape of the synthetic decoder (random weights) the generation benchmarks build. */
public final class SyntheticDecoderOptions {
    @Option(names = "--family", defaultValue = "llama", paramLabel = "FAMILY",
            description = "llama (RMSNorm, rotary, grouped-query attention, SwiGLU) or gpt2 (default: ${DEFAULT-VALUE}).")
    String family;

    @Option(names = "--vocab-size", defaultValue = "32000", paramLabel = "N", description = "Vocabulary size (default: ${DEFAULT-VALUE}).")
    int vocabSize;

    @Option(names = "--hidden-size", defaultValue = "512", paramLabel = "N", description = "Residual stream width (default: ${DEFAULT-VALUE}).")
    int hiddenSize;

    @Option(names = "--layers", defaultValue = "4", paramLabel = "N", description = "Decoder layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "8", paramLabel = "N", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Key/value heads (default: half the heads for llama, all for gpt2).")
    Integer kvHeads;

    @Option(names = "--intermediate-size", paramLabel = "N",
            description = "Feed-forward width (default: 3 x hidden for llama, 4 x hidden for gpt2).")
    Integer intermediateSize;

    @Option(names = "--context-length", defaultValue = "512", paramLabel = "N",
            description = "Positions the decoder has tables for (default: ${DEFAULT-VALUE}).")
    int contextLength;

    public SyntheticDecoderSpec spec() {
        SyntheticDecoderSpec.Builder model = SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.parse(family))
                .vocabSize(vocabSize).hiddenSize(hiddenSize).layers(layers).heads(heads).contextLength(contextLength);
        if (kvHeads != null) {
            model.kvHeads(kvHeads);
        }
        if (intermediateSize != null) {
            model.intermediateSize(intermediateSize);
        }
        return model.build();
    }
}
