package dev.eestream.processor.cli;

import dev.eestream.processor.ProcessorApp;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.processor.config.SettingsTable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "processor", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the processor: the Kafka Streams application that batches",
            "encrypted requests and runs EE models. Settings come from --config, then",
            "EESTREAM_* environment variables (EESTREAM_MAX_BATCH_SIZE sets max.batch.size),",
            "then --set. Keys that are not eestream's pass through to Kafka Streams and",
            "the schema registry serdes. The processor never needs or reads a key."},
        footerHeading = "%neestream settings (default):%n")
public final class ProcessorCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "Properties file.")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one setting (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--shutdown-timeout-ms", defaultValue = "30000", paramLabel = "MS",
            description = "How long a stop (Ctrl-C, SIGTERM) may take (default: ${DEFAULT-VALUE}).")
    long shutdownTimeoutMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static String settingsTable() {
        return SettingsTable.text(ProcessorSettings.definition());
    }

    @Override
    public Integer call() throws Exception {
        ProcessorSettings settings = ProcessorSettings.load(config, System.getenv(), overrides);
        CountDownLatch stopped = new CountDownLatch(1);
        ProcessorApp app = ProcessorApp.start(settings);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close(Duration.ofMillis(shutdownTimeoutMs));
            stopped.countDown();
        }, "eestream-shutdown"));
        if (!app.awaitRunning(Duration.ofMinutes(2))) {
            spec.commandLine().getErr().println("eestream: the stream is not RUNNING yet (state " + app.state() + "); still trying");
        }
        spec.commandLine().getOut().printf("processor running: models %s from %s; Ctrl-C to stop%n",
                app.models().modelIds(), settings.modelsDir());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
