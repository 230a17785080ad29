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
            "With --brokers 3, three brokers, each in a JVM of its own: kill one (kill -9 PID) and answers go on.",
            "All of them listen on 127.0.0.1. Prints their addresses and runs until Ctrl-C.",
            "The settings clients need go to DATA-DIR/client.properties (owner-only).",
            "Pass that file to the client commands with --client-config."})
public final class LocalCommand implements Callable<Integer> {
    @Option(names = "--kafka-port", defaultValue = "9092", paramLabel = "P",
            description = "Broker port (the first broker's), 0 for any free one (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--brokers", defaultValue = "1", paramLabel = "N",
            description = {"How many Kafka brokers (KRaft nodes), 1 to 9 (default: ${DEFAULT-VALUE}).",
                "Above 1, each runs in a JVM of its own; topics get replication factor 3 and min.insync.replicas=2 (two brokers: 2 and 1).",
                "A broker that exits (kill -9 PID) is started again after 10 s.",
                "A data directory keeps the number of brokers it was made with."})
    int brokers;

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
        if (brokers < 1 || brokers > 9) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--brokers must be between 1 and 9, not " + brokers);
        }
        LocalMode local = LocalMode.start(new LocalMode.Options(kafkaPort, registryPort, models, dataDir, null, security, brokers));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            local.close();
            stopped.countDown();
        }, "eestream-shutdown"));
        var out = spec.commandLine().getOut();
        out.println("bootstrap.servers=" + local.bootstrapServers());
        out.println("schema.registry.url=" + local.registryUrl());
        local.kafka().cluster().ifPresent(cluster -> {
            StringBuilder pids = new StringBuilder();
            for (int node = 1; node <= brokers; node++) {
                pids.append(node == 1 ? "" : ", ").append("broker ").append(node).append(" pid ").append(cluster.pid(node));
            }
            out.println("brokers: " + brokers + " (" + pids + "); replication factor " + Math.min(brokers, 3)
                    + "; a broker that exits is started again after " + LocalMode.BROKER_RESTART_DELAY.toSeconds() + " s");
        });
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
