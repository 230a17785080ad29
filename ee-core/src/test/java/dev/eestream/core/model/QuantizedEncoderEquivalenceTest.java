package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.Compare;
import dev.eestream.core.TestTexts;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.TestInstance;

/**
 * The real int8-quantized encoders that ship in Maven artifacts ({@code dev.langchain4j:langchain4j-embeddings-*-q}:
 * all-MiniLM-L6-v2, e5-small-v2, bge-small-en-v1.5; a uint8 token table, DynamicQuantizeLinear and MatMulInteger in
 * every layer): decrypt(EE model(encrypt(x))) against the plaintext quantized model(x), in batches as the processor
 * runs them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuantizedEncoderEquivalenceTest {
    private static final int BATCH = 16;
    private static final List<String> LABELS = List.of("finance and payments", "sports", "technology and computing",
            "health and medicine", "politics");

    private final EeKey key = EeKey.generate();
    private List<String> texts;

    @BeforeAll
    void texts() {
        texts = new ArrayList<>(TestTexts.varied(110, 43));
        texts.sort(Comparator.comparingInt(String::length));
    }

    /** A quantized model from its artifact's jar on the test classpath, with its tokenizer. */
    private record Quantized(String name, ModelProto source, TokenizerJson tokenizer) {
        static Quantized load(String name) throws Exception {
            ModelProto source;
            try (InputStream in = resource("/" + name + ".onnx")) {
                source = ModelTransformer.read(in, name);
            }
            TokenizerJson tokenizer;
            try (InputStream in = resource("/" + name + "-tokenizer.json")) {
                tokenizer = TokenizerJson.of(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
            }
            Set<String> ops = source.getGraph().getNodeList().stream().map(NodeProto::getOpType).collect(Collectors.toSet());
            assertTrue(ops.containsAll(List.of("DynamicQuantizeLinear", "MatMulInteger", "DequantizeLinear")), "a quantized graph: " + ops);
            return new Quantized(name, source, tokenizer);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = QuantizedEncoderEquivalenceTest.class.getResourceAsStream(name);
        assertNotNull(in, name + " (from a langchain4j-embeddings-*-q artifact) is on the test classpath");
        return in;
    }

    /**
     * π alone moves whole rows of the uint8 token table: bit-identical scores, in batches of 16 too, since the EE model
     * pads with the ciphertext of the plaintext pad id (the batch-wide DynamicQuantizeLinear sees the same pad rows).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"all-minilm-l6-v2-q", "e5-small-v2-q", "bge-small-en-v1.5-q"})
    void zeroShotScoresWithoutHiddenPermutationAreBitIdenticalInBatches(String name) throws Exception {
        Outcome outcome = compare(Quantized.load(name), Task.CLASSIFY, false, LABELS);
        System.out.printf("quantized %s classify without ρ: %d texts in batches of %d, %d bit-identical, max relative difference %.3g%n",
                name, texts.size(), BATCH, outcome.identical(), outcome.worst());
        assertEquals(texts.size(), outcome.identical(), "bit-identical scores");
        assertEquals(texts.size(), outcome.sameArgmax());
    }

    /**
     * The int8 MiniLM as ONNX Runtime's offline optimizer rewrites it: DynamicQuantizeMatMul and MatMulIntegerToFloat
     * (com.microsoft) fuse the quantized matmuls; π alone still gives bit-identical scores.
     */
    @org.junit.jupiter.api.Test
    void ortOptimizedQuantizedGraphWithoutHiddenPermutationIsBitIdentical() throws Exception {
        Quantized original = Quantized.load("all-minilm-l6-v2-q");
        ModelProto optimized = OrtOptimizer.extended(original.source(), Map.of());
        Set<String> ops = OrtOptimizer.opTypes(optimized);
        assertTrue(ops.contains("com.microsoft:DynamicQuantizeMatMul") || ops.contains("com.microsoft:MatMulIntegerToFloat"),
                "fused quantized matmuls: " + ops);
        Outcome outcome = compare(new Quantized("all-minilm-l6-v2-q (ORT-optimized)", optimized, original.tokenizer()),
                Task.CLASSIFY, false, LABELS);
        System.out.printf("ORT-optimized quantized MiniLM classify without ρ: %d texts, %d bit-identical%n", texts.size(),
                outcome.identical());
        assertEquals(texts.size(), outcome.identical(), "bit-identical scores");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"all-minilm-l6-v2-q", "e5-small-v2-q", "bge-small-en-v1.5-q"})
    void theHiddenPermutationIsRefusedAtTheFirstDynamicQuantizeLinear(String name) throws Exception {
        Quantized model = Quantized.load(name);
        for (Task task : List.of(Task.EMBED, Task.CLASSIFY)) {
            EeException refused = assertThrows(EeException.class, () -> ModelEncryptor.encrypt(model.source(), model.tokenizer(),
                    TransformSpec.builder(task).key(key).hiddenPermutation(true).modelId("q-ee").build(),
                    task == Task.CLASSIFY ? LABELS : null, stage -> { }));
            assertTrue(refused.getMessage().contains("(DynamicQuantizeLinear)") && refused.getMessage().contains("cannot be exact"),
                    refused.getMessage());
            assertTrue(refused.getMessage().contains("/embeddings/LayerNorm"), "names the node: " + refused.getMessage());
        }
    }

    /** What decrypted EE outputs were, against the plaintext quantized model's. */
    private record Outcome(double worst, int identical, int sameArgmax) {
    }

    /** Counted while the texts run. */
    private static final class Tally {
        double worst;
        int identical;
        int sameArgmax;
    }

    private static float[] inLabelOrder(OutputDecryptor decryptor, float[] cipherScores, List<String> labels) {
        Map<String, Float> byLabel = decryptor.classScores(cipherScores, labels);
        float[] ordered = new float[labels.size()];
        for (int j = 0; j < ordered.length; j++) {
            ordered[j] = byLabel.get(labels.get(j));
        }
        return ordered;
    }

    private Outcome compare(Quantized model, Task task, boolean hidden, List<String> labels) throws Exception {
        ModelTransformer.Result ee = ModelEncryptor.encrypt(model.source(), model.tokenizer(),
                TransformSpec.builder(task).key(key).hiddenPermutation(hidden).modelId("q-ee").build(), labels, stage -> { });
        ModelTransformer.Result plain = ModelEncryptor.encrypt(model.source(), model.tokenizer(),
                TransformSpec.builder(task).modelId("q-plain").build(), labels, stage -> { });
        assertEquals(hidden, ee.hiddenPermutation());
        assertEquals(key.vocabPermutation(ee.manifest().vocabSize()).apply(0), ee.manifest().padId(), "pads with the ciphertext of 0");
        assertEquals(0, plain.manifest().padId());
        OutputDecryptor decryptor = new OutputDecryptor(key);
        Tally tally = new Tally();
        try (PrivateTokenizer tokenizer = PrivateTokenizer.open(model.tokenizer(), key, ee.manifest().vocabSize(), ee.manifest().maxSequenceLength());
             ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
             ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
            PairedRuns.inBatches(tokenizer, eeSession, plainSession, texts, BATCH, (text, eeOut, plainOut) -> {
                float[] decrypted = task == Task.EMBED ? decryptor.embedding(eeOut) : inLabelOrder(decryptor, eeOut, labels);
                tally.worst = Math.max(tally.worst, Compare.maxRelativeDifference(decrypted, plainOut));
                tally.identical += Arrays.equals(decrypted, plainOut) ? 1 : 0;
                tally.sameArgmax += Compare.argmax(decrypted) == Compare.argmax(plainOut) ? 1 : 0;
            });
        }
        return new Outcome(tally.worst, tally.identical, tally.sameArgmax);
    }
}
