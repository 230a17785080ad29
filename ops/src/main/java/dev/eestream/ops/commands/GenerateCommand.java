package dev.eestream.ops.commands;

import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.client.producer.InferenceErrorException;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.GenerationFlags;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ModelProfileOptions;
import dev.eestream.runtime.EeException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate a continuation of a prompt with an EE decoder through the pipeline:",
            "the prompt is encrypted here, the processor generates ciphertext tokens, and",
            "they are decrypted here. Prints only the continuation on stdout (as it arrives",
            "with --stream), then a newline; a summary (tokens, finish reason, time) goes",
            "to stderr."})
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ModelProfileOptions model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT",
            description = "The text to continue; \"\" starts from the model's BOS token alone.")
    String prompt;

    @Mixin
    GenerationFlags decoding;

    @Option(names = "--stream", description = "Print the text while it is generated.")
    boolean stream;

    @Option(names = "--timeout-ms", defaultValue = "120000", paramLabel = "MS",
            description = "Wait this long for the whole generation (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        GenerationOptions options = decoding.options(stream);
        ClientProfile p = model.load();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (EncryptedInferenceClient client = EncryptedInferenceClient.builder().properties(connection.properties())
                .bootstrapServers((String) connection.properties().get("bootstrap.servers")).key(key.load()).profile(p)
                .timeout(Duration.ofMillis(timeoutMs)).build()) {
            DecryptedResult.Generation g;
            try {
                g = client.generate(prompt, options, stream ? delta -> {
                    out.print(delta);
                    out.flush();
                } : null).get();
            } catch (ExecutionException e) {
                throw userError(e.getCause());
            }
            if (!stream) {
                out.print(g.text());
            }
            out.println();
            out.flush();
            err.printf("%d prompt tokens, %d generated, finish reason %s; first tokens after %d ms, %d ms in all%n",
                    g.promptTokens(), g.generatedTokens(), g.finishReason(), g.firstTokensMs(), g.totalMs());
            err.flush();
        }
        return 0;
    }

    /** An answer's failure as a one-line error. */
    static RuntimeException userError(Throwable cause) {
        if (cause instanceof InferenceErrorException || cause instanceof EeException) {
            return new EeException(cause.getMessage(), cause);
        }
        if (cause instanceof TimeoutException) {
            return new EeException(cause.getMessage() + " (raise --timeout-ms, or is the processor running?)", cause);
        }
        return cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }
}
