package dev.eestream.ops.commands;

import dev.eestream.ops.bench.GatewayBenchmark;
import dev.eestream.runtime.EeException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "benchmark-gateway", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"What the OpenAI-compatible gateway adds to the Java client it wraps, in one run",
            "through local mode: the same EE embedding model and texts; latency percentiles one",
            "request at a time (the two sides interleaved) and throughput with requests in",
            "flight (the sides alternating)."})
public final class BenchmarkGatewayCommand implements Callable<Integer> {
    @Option(names = "--requests", defaultValue = "200", paramLabel = "N", description = "Requests per side for latency (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--concurrency", defaultValue = "8", paramLabel = "N", description = "Requests in flight for throughput (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--seconds", defaultValue = "10", paramLabel = "S",
            description = "Seconds per side and round for throughput; two rounds (default: ${DEFAULT-VALUE}).")
    double seconds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (requests < 20 || concurrency < 1 || !(seconds > 0)) {
            throw new EeException("--requests must be at least 20, --concurrency at least 1 and --seconds above 0");
        }
        new GatewayBenchmark(requests, concurrency, seconds, spec.commandLine().getOut()).run();
        return 0;
    }
}
