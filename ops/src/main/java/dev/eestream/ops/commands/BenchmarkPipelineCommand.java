package dev.eestream.ops.commands;

import dev.eestream.ops.bench.PipelineBenchmark;
import dev.eestream.processor.batching.BatchPolicy;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.session.Device;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "benchmark-pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark the processor against bare ONNX Runtime on the same EE model and batch policy, in one run",
            "through local mode; then end-to-end latency percentiles at about half of capacity."})
public final class BenchmarkPipelineCommand implements Callable<Integer> {
    @Option(names = "--documents", defaultValue = "1000", paramLabel = "N", description = "Backlog size (default: ${DEFAULT-VALUE}).")
    int documents;

    @Option(names = "--latency-seconds", defaultValue = "20", paramLabel = "S", description = "Length of the latency run (default: ${DEFAULT-VALUE}).")
    double latencySeconds;

    @Option(names = "--max-batch-size", defaultValue = "32", paramLabel = "N", description = "Batch policy (default: ${DEFAULT-VALUE}).")
    int maxBatchSize;

    @Option(names = "--max-batch-tokens", defaultValue = "8192", paramLabel = "N", description = "Batch policy (default: ${DEFAULT-VALUE}).")
    int maxBatchTokens;

    @Option(names = "--max-batch-delay-ms", defaultValue = "20", paramLabel = "MS", description = "Batch policy (default: ${DEFAULT-VALUE}).")
    long maxBatchDelayMs;

    @Option(names = "--inference-threads", defaultValue = "-1", paramLabel = "N",
            description = "ONNX Runtime intra-op threads for both sides, as the processor's inference.threads: -1 = cores - 1, "
                    + "0 = ONNX Runtime's choice (default: ${DEFAULT-VALUE}).")
    int inferenceThreads;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "cpu or cuda for both sides, as the processor's device setting (needs the -Pgpu build; "
                    + "falls back to the CPU with a warning) (default: ${DEFAULT-VALUE}).")
    String device;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (documents < 20) {
            throw new EeException("--documents must be at least 20");
        }
        BatchPolicy policy;
        try {
            policy = new BatchPolicy(maxBatchSize, maxBatchTokens, Duration.ofMillis(maxBatchDelayMs));
        } catch (IllegalArgumentException e) {
            throw new EeException(e.getMessage());
        }
        new PipelineBenchmark(documents, latencySeconds, policy, inferenceThreads, Device.parse(device), spec.commandLine().getOut()).run();
        return 0;
    }
}
