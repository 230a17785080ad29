package dev.eestream.core.model.transform;

import static dev.eestream.core.key.PermutationKind.HIDDEN;
import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.transform.RuleGraph.D;
import static dev.eestream.core.model.transform.RuleGraph.NODE;
import static dev.eestream.core.model.transform.RuleGraph.PRODUCER;
import static dev.eestream.core.model.transform.RuleGraph.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link OpRuleTest} for the fused onnxruntime contrib ops of ORT-optimized graphs (FusedMatMul, Attention, MatMulNBits,
 * the Reshape/Gemm/Reshape ORT writes around projections) and their refusals, each naming the node. Whole encoders and
 * decoders in these ops: FusedGraphEquivalenceTest, OrtOptimizedGraphTest, OrtOptimizedDecoderTest.
 */
class ContribOpRuleTest {
    private static final Map<Integer, PermutationKind> INVARIANT = Map.of();
    /** MatMulNBits over K = 32 in blocks of 16: per output row 2 blocks of 8 packed bytes, 2 scales, 1 packed zero-point byte. */
    private static final long K = 32;
    private static final long BLOCK = 16;

    private static RuleGraph stream() {
        return new RuleGraph().permuted("x", 2, HIDDEN, 2, 3, D);
    }

    private static Arguments derives(String name, RuleGraph g, Map<Integer, PermutationKind> labels, long... dims) {
        return Arguments.of(name, g, labels, dims);
    }

