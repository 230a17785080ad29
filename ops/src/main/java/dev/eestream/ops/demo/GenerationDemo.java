package dev.eestream.ops.demo;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.client.producer.PromptIds;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * The demo's generation part: the {@link DemoDecoder} (random weights) encrypted with the demo's key as
 * {@code encrypt-model --task generate} does, served by the same local processor as the classifier, a few
 * prompts sent through {@link EncryptedInferenceClient#generate} (greedy, the last one streamed), and each
 * answer compared with greedy generation by the plaintext model on this machine, token for token.
 */
public final class GenerationDemo {
    public static final String MODEL_ID = "random-decoder";
    public static final List<String> PROMPTS = List.of(
            "the old river runs past the quiet town",
            "a small bird sings at first light",
            "we walk home through the cold rain",
            "my friend reads a book by the window",
            "the children play in the green garden");
    public static final int NEW_TOKENS = 16;
    private static final int SHOWN_IDS = 6;

    private final EeKey key;
    private final ClientProfile profile;
    private final TokenizerJson tokenizer;
    private final ModelTransformer.Result plain;

    private GenerationDemo(EeKey key, ClientProfile profile, TokenizerJson tokenizer, ModelTransformer.Result plain) {
        this.key = key;
        this.profile = profile;
        this.tokenizer = tokenizer;
        this.plain = plain;
    }

    /**
     * Writes the demo decoder as an export into {@code exportDir}, then encrypts it from those files into
     * {@code models/}{@value #MODEL_ID} with its client profile beside it, as encrypt-model does; keeps the
     * plaintext model in memory for the comparison.
     */
    public static GenerationDemo prepare(EeKey key, Path exportDir, Path models, PrintWriter out) throws IOException {
        long t0 = System.nanoTime();
        DemoDecoder decoder = DemoDecoder.build();
        out.println("      " + decoder.spec().describe());
        out.println("      Its weights are RANDOM: it was never trained, so the text it writes is gibberish. What counts is that");
        out.println("      the text decrypted from the EE model equals the plaintext model's, token for token.");
        DemoDecoder.Export export = decoder.writeTo(exportDir);
        TokenizerJson tokenizer = TokenizerJson.read(export.tokenizer());
        ClientProfile.Generation generation = ClientProfile.Generation.of(TokenizerConfig.read(export.tokenizerConfig(), tokenizer));
        ModelProto source = ModelTransformer.read(export.model());
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.GENERATE).key(key).modelId(MODEL_ID).build(), null, s -> { });
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.GENERATE).modelId("plaintext-reference").build(), null, s -> { });
        Path modelDir = ModelBundle.in(models, MODEL_ID).write(ee.modelBytes(), ee.manifest(), true).dir();
        ClientProfile profile = ClientProfile.of(ee, null, export.tokenizer().toAbsolutePath().toString(), generation);
        profile.write(ClientProfile.besides(modelDir), true);
        out.printf("      plaintext export in %s; EE model in %s, client profile beside it (%.1f s)%n", exportDir, modelDir,
                (System.nanoTime() - t0) / 1e9);
        return new GenerationDemo(key, profile, tokenizer, plain);
    }

    /**
     * Sends all prompts but the last at once, then the last one streamed, its text printed as it arrives; prints each
     * prompt with its ciphertext on the wire, the decrypted text and the comparison with plaintext generation.
     *
     * @return how many generations equal the plaintext model's
     */
    public int run(String bootstrapServers, Map<String, Object> clientProperties, PrintWriter out) throws Exception {
        GenerationOptions greedy = GenerationOptions.builder().maxNewTokens(NEW_TOKENS).build();
        List<String> whole = PROMPTS.subList(0, PROMPTS.size() - 1);
        String streamed = PROMPTS.get(PROMPTS.size() - 1);
        int equal = 0;
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(bootstrapServers)
                     .properties(clientProperties).key(key).profile(profile).timeout(Duration.ofSeconds(60)).build();
             PrivateTokenizer tok = PrivateTokenizer.open(tokenizer, null, profile.vocabSize(), profile.maxSequenceLength());
             DecoderSession reference = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            Map<String, CompletableFuture<DecryptedResult.Generation>> answers = new LinkedHashMap<>();
            for (String p : whole) {
                answers.put(p, client.generate(p, greedy));
            }
            for (String p : whole) {
                Expected expected = expected(p, tok, reference);
                printSent(out, p, expected);
                try {
                    DecryptedResult.Generation g = answers.get(p).get();
                    printReceived(out, g);
                    out.printf("    decrypted  \"%s\"%n", g.text());
                    equal += verdict(out, g, expected) ? 1 : 0;
                } catch (ExecutionException e) {
                    out.printf("    FAILED     %s%n", e.getCause().getMessage());
                }
            }

            Expected expected = expected(streamed, tok, reference);
            printSent(out, streamed, expected);
            out.print("    decrypted  \"");
            out.flush();
            StringBuffer deltas = new StringBuffer();
            AtomicInteger pieces = new AtomicInteger();
            try {
                DecryptedResult.Generation g = client.generate(streamed, greedy.toBuilder().stream(true).build(), d -> {
                    deltas.append(d);
                    pieces.incrementAndGet();
                    out.print(d);
                    out.flush();
                }).get();
                out.printf("\"  (streamed: printed as it arrived, in %d pieces)%n", pieces.get());
                printReceived(out, g);
                equal += verdict(out, g, expected) && deltas.toString().equals(g.text()) ? 1 : 0;
            } catch (ExecutionException e) {
                out.printf("\"%n    FAILED     %s%n", e.getCause().getMessage());
            }
        }
        return equal;
    }

    /** The plaintext model's greedy generation from the prompt, as the client would prompt it (BOS, stop ids). */
    private Expected expected(String prompt, PrivateTokenizer tok, DecoderSession reference) {
        long[] promptIds = PromptIds.prompt(tok.encodePlain(prompt), profile.generation());
        Set<Long> stops = PromptIds.stops(profile.generation(), List.of(), profile.vocabSize());
        Generation g = reference.greedy(promptIds, NEW_TOKENS, stops);
        long[] ids = g.ids();
        long[] textIds = ids.length > 0 && stops.contains(ids[ids.length - 1]) ? Arrays.copyOf(ids, ids.length - 1) : ids;
        return new Expected(promptIds, g, tok.decodePlain(textIds));
    }

    /** The prompt's ids as the client sends them: the plaintext ids the client builds, under π. */
    private void printSent(PrintWriter out, String prompt, Expected expected) {
        out.printf("  prompt     \"%s\"%n", prompt);
        out.printf("    sent       ciphertext ids %s (%d tokens, BOS first)%n", firstFew(expected.promptIds()), expected.promptIds().length);
    }

    /** The answer holds the decrypted ids; π of them is what came back over the wire. */
    private void printReceived(PrintWriter out, DecryptedResult.Generation g) {
        out.printf("    received   ciphertext ids %s (%d tokens, finish %s)%n", firstFew(g.tokenIds()), g.generatedTokens(),
                g.finishReason());
    }

    /** Prints and returns whether the generation has the plaintext model's ids, text and finish reason. */
    private static boolean verdict(PrintWriter out, DecryptedResult.Generation g, Expected expected) {
        long[] ids = expected.generation().ids();
        boolean same = Arrays.equals(g.tokenIds(), ids) && g.text().equals(expected.text())
                && expected.generation().finishReason().name().equals(g.finishReason());
        out.println(same ? "    plaintext  equal: the plaintext model generates the same " + ids.length + " tokens"
                : "    plaintext  NOT EQUAL: the plaintext model generates \"" + expected.text() + "\" (" + ids.length
                        + " tokens, finish " + expected.generation().finishReason() + ")");
        return same;
    }

    /** The first few plaintext ids encrypted with π: what a reader of the topic sees. */
    private String firstFew(long[] plainIds) {
        Permutation pi = key.vocabPermutation(profile.vocabSize());
        String shown = LongStream.of(plainIds).limit(SHOWN_IDS).mapToObj(id -> Integer.toString(pi.apply((int) id)))
                .collect(Collectors.joining(","));
        return plainIds.length > SHOWN_IDS ? shown + ",…" : shown;
    }

    /** What the plaintext model gives for one prompt: its prompt ids, its generation and the generation's text. */
    private record Expected(long[] promptIds, Generation generation, String text) {
    }
}
