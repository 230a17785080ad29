package dev.eestream.ops.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.client.consumer.DecryptedResult;
import dev.eestream.client.producer.EncryptedInferenceClient;
import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.client.producer.PromptIds;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelWriter;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.SessionSettings;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A decoder over protobuf's 2 GB limit, the way a 1B-class export arrives: Llama-3.2-1B's width,
 * heads and vocabulary (random weights, fewer layers), exported as optimum does with its weights in
 * {@code model.onnx_data} (untied head: 4 GB at 8 layers), encrypted by {@code encrypt-model} with ρ, served by local mode, and
 * asked for several greedy generations at once: each equals the plaintext model's continuation.
 * Needs about 12 GB of heap and 5 minutes: {@code ./mvnw -pl ops -am verify -Plarge-model
 * -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=LargeDecoderIntegrationTest
 * -Dfailsafe.failIfNoSpecifiedTests=false}.
 */
@Tag("integration")
@EnabledIfSystemProperty(named = "eestream.large.model", matches = "true")
class LargeDecoderIntegrationTest {
    private static final String MODEL = "large";
    private static final int NEW_TOKENS = 8;
    private static final long EOS = SyntheticTokenizers.EOS_ID;

    @TempDir
    Path work;

    @Test
    void aDecoderOverTwoGigabytesIsEncryptedServedAndGeneratesExactlyWhatThePlaintextModelDoes() throws Exception {
        int layers = Integer.getInteger("eestream.large.layers", 8);
        SyntheticDecoderSpec spec = SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(128_256)
                .hiddenSize(2048).layers(layers).heads(32).kvHeads(8).intermediateSize(8192).contextLength(2048).seed(3).build();
        Path export = Files.createDirectories(work.resolve("export"));
        long started = System.nanoTime();
        long weights;
        {
            ModelProto built = SyntheticDecoders.build(spec);
            weights = ExternalData.weightBytes(built);
            ExternalData.Split split = ExternalData.split(built, "model.onnx_data", ExternalData.DEFAULT_MIN_BYTES);
            Files.write(export.resolve("model.onnx"), split.modelBytes());
            try (OutputStream out = Files.newOutputStream(export.resolve("model.onnx_data"))) {
                split.writeData(out);
            }
        }
        assertTrue(weights > ExternalData.PROTOBUF_LIMIT, "the model is over 2 GB: " + weights);
        Path tokenizerFile = export.resolve("tokenizer.json");
        Files.writeString(tokenizerFile, SyntheticTokenizers.numberedWords(spec.vocabSize()).text());
        Path config = export.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"<s>\", "
                + "\"eos_token\": \"</s>\", \"add_bos_token\": true}");
        System.out.printf("exported %.2f GB of weights in %.0f s%n", weights / 1e9, seconds(started));

        EeKey key = EeKey.generate();
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        Path models = work.resolve("models");
        started = System.nanoTime();
        StringWriter err = new StringWriter();
        CommandLine cl = EestreamCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        assertEquals(0, cl.execute("encrypt-model", "--key", keyFile.toString(), "--model", export.resolve("model.onnx").toString(),
                "--tokenizer", tokenizerFile.toString(), "--tokenizer-config", config.toString(), "--task", "generate",
                "--hidden-permutation", "--out", models.resolve(MODEL).toString()), err.toString());
        assertTrue(ModelBundle.in(models, MODEL).hasData(), "written with external data (auto: over 1.5 GiB)");
        System.out.printf("encrypt-model in %.0f s%n", seconds(started));

        List<String> prompts = List.of("w5 w17 w300 w9000", "w100000 w42", "w7", "w64000 w64001 w3 w3 w3");
        Map<String, String> expected = new LinkedHashMap<>();
        ClientProfile profile = ClientProfile.read(ClientProfile.besides(models.resolve(MODEL)));
        ModelBundle plainBundle = ModelBundle.at(work.resolve("plain"));
        ModelWriter.write(plainBundle, ModelTransformer.transform(ModelTransformer.read(export.resolve("model.onnx")),
                TransformSpec.builder(Task.GENERATE).modelId("plain").build()), ModelWriter.ExternalDataMode.AUTO, false);
        try (PrivateTokenizer tok = PrivateTokenizer.open(TokenizerJson.read(tokenizerFile), null, spec.vocabSize(), 2048)) {
            try (DecoderSession session = DecoderSession.open(plainBundle.modelFile(), plainBundle.readManifest(),
                    SessionSettings.defaults())) {
                for (String p : prompts) {
                    long[] ids = session.greedy(PromptIds.prompt(tok.encodePlain(p), profile.generation()), NEW_TOKENS, Set.of(EOS)).ids();
                    if (ids.length > 0 && ids[ids.length - 1] == EOS) {
                        ids = Arrays.copyOf(ids, ids.length - 1);
                    }
                    expected.put(p, tok.decodePlain(ids));
                }
            }
        }
        System.out.println("plaintext continuations: " + expected);

        try (LocalMode local = LocalMode.start(new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of()));
             EncryptedInferenceClient client = EncryptedInferenceClient.builder().bootstrapServers(local.bootstrapServers())
                     .properties(local.clientProperties()).key(key).profile(profile).timeout(Duration.ofMinutes(5)).build()) {
            GenerationOptions greedy = GenerationOptions.builder().maxNewTokens(NEW_TOKENS).build();
            started = System.nanoTime();
            Map<String, CompletableFuture<DecryptedResult.Generation>> futures = new LinkedHashMap<>();
            for (String p : prompts) {
                futures.put(p, client.generate(p, greedy));
            }
            for (var e : futures.entrySet()) {
                assertEquals(expected.get(e.getKey()), e.getValue().get(5, TimeUnit.MINUTES).text(), "prompt '" + e.getKey() + "'");
            }
            System.out.printf("%d concurrent generations over Kafka in %.0f s, each equal to plaintext%n", prompts.size(),
                    seconds(started));
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
