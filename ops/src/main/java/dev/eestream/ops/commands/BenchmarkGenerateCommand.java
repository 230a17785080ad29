package dev.eestream.ops.commands;

import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.ops.bench.GenerateBenchmark;
import dev.eestream.ops.bench.GeneratePlan;
import dev.eestream.ops.support.BenchmarkSessionOptions;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.SessionSettings;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "benchmark-generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark plaintext against EE greedy generation, side by side in one",
            "process, on a synthetic decoder with random weights (no trained decoder can",
            "be downloaded here). Checks first that EE tokens decrypted with π⁻¹ equal the",
            "plaintext tokens, then prints tokens/s of each, the EE/plaintext ratio and",
            "the time to first token per batch size. More pairs: --pairs 61 --seconds 60."})
public final class BenchmarkGenerateCommand implements Callable<Integer> {
    @Option(names = "--family", defaultValue = "llama", paramLabel = "FAMILY",
            description = "llama (RMSNorm, rotary, grouped-query attention, SwiGLU) or gpt2 (default: ${DEFAULT-VALUE}).")
    String family;

    @Option(names = "--hidden-permutation", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also permute the residual stream (ρ), not only the vocabulary (π) (default: on).")
    boolean hiddenPermutation;

    @Option(names = "--batch-sizes", defaultValue = "1,8,32", split = ",", paramLabel = "N",
            description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    int[] batchSizes;

    @Option(names = "--prompt-length", defaultValue = "32", paramLabel = "N",
            description = "Tokens in each (random) prompt (default: ${DEFAULT-VALUE}).")
    int promptLength;

    @Option(names = "--new-tokens", defaultValue = "32", paramLabel = "N",
            description = "Tokens each sequence generates (default: ${DEFAULT-VALUE}).")
    int newTokens;

    @Option(names = "--pairs", defaultValue = "31", paramLabel = "N",
            description = "At least N alternating plaintext/EE generation pairs per batch size (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--seconds", defaultValue = "40", paramLabel = "S",
            description = "Keep pairing for at least S seconds per batch size (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Mixin
    BenchmarkSessionOptions session;

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

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        for (int b : batchSizes) {
            if (b < 1) {
                throw new EeException("--batch-sizes must be positive, got " + b);
            }
        }
        SyntheticDecoderSpec.Builder model = SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.parse(family))
                .vocabSize(vocabSize).hiddenSize(hiddenSize).layers(layers).heads(heads).contextLength(contextLength);
        if (kvHeads != null) {
            model.kvHeads(kvHeads);
        }
        if (intermediateSize != null) {
            model.intermediateSize(intermediateSize);
        }
        GeneratePlan plan = GeneratePlan.builder(model.build()).hiddenPermutation(hiddenPermutation).promptLength(promptLength)
                .newTokens(newTokens).minPairs(pairs).secondsPerPoint(seconds).control(session.control()).build();
        SessionSettings settings = session.sessionSettings();
        new GenerateBenchmark(plan, settings, spec.commandLine().getOut()).run(batchSizes);
        return 0;
    }
}