    static Stream<Arguments> rewrites() {
        return Stream.of(
                derives("FusedMatMul contracting the permuted axis: weight rows permuted", stream().constant("w", D, 5)
                        .contribNode("FusedMatMul", List.of(floatAttr("alpha", 0.5f)), "x", "w"), INVARIANT, 2, 3, 5),
                derives("FusedMatMul with transB: weight columns permuted", stream().constant("w", 5, D)
                        .contribNode("FusedMatMul", List.of(intAttr("transB", 1), floatAttr("alpha", 2f)), "x", "w"), INVARIANT, 2, 3, 5),
                derives("FusedMatMul with transA keeping a permuted column axis", new RuleGraph().permuted("x", 2, HIDDEN, 2, 3, D)
                        .constant("w", 3, 5).contribNode("FusedMatMul", List.of(intAttr("transA", 1)), "x", "w"), Map.of(1, HIDDEN),
                        2, D, 5),
                derives("Attention reading the permuted stream: packed QKV weight rows permuted", stream().constant("qkv", D, 3 * D)
                        .constant("bias", 3 * D).contribNode("Attention", List.of(intAttr("num_heads", 2)), "x", "qkv", "bias"),
                        INVARIANT, 2, 3, -1),
                derives("Reshape pulled back: the input's kept-whole last axis permuted", stream().constant("c", 6, D)
                        .longs("shape", new long[] {3}, 2, 3, D).producer("p", "Reshape", List.of(), "c", "shape")
                        .node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("FusedMatMul pulled back: weight columns permuted", stream().plain("a", 2, 3, 5).constant("w", 5, D)
                        .contribProducer("p", "FusedMatMul", List.of(floatAttr("alpha", 0.5f)), "a", "w").node("Add", "x", "p"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("MatMulNBits pulled back: weight rows, per-row scales, zero points and bias moved whole", stream()
                        .plain("a", 2, 3, K).bytes("q4", D, K / BLOCK, BLOCK / 2).constant("scales", D * K / BLOCK).bytes("zp", D)
                        .constant("bias", D).contribProducer("p", "MatMulNBits", nBits(), "a", "q4", "scales", "zp", "", "bias")
                        .node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rewrites")
    void theRewriteIsDerivedAndHolds(String name, RuleGraph g, Map<Integer, PermutationKind> labels, long[] dims) throws Exception {
        ModelProto plaintext = g.model();
        MutableGraph graph = MutableGraph.of(plaintext);
        PermutationPropagation analysis = new PermutationPropagation(graph, RuleGraph.PERMUTATIONS, g.hiddenPermutation(),
                g.initialStates(graph));
        analysis.run();
        TensorState out = analysis.state(RuleGraph.OUTPUT);
        assertArrayEquals(dims, out.dims(), "output dims " + out.describe());
        assertEquals(labels, out.labelMap(), "output permutation " + out.describe());
        Equivariance.assertHolds(g, plaintext, graph.build(), out);
    }

    private static List<ai.onnx.proto.OnnxMl.AttributeProto> nBits() {
        return List.of(intAttr("K", K), intAttr("N", D), intAttr("bits", 4), intAttr("block_size", BLOCK));
    }

    private static Arguments refuses(String name, RuleGraph g, String node, String op, String reason) {
        return Arguments.of(name, g, node, op, reason);
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                refuses("RotaryEmbedding reading the permuted stream", stream().longs("pos", new long[] {1}, 0).constant("cos", 8, 1)
                        .constant("sin", 8, 1).contribNode("RotaryEmbedding", List.of(intAttr("num_heads", 2)), "x", "pos", "cos", "sin"),
                        NODE, "RotaryEmbedding", "splits its columns into heads (and rotates pairs of them)"),
                refuses("MultiHeadAttention reading the permuted stream as its query", stream().plain("k", 2, 3, D).plain("v", 2, 3, D)
                        .contribNode("MultiHeadAttention", List.of(intAttr("num_heads", 2)), "x", "k", "v"), NODE, "MultiHeadAttention",
                        "must read tensors projected out of the residual stream"),
                refuses("GroupQueryAttention reading the permuted stream", stream().plain("k", 2, 3, 2).plain("v", 2, 3, 2)
                        .contribNode("GroupQueryAttention", List.of(intAttr("num_heads", 2), intAttr("kv_num_heads", 1)), "x", "k", "v"),
                        NODE, "GroupQueryAttention", "must read tensors projected out of the residual stream"),
                refuses("Attention with ρ on the sequence axis", new RuleGraph().permuted("x", 1, HIDDEN, 2, D, 4)
                        .constant("qkv", 4, 12).contribNode("Attention", List.of(intAttr("num_heads", 2)), "x", "qkv"), NODE, "Attention",
                        "only its hidden axis may be permuted"),
                refuses("MatMulNBits reading the permuted stream", new RuleGraph().permuted("x", 2, HIDDEN, 2, 3, D)
                        .bytes("q4", 5, 1, 2).constant("scales", 5).contribNode("MatMulNBits", List.of(intAttr("K", D), intAttr("N", 5),
                                intAttr("bits", 4), intAttr("block_size", 16)), "x", "q4", "scales"), NODE, "MatMulNBits",
                        "quantization blocks lie along the contracted axis"),
                refuses("DynamicQuantizeMatMul reading the permuted stream", stream().bytes("b", D, 5).constant("b_scale")
                        .contribNode("DynamicQuantizeMatMul", List.of(), "x", "b", "b_scale"), NODE, "DynamicQuantizeMatMul",
                        "the hidden permutation cannot be exact here"),
                refuses("FusedMatMul moving batch axes of a permuted operand", stream().constant("w", D, 5)
                        .contribNode("FusedMatMul", List.of(intAttr("transBatchA", 1)), "x", "w"), NODE, "FusedMatMul",
                        "transBatchA or transBatchB"),
                refuses("EmbedLayerNormalization reading ciphertext ids as segment ids", new RuleGraph().ids("ids", 2, 3)
                        .longInput("words", 2, 3).constant("word", V, D).constant("pos", 8, D).constant("seg", 2, D)
                        .constant("gamma", D).constant("beta", D)
                        .contribNode("EmbedLayerNormalization", List.of(), "words", "ids", "word", "pos", "seg", "gamma", "beta"),
                        NODE, "EmbedLayerNormalization", "reads ciphertext token ids as its input 1"),
                refuses("a 4-bit head's output pulled back onto the stream's permutation through another reader",
                        stream().plain("a", 2, 3, K).bytes("q4", D, K / BLOCK, BLOCK / 2).constant("scales", D * K / BLOCK)
                                .contribProducer("p", "MatMulNBits", nBits(), "a", "q4", "scales").alsoOutput("p").node("Add", "x", "p"),
                        PRODUCER, "MatMulNBits", "but other nodes read it too"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void unsafeUseIsRefusedNamingTheNode(String name, RuleGraph g, String node, String op, String reason) {
        MutableGraph graph = MutableGraph.of(g.model());
        PermutationPropagation analysis = new PermutationPropagation(graph, RuleGraph.PERMUTATIONS, g.hiddenPermutation(),
                g.initialStates(graph));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, analysis::run);
        assertEquals(node, e.nodeName());
        assertTrue(e.getMessage().startsWith("cannot encrypt the model at node '" + node + "' (" + op + "): "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
}
