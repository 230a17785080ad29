package dev.eestream.ops.commands;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.Document;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.demo.GenerationDemo;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The whole thing on this machine, end to end: make a key, encrypt the bundled all-MiniLM-L6-v2 as a "
                + "zero-shot classifier, start local mode (Kafka broker, schema registry, processor), send the bundled sample "
                + "documents encrypted, decrypt the answers, and compare each with plaintext inference.",
            "Then text generation: a small decoder built here with random weights (no trained one can be downloaded, so its "
                + "text is gibberish), encrypted with the same key, generates from 5 prompts through the same processor; each "
                + "decrypted text is compared with the plaintext model's greedy generation.",
            "Exit status 2 when any answer differs from plaintext."})
public final class DemoCommand implements Callable<Integer> {
    static final String MODEL_ID = "minilm-topics";

    @Option(names = "--labels", defaultValue = "finance,sports,technology,health,politics", paramLabel = "\"a,b,c\"",
            description = "Labels of the zero-shot classifier (default: ${DEFAULT-VALUE}).")
    String labels;

    @Option(names = "--documents", paramLabel = "docs.jsonl", description = "Documents to send (default: 50 bundled samples).")
    Path documents;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Keep the key, model and broker data here (default: a temporary directory, deleted at the end).")
    Path workDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<String> labelList = Arrays.stream(labels.split(",")).map(String::trim).toList();
        List<Document> docs = readDocuments();
        boolean temporary = workDir == null;
        Path work = temporary ? Files.createTempDirectory("eestream-demo-") : Files.createDirectories(workDir);
        try {
            out.println("[1/6] a new key: only this side ever holds it");
            EeKey key = EeKey.generate();
            KeyFiles.write(key, work.resolve("demo.key"), null, true);
            out.printf("      %s in %s%n", key.keyId(), work.resolve("demo.key"));

            out.println("[2/6] encrypting all-MiniLM-L6-v2 as a zero-shot classifier over " + labelList);
            TokenizerJson tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
            ModelProto source;
            try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
                source = ModelTransformer.read(in, "bundled model");
            }
            long t0 = System.nanoTime();
            ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                    TransformSpec.builder(Task.CLASSIFY).key(key).modelId(MODEL_ID).build(), labelList, s -> { });
            ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizer,
                    TransformSpec.builder(Task.CLASSIFY).modelId("plaintext-reference").build(), labelList, s -> { });
            Path models = work.resolve("models");
            Path modelDir = ModelBundle.in(models, MODEL_ID).write(ee.modelBytes(), ee.manifest(), true).dir();
            ClientProfile profile = ClientProfile.of(ee, labelList, BundledModel.ALL_MINILM_L6_V2.id());
            out.printf("      EE model in %s (%.1f s); the plaintext model stays here for the comparison%n", modelDir,
                    (System.nanoTime() - t0) / 1e9);

            out.println("[3/6] for text generation: a decoder built here, encrypted with the same key (encrypt-model --task generate)");
            GenerationDemo generation = GenerationDemo.prepare(key, work.resolve("random-decoder-export"), models, out);

            out.println("[4/6] starting local mode: Kafka broker (KRaft), schema registry, processor serving both models");
            int equal;
            int generationsEqual;
            try (LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), null))) {
                out.printf("      bootstrap.servers=%s schema.registry.url=%s%n", local.bootstrapServers(), local.registryUrl());
                out.println("[5/6] sending " + docs.size() + " documents, encrypted, and decrypting the answers");
                out.flush();
                Map<String, DecryptedResult> results = new ConcurrentHashMap<>();
                Map<String, Throwable> failures = new ConcurrentHashMap<>();
                EncryptedInferenceClient.BatchSummary summary;
                try (EncryptedInferenceClient client = EncryptedInferenceClient.builder()
                        .bootstrapServers(local.bootstrapServers()).properties(local.clientProperties())
                        .key(key).profile(profile).build()) {
                    summary = client.runBatch(docs, (doc, result, error) -> {
                        if (error != null) {
                            failures.put(doc.id(), error);
                        } else {
                            results.put(doc.id(), result);
                        }
                    });
                }
                out.println("      compared with plaintext inference on this machine:");
                equal = report(out, docs, results, failures, key, tokenizer, plain, labelList);
                out.printf("%d documents, %d equal to plaintext inference, %.1f docs/s%n", docs.size(), equal, summary.docsPerSecond());

                out.printf("[6/6] generating from %d prompts through Kafka with the random-weight decoder (greedy, %d new tokens"
                        + " at most, the last one streamed), compared with the plaintext model's greedy generation%n",
                        GenerationDemo.PROMPTS.size(), GenerationDemo.NEW_TOKENS);
                out.flush();
                long g0 = System.nanoTime();
                generationsEqual = generation.run(local.bootstrapServers(), local.clientProperties(), out);
                out.printf("%d generations, %d equal to plaintext generation, in %.1f s%n", GenerationDemo.PROMPTS.size(),
                        generationsEqual, (System.nanoTime() - g0) / 1e9);
            }
            out.println("To chat with a trained model of your own (exported with Hugging Face optimum, encrypted, served the same"
                    + " way): README.md, section \"Chat with your own model\".");
            out.flush();
            return equal == docs.size() && generationsEqual == GenerationDemo.PROMPTS.size() ? 0 : 2;
        } finally {
            if (temporary) {
                deleteTree(work);
            }
        }
    }

    /** Prints the table and returns how many answers equal plaintext inference (same label, scores within 1e-5). */
    private static int report(PrintWriter out, List<Document> docs, Map<String, DecryptedResult> results,
            Map<String, Throwable> failures, EeKey key, TokenizerJson tokenizer, ModelTransformer.Result plain,
            List<String> labels) throws Exception {
        int equal = 0;
        out.printf("%-34s %-26s %-24s %-20s %-12s %s%n", "document", "ciphertext ids (first 4)", "ciphertext scores",
                "decrypted", "plaintext", "equal");
        try (PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, key, plain.manifest().vocabSize(), null);
             ModelSession reference = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            for (Document d : docs) {
                long[] cipher = tok.encrypt(d.text());
                float[] expected = reference.run(List.of(tok.encodePlain(d.text())))[0];
                int best = 0;
                for (int j = 1; j < expected.length; j++) {
                    best = expected[j] > expected[best] ? j : best;
                }
                String plainLabel = labels.get(best);
                String doc = d.id() + " " + abbreviate(d.text(), 34 - d.id().length() - 1);
                String ids = Arrays.stream(cipher).limit(4).mapToObj(Long::toString).collect(Collectors.joining(",")) + ",…";
                DecryptedResult r = results.get(d.id());
                if (!(r instanceof DecryptedResult.Classification c)) {
                    Throwable e = failures.get(d.id());
                    out.printf("%-34s %-26s %-24s %-20s %-12s %s%n", doc, ids, "-", "FAILED", plainLabel,
                            "no: " + (e == null ? "no answer" : e.getMessage()));
                    continue;
                }
                double worst = 0;
                for (int j = 0; j < labels.size(); j++) {
                    float got = c.scores().get(labels.get(j));
                    worst = Math.max(worst, Math.abs(got - expected[j]) / Math.max(1e-6, Math.abs(expected[j])));
                }
                boolean same = c.label().equals(plainLabel) && worst <= 1e-5;
                equal += same ? 1 : 0;
                String cipherScores = c.ciphertextScores().stream().limit(3).map(v -> String.format("%.3f", v))
                        .collect(Collectors.joining(",")) + ",…";
                out.printf("%-34s %-26s %-24s %-20s %-12s %s%n", doc, ids, cipherScores,
                        String.format("%s %.3f", c.label(), c.score()), plainLabel, same ? "yes" : "NO (max rel. diff " + worst + ")");
            }
        }
        return equal;
    }

    private List<Document> readDocuments() throws Exception {
        InputStream in = documents != null ? Files.newInputStream(documents)
                : DemoCommand.class.getResourceAsStream("/demo/documents.jsonl");
        if (in == null) {
            throw new EeException("the bundled demo documents are missing from the classpath");
        }
        List<Document> docs = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                    docs.add(new Document(o.has("id") ? o.get("id").getAsString() : "line-" + n, o.get("text").getAsString()));
                } catch (RuntimeException e) {
                    throw new EeException("line " + n + " of the documents is not a JSON object with \"text\": " + e.getMessage());
                }
            }
        }
        return docs;
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, Math.max(0, max - 1)) + "…";
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            // best effort: a temporary directory
        }
    }
}
