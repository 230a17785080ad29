package dev.eestream.ops.commands;

import dev.eestream.ops.bench.GeneratePipelineBenchmark;
import dev.eestream.ops.support.SyntheticDecoderOptions;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.Device;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "benchmark-generate-pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark generation through the processor (local mode, exactly-once) against a bare",
            "ONNX Runtime decode loop on the same EE decoder, mixed-length backlog and sequence limit,",
            "in one run; then continuous against static batching on that backlog, and the time to first",
            "token and between tokens at about half of capacity. The decoder is synthetic, with random",
            "weights (no trained decoder can be downloaded here)."})
public final class BenchmarkGeneratePipelineCommand implements Callable<Integer> {
    @Option(names = "--requests", defaultValue = "96", paramLabel = "N", description = "Backlog size (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--max-sequences", defaultValue = "16", paramLabel = "N",
            description = "Sequences decoded at once, as the processor's generate.max.sequences (default: ${DEFAULT-VALUE}).")
    int maxSequences;

    @Option(names = "--prompt-tokens", defaultValue = "4-64", paramLabel = "MIN-MAX",
            description = "Prompt lengths, drawn uniformly (default: ${DEFAULT-VALUE}).")
    String promptTokens;

    @Option(names = "--new-tokens", defaultValue = "8-96", paramLabel = "MIN-MAX",
            description = "maxNewTokens of each request, drawn uniformly (default: ${DEFAULT-VALUE}).")
    String newTokens;

    @Option(names = "--latency-seconds", defaultValue = "20", paramLabel = "S",
            description = "Length of the half-capacity run (default: ${DEFAULT-VALUE}).")
    double latencySeconds;

    @Option(names = "--inference-threads", defaultValue = "-1", paramLabel = "N",
            description = "ONNX Runtime intra-op threads for both sides, as the processor's inference.threads: -1 = cores - 1, "
                    + "0 = ONNX Runtime's choice (default: ${DEFAULT-VALUE}).")
    int inferenceThreads;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "cpu or cuda for both sides (needs the -Pgpu build; falls back to the CPU with a warning) "
                    + "(default: ${DEFAULT-VALUE}).")
    String device;

    @Mixin
    SyntheticDecoderOptions model;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        new GeneratePipelineBenchmark(model.spec(), requests, maxSequences, range("--prompt-tokens", promptTokens),
                range("--new-tokens", newTokens), latencySeconds, inferenceThreads, Device.parse(device),
                spec.commandLine().getOut()).run();
        return 0;
    }

    private static int[] range(String option, String value) {
        String[] parts = value.split("-", -1);
        try {
            if (parts.length == 2) {
                return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
            }
            if (parts.length == 1) {
                int n = Integer.parseInt(parts[0].trim());
                return new int[] {n, n};
            }
        } catch (NumberFormatException e) {
            // falls through to the error below
        }
        throw new EeException(option + " must be MIN-MAX or N, got '" + value + "'");
    }
}
