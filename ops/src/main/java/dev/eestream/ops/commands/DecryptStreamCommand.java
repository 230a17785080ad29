package dev.eestream.ops.commands;

import dev.eestream.client.consumer.DecryptingStream;
import dev.eestream.client.consumer.ResponseDecryptor;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ProfileOptions;
import dev.eestream.schemas.topics.Topics;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "decrypt-stream", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the decrypting Kafka Streams application inside the trusted zone: encrypted responses in,",
            "plaintext results (JSON, keyed by request id) out, exactly once. The integration point for pipelines."})
public final class DecryptStreamCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ProfileOptions profiles;

    @Option(names = "--from", defaultValue = Topics.RESPONSES_NAME, paramLabel = "TOPIC", description = "Encrypted responses (default: ${DEFAULT-VALUE}).")
    String from;

    @Option(names = "--to", required = true, paramLabel = "TOPIC", description = "Where plaintext results go (must exist).")
    String to;

    @Option(names = "--application-id", defaultValue = "eestream-decrypt", paramLabel = "ID", description = "Kafka Streams application id (default: ${DEFAULT-VALUE}).")
    String applicationId;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Map<String, ClientProfile> known = profiles.load();
        Map<String, Object> config = connection.properties();
        Properties props = new Properties();
        props.putAll(config);
        props.putIfAbsent(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.putIfAbsent(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        KafkaStreams streams = new KafkaStreams(DecryptingStream.topology(from, to, new ResponseDecryptor(key.load(), known),
                config), props);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            stopped.countDown();
        }));
        streams.start();
        spec.commandLine().getOut().println("decrypting " + from + " -> " + to + " for models " + known.keySet() + "; Ctrl-C to stop");
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
