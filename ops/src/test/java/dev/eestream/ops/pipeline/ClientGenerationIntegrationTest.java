package dev.eestream.ops.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.client.producer.InferenceErrorException;
import dev.eestream.client.producer.PromptIds;
import dev.eestream.core.chat.ChatMessage;
import dev.eestream.core.chat.ChatTemplate;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The client side of generation through a real broker, registry and processor (local mode): a decoder with
 * random weights and a word-level tokenizer written here, encrypted with {@code encrypt-model --task generate
 * --tokenizer-config}; the Java client's {@code generate} (whole and streamed) and the {@code generate} command
 * give exactly the text of the plaintext model's greedy continuation, decoded by the plaintext tokenizer; so do the
 * client's {@code chat} and the {@code chat} command (two turns, the history kept) on the template's rendering.
 */
@Tag("integration")
class ClientGenerationIntegrationTest {
    private static final String MODEL = "tiny-chat";
    private static final int VOCAB = 64;
    private static final int CONTEXT = 64;
    private static final int NEW_TOKENS = 24;
    private static final long EOS = 2;

    @TempDir
    Path work;

    @Test
    void generatedTextEqualsThePlaintextModelsGreedyContinuation() throws Exception {
        var source = decoder(11);
        Path modelFile = work.resolve("decoder.onnx");
        Files.write(modelFile, source.toByteArray());
        Path tokenizerFile = writeTokenizer();
        Path config = work.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
                + " \"add_bos_token\": true, \"chat_template\": \"{% for m in messages %}{{ m['content'] }} {% endfor %}\"}");
        EeKey key = EeKey.generate();
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        Path models = work.resolve("models");
        assertEquals(0, cli("encrypt-model", "--key", keyFile.toString(), "--model", modelFile.toString(), "--tokenizer",
                tokenizerFile.toString(), "--tokenizer-config", config.toString(), "--task", "generate", "--hidden-permutation",
                "--out", models.resolve(MODEL).toString()).exit());
        ClientProfile profile = ClientProfile.read(ClientProfile.besides(models.resolve(MODEL)));
        assertEquals(Boolean.TRUE, profile.generation().addBosToken());

