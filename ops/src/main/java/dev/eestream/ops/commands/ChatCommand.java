package dev.eestream.ops.commands;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.core.chat.ChatMessage;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.GenerationFlags;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ModelProfileOptions;
import dev.eestream.runtime.EeException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Chat with an EE decoder through the pipeline: each line read from stdin is a",
            "user message; the conversation so far is rendered with the model's chat",
            "template, encrypted here, and the reply is streamed to stdout as it is",
            "decrypted, one line per reply. A summary of each reply and any error go to",
            "stderr; a failed turn is left out of the history. Ends at the end of the input."})
public final class ChatCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ModelProfileOptions model;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message to start the conversation with.")
    String system;

    @Mixin
    GenerationFlags decoding;

    @Option(names = "--timeout-ms", defaultValue = "120000", paramLabel = "MS",
            description = "Wait this long for each reply (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        GenerationOptions options = decoding.options(true);
        ClientProfile p = model.load();
        if (p.generation() == null || p.generation().chatTemplate() == null) {
            throw new EeException("model '" + model.modelId() + "' has no chat template in its profile"
                    + " (encrypt-model --tokenizer-config with a chat_template gives it one)");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<ChatMessage> history = new ArrayList<>();
        if (system != null) {
            history.add(ChatMessage.system(system));
        }
        int failed = 0;
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().properties(connection.properties())
                .bootstrapServers((String) connection.properties().get("bootstrap.servers")).key(key.load()).profile(p)
                .timeout(Duration.ofMillis(timeoutMs)).build();
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            err.print("> ");
            err.flush();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (!line.isBlank()) {
                    history.add(ChatMessage.user(line));
                    try {
                        DecryptedResult.Generation g = client.chat(history, options, delta -> {
                            out.print(delta);
                            out.flush();
                        }).get();
                        history.add(ChatMessage.assistant(g.text()));
                        out.println();
                        out.flush();
                        err.printf("[%d tokens, %s, %d ms]%n", g.generatedTokens(), g.finishReason(), g.totalMs());
                    } catch (ExecutionException | EeException e) {
                        // One bad turn (a conversation grown past the context, say) need not end the chat.
                        history.remove(history.size() - 1);
                        failed++;
                        out.println();
                        out.flush();
                        Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                        err.println("eestream: error: " + GenerateCommand.userError(cause).getMessage());
                    }
                }
                err.print("> ");
                err.flush();
            }
            err.println();
        }
        return failed == 0 ? 0 : 2;
    }
}
