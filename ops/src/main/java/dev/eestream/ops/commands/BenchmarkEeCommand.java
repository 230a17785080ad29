package dev.eestream.ops.commands;

import dev.eestream.ops.bench.EeBenchmark;
import dev.eestream.ops.support.BenchmarkSessionOptions;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.SessionSettings;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "benchmark-ee", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark plaintext against EE all-MiniLM-L6-v2, side by side in one process.",
            "Prints throughput of each, the EE/plaintext ratio at each batch size and sequence length,",
            "and the transform time."})
public final class BenchmarkEeCommand implements Callable<Integer> {
    @Option(names = "--task", defaultValue = "embed", paramLabel = "TASK",
            description = "embed (with ρ) or classify (zero-shot, σ only) (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--batch-sizes", defaultValue = "1,8,32", split = ",", paramLabel = "N",
            description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    int[] batchSizes;

    @Option(names = "--lengths", defaultValue = "16,128", split = ",", paramLabel = "N",
            description = "Sequence lengths in tokens (default: ${DEFAULT-VALUE}).")
    int[] lengths;

    @Option(names = "--min-pairs", defaultValue = "61", paramLabel = "N",
            description = "At least N alternating plaintext/EE run pairs per point (default: ${DEFAULT-VALUE}).")
    int minPairs;

    @Option(names = "--seconds", defaultValue = "10", paramLabel = "S",
            description = "Keep pairing for at least S seconds per point (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--homophones", defaultValue = "1", paramLabel = "N",
            description = "Above 1: compare the EE model without homophones against the EE model with N ids per token, "
                    + "each fed ids as its clients send them (default: ${DEFAULT-VALUE}, EE against plaintext).")
    int homophones;

    @Mixin
    BenchmarkSessionOptions session;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (minPairs < 1 || seconds < 0) {
            throw new EeException("--min-pairs must be at least 1 and --seconds not negative");
        }
        for (int l : lengths) {
            if (l < 2 || l > 512) {
                throw new EeException("--lengths must lie in [2, 512], got " + l);
            }
        }
        for (int b : batchSizes) {
            if (b < 1) {
                throw new EeException("--batch-sizes must be positive, got " + b);
            }
        }
        Task t = Task.parse(task);
        if (t == Task.GENERATE) {
            throw new EeException("all-MiniLM-L6-v2 is an encoder: benchmark embed or classify");
        }
        if (homophones < 1 || homophones > 64) {
            throw new EeException("--homophones must be between 1 and 64, got " + homophones);
        }
        if (homophones > 1 && session.control()) {
            throw new EeException("--homophones compares two EE models; the A/A control compares two plaintext ones: give one");
        }
        SessionSettings settings = session.sessionSettings();
        new EeBenchmark(t, minPairs, seconds, settings, session.control(), homophones, spec.commandLine().getOut())
                .run(batchSizes, lengths);
        return 0;
    }
}
