package dev.eestream.ops.commands;

import dev.eestream.kafka.local.security.BrokerSecurity;
import dev.eestream.ops.local.LocalMode;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "local", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run everything on this machine: a real Kafka broker (KRaft), a schema registry and the processor.",
            "All of them listen on 127.0.0.1. Prints their addresses and runs until Ctrl-C.",
            "The settings clients need go to DATA-DIR/client.properties (owner-only).",
            "Pass that file to the client commands with --client-config."})
public final class LocalCommand implements Callable<Integer> {
    @Option(names = "--kafka-port", defaultValue = "9092", paramLabel = "P", description = "Broker port, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--registry-port", defaultValue = "8081", paramLabel = "R", description = "Schema registry port, 0 for any (default: ${DEFAULT-VALUE}).")
    int registryPort;

    @Option(names = "--models", defaultValue = "models", paramLabel = "DIR",
            description = "Directory of EE models, as encrypt-model writes them; rescanned every second (default: ${DEFAULT-VALUE}).")
    Path models;

    @Option(names = "--data-dir", defaultValue = "eestream-data", paramLabel = "DIR",
            description = {"Where the broker, the schema registry and the processor keep their data.",
                "Kept across runs, schemas included, so old records still decode (default: ${DEFAULT-VALUE})."})
    Path dataDir;

    @Option(names = "--security", defaultValue = "PLAINTEXT", paramLabel = "PROTOCOL",
            description = {"PLAINTEXT, SSL (TLS with a CA made here, HTTPS registry), SASL_SSL (SSL plus a SCRAM-SHA-512 user",
                "and registry basic auth) or SASL_PLAINTEXT. Certificates and the user are kept in DATA-DIR/security",
                "(default: ${DEFAULT-VALUE})."})
    BrokerSecurity.Protocol security;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        LocalMode local = LocalMode.start(new LocalMode.Options(kafkaPort, registryPort, models, dataDir, null, security));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            local.close();
            stopped.countDown();
        }, "eestream-shutdown"));
        var out = spec.commandLine().getOut();
        out.println("bootstrap.servers=" + local.bootstrapServers());
        out.println("schema.registry.url=" + local.registryUrl());
        out.println("security: " + security + "; client settings in " + dataDir.resolve(LocalMode.CLIENT_PROPERTIES).toAbsolutePath()
                + " (--client-config)");
        out.println("metrics=" + local.processor().httpUrl() + "/metrics (also /health, /ready)");
        out.println("models: " + local.processor().models().modelIds() + " from " + models.toAbsolutePath()
                + "; data in " + dataDir.toAbsolutePath() + "; Ctrl-C to stop");
        out.flush();
        stopped.await();
        return 0;
    }
}
