package dev.eestream.ops.commands;

import dev.eestream.client.consumer.BadRecordKind;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.consumer.DecryptingConsumer;
import dev.eestream.client.consumer.ResponseDecryptor;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ProfileOptions;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.topics.Topics;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "consume", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Read encrypted responses from a topic, decrypt them, and print one JSON object per line.",
            "Reads only committed records. Runs until Ctrl-C, --max-records, or --idle-timeout-ms without records.",
            "A record that is not a usable answer is skipped with one line on stderr: its topic, partition, offset and why.",
            "Not usable: undecodable (not the wire format, an unknown schema id, truncated), or a response from a model"
                + " without a profile here, computed with another key, or with outputs that do not fit the model.",
            "Exit status 2 when a record was skipped for any other reason than being from a model without a profile here",
            "(normal on a reply topic shared by several models)."})
public final class ConsumeCommand implements Callable<Integer> {
    /** Exit status when some records were skipped as bad, as classify's when some documents failed. */
    static final int EXIT_SKIPPED_RECORDS = 2;

    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ProfileOptions profiles;

    @Option(names = "--topic", defaultValue = Topics.RESPONSES_NAME, paramLabel = "T", description = "Topic to read (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(names = "--from-beginning", description = "Read from the start of the topic, not only new records.")
    boolean fromBeginning;

    @Option(names = "--output", paramLabel = "FILE", description = "Write to FILE instead of standard output.")
    Path output;

    @Option(names = "--group", paramLabel = "ID", description = "Consumer group: share the work and remember the position.")
    String group;

    @Option(names = "--max-records", paramLabel = "N", description = "Stop after N responses (skipped records do not count).")
    Long maxRecords;

    @Option(names = "--idle-timeout-ms", paramLabel = "MS", description = "Stop after this long without a record.")
    Long idleTimeoutMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Map<String, ClientProfile> known = profiles.load();
        Map<String, Object> config = connection.properties();
        if (group != null) {
            config.put("group.id", group);
        }
        ResponseDecryptor decryptor = new ResponseDecryptor(key.load(), known);
        PrintWriter out = output == null ? spec.commandLine().getOut()
                : new PrintWriter(Files.newBufferedWriter(output, StandardCharsets.UTF_8));
        long count = 0;
        long skipped = 0;
        long otherModels = 0;
        PrintWriter err = spec.commandLine().getErr();
        try (DecryptingConsumer consumer = new DecryptingConsumer(config, topic, fromBeginning, decryptor)) {
            Runtime.getRuntime().addShutdownHook(new Thread(consumer::wakeup));
            // Idle from here: connecting (TLS, SASL) and finding the partitions is not idleness.
            long idleSince = System.nanoTime();
            while (maxRecords == null || count < maxRecords) {
                List<DecryptedResult> batch;
                try {
                    batch = consumer.poll(Duration.ofMillis(200));
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    break;
                } catch (SchemaRegistryException e) {
                    throw new EeException("cannot read " + topic + ": the schema registry failed: " + e.getMessage(), e);
                }
                for (DecryptedResult r : batch) {
                    if (r instanceof DecryptedResult.BadRecord bad) {
                        err.println("eestream: skipped a bad record: " + bad.summary());
                        skipped++;
                        // Other models' answers are what a shared reply topic holds; they do not make the run a failure.
                        otherModels += bad.kind() == BadRecordKind.OTHER_MODEL ? 1 : 0;
                        continue;
                    }
                    if (maxRecords != null && count >= maxRecords) {
                        break;
                    }
                    out.println(r.toJson());
                    count++;
                }
                out.flush();
                err.flush();
                if (!batch.isEmpty()) {
                    idleSince = System.nanoTime();
                } else if (idleTimeoutMs != null && System.nanoTime() - idleSince > idleTimeoutMs * 1_000_000) {
                    break;
                }
            }
        } finally {
            if (output != null) {
                out.close();
            }
        }
        err.println("consumed " + count + " responses from " + topic + (skipped == 0 ? "" : "; skipped " + skipped + " bad records"));
        return skipped == otherModels ? 0 : EXIT_SKIPPED_RECORDS;
    }
}
