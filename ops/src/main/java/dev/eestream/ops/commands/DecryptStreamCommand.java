package dev.eestream.ops.commands;

import dev.eestream.client.consumer.DecryptingStream;
import dev.eestream.client.consumer.ResponseDecryptor;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ProfileOptions;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.topics.DeadLetters;
import dev.eestream.schemas.topics.TopicAdmin;
import dev.eestream.schemas.topics.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "decrypt-stream", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the decrypting Kafka Streams application inside the trusted zone: encrypted responses in,"
                + " plaintext results (JSON, keyed by request id) out, exactly once. The integration point for pipelines.",
            "A record that is not a usable answer goes to the dead-letter topic (its bytes, the first 512 KiB of larger ones)"
                + " with the reason, its kind and where it was read in headers, and one line on stderr (topic, partition,"
                + " offset, why); the stream goes on.",
            "Not usable: undecodable (not the wire format, an unknown schema id, truncated), or a response from a model"
                + " without a profile here, computed with another key, or with outputs that do not fit the model.",
            "Runs until Ctrl-C."})
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

    @Option(names = "--dead-letter-topic", paramLabel = "TOPIC",
            description = "Where records that are not usable answers go, created when missing (default: the --from topic"
                    + " with " + DeadLetters.TOPIC_SUFFIX + " appended, e.g. " + Topics.RESPONSES_NAME + DeadLetters.TOPIC_SUFFIX + ").")
    String deadLetterTopic;

    @Option(names = "--application-id", defaultValue = "eestream-decrypt", paramLabel = "ID", description = "Kafka Streams application id (default: ${DEFAULT-VALUE}).")
    String applicationId;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Map<String, ClientProfile> known = profiles.load();
        Map<String, Object> config = connection.properties();
        String deadLetters = deadLetterTopic != null ? deadLetterTopic : DeadLetters.topicFor(from);
        ResponseDecryptor decryptor = new ResponseDecryptor(key.load(), known);
        try {
            TopicAdmin.ensure(config, List.of(TopicAdmin.Spec.of(deadLetters, 1)), Duration.ofSeconds(30));
        } catch (TopicAdmin.TopicAdminException e) {
            throw new EeException("cannot create the dead-letter topic: " + e.getMessage(), e);
        }
        Properties props = new Properties();
        props.putAll(config);
        props.putIfAbsent(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.putIfAbsent(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        PrintWriter err = spec.commandLine().getErr();
        KafkaStreams streams = new KafkaStreams(DecryptingStream.topology(from, to, deadLetters, decryptor, config, bad -> {
            err.println("eestream: bad record sent to " + deadLetters + ": " + bad.summary());
            err.flush();
        }), props);
        // A failure that is not a record's (the schema registry out, a broken connection) replaces the thread, which
        // reads again from the last commit: the record is retried, not dead-lettered.
        streams.setUncaughtExceptionHandler(e -> {
            err.println("eestream: the decrypting stream failed (" + e + "); restarting it");
            err.flush();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        CountDownLatch stopped = new CountDownLatch(1);
        Thread shutdown = new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            stopped.countDown();
        });
        Runtime.getRuntime().addShutdownHook(shutdown);
        streams.start();
        spec.commandLine().getOut().println("decrypting " + from + " -> " + to + " (dead letters: " + deadLetters + ") for models "
                + known.keySet() + "; Ctrl-C to stop");
        spec.commandLine().getOut().flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            // Stopped by its caller rather than by Ctrl-C (when run in-process): stop the stream here.
            Runtime.getRuntime().removeShutdownHook(shutdown);
            streams.close(Duration.ofSeconds(30));
        }
        return 0;
    }
}
