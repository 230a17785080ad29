package dev.eestream.ops.commands;

import dev.eestream.ops.bench.GenerateBenchmark;
import dev.eestream.ops.bench.GeneratePlan;
import dev.eestream.ops.support.BenchmarkSessionOptions;
import dev.eestream.ops.support.SyntheticDecoderOptions;
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

    @Mixin
    SyntheticDecoderOptions model;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        for (int b : batchSizes) {
            if (b < 1) {
                throw new EeException("--batch-sizes must be positive, got " + b);
            }
        }
        GeneratePlan plan = GeneratePlan.builder(model.spec()).hiddenPermutation(hiddenPermutation).promptLength(promptLength)
                .newTokens(newTokens).minPairs(pairs).secondsPerPoint(seconds).control(session.control()).build();
        SessionSettings settings = session.sessionSettings();
        new GenerateBenchmark(plan, settings, spec.commandLine().getOut()).run(batchSizes);
        return 0;
    }
}