        List<String> prompts = List.of("w3 w17 w9", "w40", "w5 w5 w5 w61 w12 w33", "w20 w21 w22 w23", "", "w7 w8");
        Map<String, String> expected = new LinkedHashMap<>();
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        try (DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest());
             PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(tokenizerFile), null, VOCAB, CONTEXT);
             LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"),
                Map.of("generate.stream.interval.ms", "1")));
             EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                     .properties(local.clientProperties()).key(key).profile(profile).timeout(Duration.ofSeconds(120)).build()) {
            for (String p : prompts) {
                expected.put(p, continuation(session, tok, PromptIds.prompt(tok.encodePlain(p), profile.generation())));
            }
            System.out.println("plaintext continuations: " + expected);
            GenerationOptions greedy = GenerationOptions.builder().maxNewTokens(NEW_TOKENS).build();

            // (a) several prompts at once, whole answers
            Map<String, CompletableFuture<DecryptedResult.Generation>> futures = new LinkedHashMap<>();
            for (String p : prompts) {
                futures.put(p, client.generate(p, greedy));
            }
            for (var e : futures.entrySet()) {
                DecryptedResult.Generation g = e.getValue().get(120, TimeUnit.SECONDS);
                assertEquals(expected.get(e.getKey()), g.text(), "prompt '" + e.getKey() + "'");
                assertEquals(prompts.indexOf(e.getKey()) == 4 ? 1 : e.getKey().split(" ").length + 1, g.promptTokens(),
                        "the BOS in front of the prompt's words");
                assertEquals(g.tokenIds().length, g.generatedTokens());
                assertTrue(g.finishReason().equals("LENGTH") ? g.generatedTokens() == NEW_TOKENS
                        : g.finishReason().equals("STOP") && g.tokenIds()[g.tokenIds().length - 1] == EOS, g.toString());
            }

            // (b) streamed: the deltas add up to the same text
            for (String p : List.of(prompts.get(0), prompts.get(2))) {
                StringBuffer deltas = new StringBuffer();
                List<String> pieces = java.util.Collections.synchronizedList(new ArrayList<>());
                DecryptedResult.Generation g = client.generate(p, greedy.toBuilder().stream(true).build(), d -> {
                    deltas.append(d);
                    pieces.add(d);
                }).get(120, TimeUnit.SECONDS);
                assertEquals(expected.get(p), deltas.toString(), "streamed deltas of '" + p + "'");
                assertEquals(expected.get(p), g.text());
                assertTrue(pieces.size() > 1 || expected.get(p).split(" ").length <= 1, pieces.toString());
            }

            // (c) the command prints the continuation, whole and streamed
            profile.write(work.resolve("profile.json"), false);
            for (boolean stream : List.of(false, true)) {
                String p = prompts.get(3);
                List<String> args = new ArrayList<>(List.of("generate", "--bootstrap", local.bootstrapServers(), "--registry",
                        local.registryUrl(), "--key", keyFile.toString(), "--model-id", MODEL, "--profile",
                        work.resolve("profile.json").toString(), "--prompt", p, "--max-new-tokens", Integer.toString(NEW_TOKENS)));
                if (stream) {
                    args.add("--stream");
                }
                Run r = cli(args.toArray(String[]::new));
                assertEquals(0, r.exit(), r.err());
                assertEquals(expected.get(p) + "\n", r.out(), "--stream " + stream);
                assertTrue(r.err().contains("prompt tokens") && r.err().contains("finish reason"), r.err());
            }
            Run bad = cli("generate", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(), "--key",
                    keyFile.toString(), "--model-id", MODEL, "--models", models.toString(), "--prompt", "w3", "--top-p", "0");
            assertEquals(EestreamCli.EXIT_USER_ERROR, bad.exit());
            assertEquals(1, bad.err().lines().count(), bad.err());
            assertTrue(bad.err().contains("--top-p must be in (0, 1]"), bad.err());

            // chat: the conversation rendered by the profile's template (which adds no BOS), in the library and the command
            ChatTemplate template = new ChatTemplate(profile.generation().chatTemplate(), "<s>", "</s>", Clock.systemUTC());
            List<ChatMessage> conversation = List.of(ChatMessage.user("w3 w17 w9"));
            String chatReply = continuation(session, tok, tok.encodePlain(template.render(conversation, true)));
            assertEquals(chatReply, client.chat(conversation, greedy).get(120, TimeUnit.SECONDS).text());
            List<ChatMessage> history = new ArrayList<>(List.of(ChatMessage.user("w20 w21")));
            String first = continuation(session, tok, tok.encodePlain(template.render(history, true)));
            history.add(ChatMessage.assistant(first));
            history.add(ChatMessage.user("w7 w44"));
            String second = continuation(session, tok, tok.encodePlain(template.render(history, true)));
            java.io.InputStream stdin = System.in;
            Run chat;
            try {
                System.setIn(new java.io.ByteArrayInputStream("w20 w21\n\nw7 w44\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                chat = cli("chat", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(), "--key",
                        keyFile.toString(), "--model-id", MODEL, "--models", models.toString(), "--max-new-tokens",
                        Integer.toString(NEW_TOKENS));
            } finally {
                System.setIn(stdin);
            }
            assertEquals(0, chat.exit(), chat.err());
            System.out.println("chat command's replies: " + chat.out().replace("\n", " | "));
            assertEquals(first + "\n" + second + "\n", chat.out(), "each reply streamed on its own line, the history kept");

            // (d) a prompt that fills the context: the processor's reason
            String tooLong = String.join(" ", java.util.Collections.nCopies(CONTEXT + 6, "w9"));
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.generate(tooLong, greedy).get(120, TimeUnit.SECONDS));
            assertInstanceOf(InferenceErrorException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("leaves no room to generate"), e.getCause().getMessage());
        }
    }

    /** A small Llama-style decoder with random weights, for the word-level tokenizer of {@link SyntheticTokenizers}. */
    static ai.onnx.proto.OnnxMl.ModelProto decoder(long seed) {
        return SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(VOCAB)
                .hiddenSize(32).layers(2).heads(4).kvHeads(2).intermediateSize(64).contextLength(CONTEXT).seed(seed).build());
    }

    /** The plaintext model's greedy continuation of plaintext prompt ids, as the plaintext tokenizer's text. */
    private static String continuation(DecoderSession session, PrivateTokenizer tok, long[] promptIds) {
        long[] ids = session.greedy(promptIds, NEW_TOKENS, Set.of(EOS)).ids();
        if (ids.length > 0 && ids[ids.length - 1] == EOS) {
            ids = Arrays.copyOf(ids, ids.length - 1);
        }
        return tok.decodePlain(ids);
    }

    /** Words w3…w63, with [UNK], <s> and </s> (special) below them; whitespace-split, no decoder (words join with spaces). */
    private Path writeTokenizer() throws Exception {
        Path tokenizer = work.resolve("tokenizer.json");
        Files.writeString(tokenizer, SyntheticTokenizers.numberedWords(VOCAB).text());
        return tokenizer;
    }

    record Run(int exit, String out, String err) {
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = EestreamCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }
}
