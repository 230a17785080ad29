package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.TestTexts;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Graphs as ONNX Runtime's own offline optimizer leaves them (EXTENDED level, the fused com.microsoft ops), encrypted
 * and run against the plaintext optimized graph: decrypt(EE(encrypt(x))) == optimized(x), bit for bit without ρ.
 * With dynamic shapes ORT 1.28 fuses MatMul+Div into FusedMatMul and the Erf-GELU into BiasGelu; with the batch and
 * sequence sizes fixed it also fuses Add+LayerNormalization into SkipLayerNormalization, the GELU into Gelu, and
 * turns 3-D MatMul+Add into Reshape/Gemm/Reshape.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OrtOptimizedGraphTest {
    private static final List<String> LABELS = List.of("finance and payments", "sports", "technology and computing",
            "health and medicine", "politics");
    private static final int BATCH = 16;
    private static final int FIXED_SEQUENCE = 64;

    private final EeKey key = EeKey.generate();
    private TokenizerJson tokenizerJson;
    private ModelProto minilmDynamic;
    private ModelProto minilmFixed;
    private List<String> texts;

    @BeforeAll
    void optimize() throws Exception {
        ModelProto source;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        tokenizerJson = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        minilmDynamic = OrtOptimizer.extended(source, Map.of());
        minilmFixed = OrtOptimizer.extended(source, Map.of("batch_size", (long) BATCH, "sequence_length", (long) FIXED_SEQUENCE));
        texts = new ArrayList<>(TestTexts.varied(8 * BATCH, 44));
        texts.sort(Comparator.comparingInt(String::length));
    }

    @Test
    void ortFusesMiniLm() {
        Set<String> dynamic = OrtOptimizer.opTypes(minilmDynamic);
        assertTrue(dynamic.containsAll(List.of("com.microsoft:FusedMatMul", "com.microsoft:BiasGelu")), dynamic.toString());
        Set<String> fixed = OrtOptimizer.opTypes(minilmFixed);
        assertTrue(fixed.containsAll(List.of("com.microsoft:SkipLayerNormalization", "com.microsoft:Gelu",
                "com.microsoft:FusedMatMul", "Gemm")), fixed.toString());
        System.out.println("ORT EXTENDED on MiniLM, dynamic shapes: " + dynamic + "; fixed [" + BATCH + ", " + FIXED_SEQUENCE + "]: " + fixed);
    }

    @Test
    void inspectingTheOptimizedMiniLmSaysItEmbedsAndClassifies() {
        for (ModelProto optimized : List.of(minilmDynamic, minilmFixed)) {
            ModelInspection inspection = ModelInspector.inspect(optimized, "minilm-ort", ModelInspector.Options.defaults());
            assertEquals(384, inspection.architecture().hiddenSize());
            assertEquals("input_ids", inspection.roles().tokenIds());
            assertTrue(inspection.task("embed").possible(), "embed: " + inspection.task("embed").problem());
            assertTrue(inspection.task("embed").hidden().possible(), "embed with ρ: " + inspection.task("embed").hidden().problem());
            assertTrue(inspection.task("classify").possible(), "classify: " + inspection.task("classify").problem());
            assertTrue(inspection.task("classify").hidden().possible(), "classify with ρ: " + inspection.task("classify").hidden().problem());
        }
    }

    @Test
    void miniLmDynamicEmbedWithHiddenPermutation() throws Exception {
        OutputTally o = compare(minilmDynamic, Task.EMBED, true, false);
        report("MiniLM (ORT dynamic) embed with ρ", o);
        assertTrue(o.worst() <= 1e-5, "max relative difference " + o.worst());
        assertEquals(0, o.rawEqual(), "raw EE embeddings differ from plaintext ones");
    }

    @Test
    void miniLmDynamicClassifyWithoutHiddenPermutationIsBitIdentical() throws Exception {
        OutputTally o = compare(minilmDynamic, Task.CLASSIFY, false, false);
        report("MiniLM (ORT dynamic) classify without ρ", o);
        assertEquals(texts.size(), o.identical());
    }

    @Test
    void miniLmDynamicClassifyWithHiddenPermutation() throws Exception {
        OutputTally o = compare(minilmDynamic, Task.CLASSIFY, true, false);
        report("MiniLM (ORT dynamic) classify with ρ", o);
        assertTrue(o.worst() <= 1e-5, "max relative difference " + o.worst());
        assertEquals(texts.size(), o.sameArgmax());
    }

    @Test
    void miniLmFixedShapeEmbedWithHiddenPermutation() throws Exception {
        OutputTally o = compare(minilmFixed, Task.EMBED, true, true);
        report("MiniLM (ORT fixed shape) embed with ρ", o);
        assertTrue(o.worst() <= 1e-5, "max relative difference " + o.worst());
        assertEquals(0, o.rawEqual(), "raw EE embeddings differ from plaintext ones");
    }

    @Test
    void miniLmFixedShapeClassifyWithoutHiddenPermutationIsBitIdentical() throws Exception {
        OutputTally o = compare(minilmFixed, Task.CLASSIFY, false, true);
        report("MiniLM (ORT fixed shape) classify without ρ", o);
        assertEquals(texts.size(), o.identical());
    }

    @Test
    void miniLmFixedShapeClassifyWithHiddenPermutation() throws Exception {
        OutputTally o = compare(minilmFixed, Task.CLASSIFY, true, true);
        report("MiniLM (ORT fixed shape) classify with ρ", o);
        assertTrue(o.worst() <= 1e-5, "max relative difference " + o.worst());
        assertEquals(texts.size(), o.sameArgmax());
    }

    private void report(String what, OutputTally o) {
        System.out.println(what + ": " + o.summary("texts", BATCH));
        assertEquals(texts.size(), o.compared());
    }

    /**
     * The EE (or plaintext) model of {@code optimized}. A fixed-shape graph cannot embed the label texts itself (the
     * session pads to the longest text, not to the fixed shape), so its label prototypes come from the dynamic graph.
     */
    private ModelTransformer.Result encrypt(ModelProto optimized, TransformSpec.Builder spec, boolean fixedShape) throws Exception {
        TransformSpec built = spec.build();
        List<String> labels = built.task() == Task.CLASSIFY ? LABELS : null;
        if (!fixedShape || labels == null) {
            return ModelEncryptor.encrypt(optimized, tokenizerJson, built, labels, stage -> { });
        }
        float[][] prototypes = ModelEncryptor.labelPrototypes(minilmDynamic, tokenizerJson, built, labels);
        return ModelTransformer.transform(optimized, spec.labelPrototypes(prototypes).tokenizerVocabSize(tokenizerJson.vocabSize())
                .fallbackMaxSequenceLength(tokenizerJson.truncationLength()).build());
    }

    private OutputTally compare(ModelProto optimized, Task task, boolean hidden, boolean fixedShape) throws Exception {
        ModelTransformer.Result ee = encrypt(optimized, TransformSpec.builder(task).key(key).hiddenPermutation(hidden)
                .modelId("ort-ee"), fixedShape);
        ModelTransformer.Result plain = encrypt(optimized, TransformSpec.builder(task).modelId("ort-plain"), fixedShape);
        assertEquals(hidden, ee.hiddenPermutation());
        OutputTally tally = new OutputTally(task, new OutputDecryptor(key), LABELS);
        try (PrivateTokenizer tokenizer = PrivateTokenizer.open(tokenizerJson, key, ee.manifest().vocabSize(),
                fixedShape ? FIXED_SEQUENCE : ee.manifest().maxSequenceLength())) {
            if (fixedShape) {
                try (FixedShapeRuns runs = new FixedShapeRuns(ee.modelBytes(), ee.manifest(), plain.modelBytes(), plain.manifest(),
                        BATCH, FIXED_SEQUENCE)) {
                    runs.inBatches(tokenizer, texts, tally);
                }
            } else {
                try (ModelSession eeSession = ModelSession.open(ee.modelBytes(), ee.manifest());
                     ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest())) {
                    PairedRuns.inBatches(tokenizer, eeSession, plainSession, texts, BATCH, tally);
                }
            }
        }
        return tally;
    }
}
