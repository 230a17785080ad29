package dev.eestream.ops.commands;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.eestream.client.producer.Document;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ModelProfileOptions;
import dev.eestream.runtime.EeException;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "classify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify documents through the pipeline: encrypt each, send it, await and decrypt the answer.",
            "Input: one JSON object per line with \"id\" and \"text\". Output: one JSON object per line with the id,",
            "the label, its score, the scores by label and the timings; a line that cannot be read becomes an ERROR line.",
            "For a fine-tuned classifier with its own head the scores are softmax probabilities, and the label's logit",
            "(\"logit\") and the logits by label (\"logits\") come too; for a zero-shot model they are cosine similarities."})
public final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ModelProfileOptions model;

    @Option(names = "--input", required = true, paramLabel = "docs.jsonl", description = "Documents to classify.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "results.jsonl", description = "Where to write the results.")
    Path output;

    @Option(names = "--max-in-flight", defaultValue = "256", paramLabel = "N", description = "Most unanswered requests (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--timeout-ms", defaultValue = "60000", paramLabel = "MS", description = "Wait this long for each answer (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--force", description = "Replace an existing --output file.")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(output) && !force) {
            throw new EeException("output file " + output + " already exists; pass --force to replace it");
        }
        ClientProfile p = model.load();
        long total = countLines(input);
        long[] errors = {0};
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().properties(connection.properties())
                     .bootstrapServers((String) connection.properties().get("bootstrap.servers")).key(key.load()).profile(p)
                     .maxInFlight(maxInFlight).timeout(Duration.ofMillis(timeoutMs)).build();
             BufferedWriter out = Files.newBufferedWriter(output, StandardCharsets.UTF_8);
             ProgressBar bar = new ProgressBarBuilder().setTaskName("classify").setInitialMax(total)
                     .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).build()) {
            Object lock = new Object();
            List<String> badLines = new ArrayList<>();
            EncryptedInferenceClient.BatchSummary summary;
            try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
                Iterable<Document> docs = () -> documents(reader, badLines, lock, out, bar);
                summary = client.runBatch(docs, (doc, result, error) -> {
                    JsonObject line = error == null ? result.toJson() : errorLine(doc.id(), error.getMessage());
                    line.addProperty("id", doc.id());
                    synchronized (lock) {
                        write(out, line);
                        bar.step();
                    }
                });
            }
            errors[0] = summary.failed() + badLines.size();
            bar.close();
            spec.commandLine().getOut().printf("%d documents: %d classified, %d errors (%d unreadable lines) in %.1f s, %.1f docs/s; results in %s%n",
                    summary.sent() + badLines.size(), summary.ok(), errors[0], badLines.size(),
                    summary.elapsed().toNanos() / 1e9, summary.docsPerSecond(), output);
        } catch (NoSuchFileException e) {
            throw new EeException("input file " + e.getFile() + " does not exist");
        }
        return errors[0] == 0 ? 0 : 2;
    }

    /** Documents read lazily; a line that is not a JSON object with id and text becomes an ERROR line. */
    private static Iterator<Document> documents(BufferedReader reader, List<String> badLines, Object lock, BufferedWriter out,
            ProgressBar bar) {
        return new Iterator<>() {
            private Document next;
            private long lineNumber;

            @Override
            public boolean hasNext() {
                try {
                    while (next == null) {
                        String line = reader.readLine();
                        if (line == null) {
                            return false;
                        }
                        lineNumber++;
                        if (line.isBlank()) {
                            continue;
                        }
                        try {
                            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                            if (!o.has("text") || !o.get("text").isJsonPrimitive()) {
                                throw new IllegalStateException("no \"text\" string");
                            }
                            String id = o.has("id") && !o.get("id").isJsonNull() ? o.get("id").getAsString() : "line-" + lineNumber;
                            next = new Document(id, o.get("text").getAsString());
                        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("")
                                    .replaceFirst("^com\\.google\\.gson\\.stream\\.MalformedJsonException: ", "");
                            String reason = "line " + lineNumber + " is not a JSON object with \"id\" and \"text\" (" + why + ")";
                            synchronized (lock) {
                                badLines.add(reason);
                                write(out, errorLine("line-" + lineNumber, reason));
                                bar.step();
                            }
                        }
                    }
                    return true;
                } catch (IOException e) {
                    throw new EeException("cannot read the input: " + e.getMessage(), e);
                }
            }

            @Override
            public Document next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Document d = next;
                next = null;
                return d;
            }
        };
    }

    private static JsonObject errorLine(String id, String error) {
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        o.addProperty("status", "ERROR");
        o.addProperty("error", error);
        return o;
    }

    private static void write(BufferedWriter out, JsonObject line) {
        try {
            out.write(line.toString());
            out.newLine();
        } catch (IOException e) {
            throw new EeException("cannot write the output: " + e.getMessage(), e);
        }
    }

    private static long countLines(Path file) throws IOException {
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.filter(l -> !l.isBlank()).count();
        } catch (NoSuchFileException e) {
            throw new EeException("input file " + file + " does not exist");
        }
    }
}
