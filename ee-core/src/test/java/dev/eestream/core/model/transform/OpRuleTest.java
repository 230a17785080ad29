package dev.eestream.core.model.transform;

import static dev.eestream.core.key.PermutationKind.HIDDEN;
import static dev.eestream.core.key.PermutationKind.LABELS;
import static dev.eestream.core.model.onnx.OnnxAttributes.floatAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intsAttr;
import static dev.eestream.core.model.transform.RuleGraph.D;
import static dev.eestream.core.model.transform.RuleGraph.NODE;
import static dev.eestream.core.model.transform.RuleGraph.PRODUCER;
import static dev.eestream.core.model.transform.RuleGraph.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op rule on a graph of one node (two for a pull-back through a producer): the state it
 * derives for the output, and that the rewritten graph, run by ONNX Runtime on encrypted inputs,
 * gives the plaintext output permuted as derived. Then the refusals, each naming the node.
 */
class OpRuleTest {
    private static final Map<Integer, PermutationKind> INVARIANT = Map.of();

    /** x [2, 3, D] arriving with ρ on its last axis: the residual stream of most cases. */
    private static RuleGraph stream() {
        return new RuleGraph().permuted("x", 2, HIDDEN, 2, 3, D);
    }

    private static Arguments derives(String name, RuleGraph g, Map<Integer, PermutationKind> labels, long... dims) {
        return Arguments.of(name, g, labels, dims);
    }

    static Stream<Arguments> forwardRules() {
        Stream<Arguments> unary = Stream.of("Identity", "Relu", "Tanh", "Erf", "Sigmoid", "Exp", "Neg", "Abs", "Softplus")
                .map(op -> derives("unary " + op, stream().node(op, "x"), Map.of(2, HIDDEN), 2, 3, D));
        Stream<Arguments> rest = Stream.of(
                derives("CumSum along an unpermuted axis keeps the permutation", stream().longs("axis", new long[0], 1)
                        .node("CumSum", "x", "axis"), Map.of(2, HIDDEN), 2, 3, D),
                derives("unary Cast to float", stream().node("Cast", List.of(intAttr("to", TensorProto.DataType.FLOAT_VALUE)), "x"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Add of a per-channel bias: bias permuted", stream().constant("b", D).node("Add", "x", "b"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Sub from a per-channel constant", stream().constant("b", D).node("Sub", "b", "x"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Mul by a scalar", stream().constant("s").node("Mul", "x", "s"), Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Div by a constant broadcast along another axis", stream().constant("c", 3, 1)
                        .node("Div", "x", "c"), Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Pow by a scalar", stream().scalar("two", 2f).node("Pow", "x", "two"), Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Max with a full-shape constant: constant permuted", stream().constant("c", 2, 3, D)
                        .node("Max", "x", "c"), Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Add of two permuted tensors", stream().permuted("z", 1, HIDDEN, 3, D)
                        .node("Add", "x", "z"), Map.of(2, HIDDEN), 2, 3, D),
                derives("reduce ReduceMean over the permuted axis, kept: invariant", stream()
                        .node("ReduceMean", List.of(intsAttr("axes", -1), intAttr("keepdims", 1)), "x"), INVARIANT, 2, 3, 1),
                derives("reduce ReduceL2 over the permuted axis, dropped: invariant", stream()
                        .node("ReduceL2", List.of(intsAttr("axes", 2), intAttr("keepdims", 0)), "x"), INVARIANT, 2, 3),
                derives("reduce ReduceSum over another axis (axes input)", stream().longs("axes", new long[] {1}, 1)
                        .node("ReduceSum", List.of(intAttr("keepdims", 0)), "x", "axes"), Map.of(1, HIDDEN), 2, D),
                derives("reduce ReduceMax over all axes: invariant", stream()
                        .node("ReduceMax", List.of(intAttr("keepdims", 0)), "x"), INVARIANT),
                derives("softmax Softmax over the permuted axis", stream().node("Softmax", List.of(intAttr("axis", -1)), "x"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("softmax LogSoftmax over another axis", stream().node("LogSoftmax", List.of(intAttr("axis", 1)), "x"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("softmax LpNormalization over the permuted axis", stream()
                        .node("LpNormalization", List.of(intAttr("axis", -1), intAttr("p", 2)), "x"), Map.of(2, HIDDEN), 2, 3, D),
                derives("layer norm LayerNormalization: scale and bias permuted", stream().constant("gamma", D).constant("beta", D)
                        .node("LayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-5f)), "x", "gamma", "beta"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("layer norm SimplifiedLayerNormalization: scale permuted", stream().constant("gamma", D)
                        .node("SimplifiedLayerNormalization", List.of(intAttr("axis", -1), floatAttr("epsilon", 1e-5f)), "x", "gamma"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("layer norm RMSNormalization (opset 23): scale permuted", stream().opset(23).constant("gamma", D)
                        .node("RMSNormalization", List.of(intAttr("axis", -1)), "x", "gamma"), Map.of(2, HIDDEN), 2, 3, D),
                derives("skip layer norm SkipLayerNormalization: skip, scale, beta and bias permuted", stream()
                        .constant("skip", 2, 3, D).constant("gamma", D).constant("beta", D).constant("bias", D)
                        .contribNode("SkipLayerNormalization", List.of(floatAttr("epsilon", 1e-5f)), "x", "skip", "gamma", "beta", "bias"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("skip layer norm SkipSimplifiedLayerNormalization: skip and scale permuted", stream()
                        .constant("skip", 2, 3, D).constant("gamma", D)
                        .contribNode("SkipSimplifiedLayerNormalization", List.of(floatAttr("epsilon", 1e-5f)), "x", "skip", "gamma"),
                        Map.of(2, HIDDEN), 2, 3, D),
                derives("MatMul contracting the permuted axis: weight rows permuted", stream().constant("w", D, 5)
                        .node("MatMul", "x", "w"), INVARIANT, 2, 3, 5),
                derives("MatMul contracting a permuted right operand: weight columns permuted", new RuleGraph()
                        .permuted("x", 0, HIDDEN, D, 2).constant("w", 3, D).node("MatMul", "w", "x"), INVARIANT, 3, 2),
                derives("MatMul keeping a permuted row axis", new RuleGraph().permuted("x", 1, HIDDEN, 2, D, 3)
                        .constant("w", 3, 5).node("MatMul", "x", "w"), Map.of(1, HIDDEN), 2, D, 5),
                derives("MatMul keeping a permuted column axis", new RuleGraph().permuted("x", 1, HIDDEN, 2, D)
                        .constant("w", 3, 2).node("MatMul", "w", "x"), Map.of(1, HIDDEN), 3, D),
                derives("Gemm contracting the permuted axis: weight rows permuted", new RuleGraph().permuted("x", 1, HIDDEN, 3, D)
                        .constant("w", D, 5).constant("c", 5).node("Gemm", "x", "w", "c"), INVARIANT, 3, 5),
                derives("Gemm with transB: weight columns permuted", new RuleGraph().permuted("x", 1, HIDDEN, 3, D)
                        .constant("w", 5, D).constant("c", 5).node("Gemm", List.of(intAttr("transB", 1)), "x", "w", "c"),
                        INVARIANT, 3, 5),
                derives("Gemm with transA contracting the permuted axis", new RuleGraph().permuted("x", 0, HIDDEN, D, 3)
                        .constant("w", D, 5).node("Gemm", List.of(intAttr("transA", 1)), "x", "w"), INVARIANT, 3, 5),
                derives("Gemm keeping permuted rows: full bias permuted", new RuleGraph().permuted("x", 0, HIDDEN, D, 3)
                        .constant("w", 3, 5).constant("c", D, 5).node("Gemm", "x", "w", "c"), Map.of(0, HIDDEN), D, 5),
                derives("Gather of ciphertext ids: table rows by π, columns by ρ", new RuleGraph().ids("ids", 2, 3)
                        .constant("table", V, D).node("Gather", "table", "ids"), Map.of(2, HIDDEN), 2, 3, D),
                derives("Gather of ciphertext ids without ρ: table rows by π", new RuleGraph().ids("ids", 2, 3)
                        .withoutHiddenPermutation().constant("table", V, D).node("Gather", "table", "ids"), INVARIANT, 2, 3, D),
                derives("Gather along a plain axis", stream().longs("idx", new long[] {2}, 2, 0)
                        .node("Gather", List.of(intAttr("axis", 1)), "x", "idx"), Map.of(2, HIDDEN), 2, 2, D),
                derives("Gather of one index along axis 0", stream().longs("idx", new long[0], 1)
                        .node("Gather", "x", "idx"), Map.of(1, HIDDEN), 3, D),
                derives("Transpose with perm", stream().node("Transpose", List.of(intsAttr("perm", 2, 0, 1)), "x"),
                        Map.of(0, HIDDEN), D, 2, 3),
                derives("Transpose reversing by default", stream().node("Transpose", "x"), Map.of(0, HIDDEN), D, 3, 2),
                derives("Unsqueeze in front", stream().longs("axes", new long[] {1}, 0).node("Unsqueeze", "x", "axes"),
                        Map.of(3, HIDDEN), 1, 2, 3, D),
                derives("Unsqueeze at the back", stream().longs("axes", new long[] {1}, -1).node("Unsqueeze", "x", "axes"),
                        Map.of(2, HIDDEN), 2, 3, D, 1),
                derives("Squeeze with axes", new RuleGraph().permuted("x", 2, HIDDEN, 2, 1, D).longs("axes", new long[] {1}, 1)
                        .node("Squeeze", "x", "axes"), Map.of(1, HIDDEN), 2, D),
                derives("Squeeze without axes", new RuleGraph().permuted("x", 2, HIDDEN, 2, 1, D).node("Squeeze", "x"),
                        Map.of(1, HIDDEN), 2, D),
                derives("Reshape keeping the permuted last axis whole", stream().longs("shape", new long[] {2}, 6, D)
                        .node("Reshape", "x", "shape"), Map.of(1, HIDDEN), 6, D),
                derives("Reshape with an inferred dim", stream().longs("shape", new long[] {4}, 1, -1, 3, D)
                        .node("Reshape", "x", "shape"), Map.of(3, HIDDEN), 1, -1, 3, D),
                derives("Slice along a plain axis", stream().longs("starts", new long[] {1}, 0).longs("ends", new long[] {1}, 2)
                        .longs("axes", new long[] {1}, 1).node("Slice", "x", "starts", "ends", "axes"), Map.of(2, HIDDEN), 2, -1, D),
                derives("Expand a size-1 axis", new RuleGraph().permuted("x", 2, HIDDEN, 2, 1, D).longs("shape", new long[] {3}, 2, 3, D)
                        .node("Expand", "x", "shape"), Map.of(2, HIDDEN), 2, 3, D),
                derives("Expand to a higher rank", stream().longs("shape", new long[] {4}, 2, 1, 1, 1)
                        .node("Expand", "x", "shape"), Map.of(3, HIDDEN), 2, 2, 3, D),
                derives("Concat along a plain axis with a constant: constant permuted", stream().constant("c", 2, 1, D)
                        .node("Concat", List.of(intAttr("axis", 1)), "x", "c"), Map.of(2, HIDDEN), 2, 4, D),
                derives("Concat of two permuted tensors along axis 0", stream()
                        .node("Concat", List.of(intAttr("axis", 0)), "x", "x"), Map.of(2, HIDDEN), 4, 3, D),
                derives("Shape of a permuted tensor: plain", stream().int64Output().node("Shape", "x"), INVARIANT, 3),
                derives("Size of a permuted tensor: plain", stream().int64Output().node("Size", "x"), INVARIANT),
                derives("Shape of ciphertext ids: plain", new RuleGraph().ids("ids", 2, 3).int64Output().node("Shape", "ids"),
                        INVARIANT, 2));
        return Stream.concat(unary, rest);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forwardRules")
    void forwardRuleDerivesTheOutputStateAndARewriteThatHolds(String name, RuleGraph g,
            Map<Integer, PermutationKind> labels, long[] dims) throws Exception {
        assertDerivedAndEquivariant(g, labels, dims);
    }

    /** y = x + producer(...): the demand that y's addend carry ρ is pulled back through the producer onto constants. */
    static Stream<Arguments> pullBacks() {
        return Stream.of(
                derives("unary Relu: its input permuted", stream().constant("b", D).producer("p", "Relu", List.of(), "b")
                        .node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("softmax Softmax: its input permuted", stream().constant("c", 3, D)
                        .producer("p", "Softmax", List.of(intAttr("axis", -1)), "c").node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("elementwise Mul: the operand spanning the axis permuted", stream().constant("b", D).constant("c", 3, 1)
                        .producer("p", "Mul", List.of(), "b", "c").node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("MatMul output columns: weight columns permuted", stream().plain("a", 2, 3, 5).constant("w", 5, D)
                        .producer("p", "MatMul", List.of(), "a", "w").node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("MatMul output rows: left operand rows permuted", new RuleGraph().permuted("x", 0, HIDDEN, D, 3)
                        .constant("w", D, 5).plain("a", 5, 3).producer("p", "MatMul", List.of(), "w", "a").node("Add", "x", "p"),
                        Map.of(0, HIDDEN), D, 3),
                derives("Gemm output columns: weight columns and bias permuted", new RuleGraph().permuted("x", 1, HIDDEN, 3, D)
                        .plain("a", 3, 5).constant("w", 5, D).constant("c", D).producer("p", "Gemm", List.of(), "a", "w", "c")
                        .node("Add", "x", "p"), Map.of(1, HIDDEN), 3, D),
                derives("Gemm with transB: weight rows and bias permuted", new RuleGraph().permuted("x", 1, HIDDEN, 3, D)
                        .plain("a", 3, 5).constant("w", D, 5).constant("c", D)
                        .producer("p", "Gemm", List.of(intAttr("transB", 1)), "a", "w", "c").node("Add", "x", "p"),
                        Map.of(1, HIDDEN), 3, D),
                derives("Gather of a position table: table columns permuted", stream().constant("positions", 8, D)
                        .longs("pos", new long[] {2, 3}, 0, 1, 2, 3, 4, 5).producer("p", "Gather", List.of(), "positions", "pos")
                        .node("Add", "x", "p"), Map.of(2, HIDDEN), 2, 3, D),
                derives("Transpose: the input axis it came from permuted", new RuleGraph().permuted("x", 1, HIDDEN, 3, D)
                        .constant("wt", D, 3).producer("p", "Transpose", List.of(intsAttr("perm", 1, 0)), "wt")
                        .node("Add", "x", "p"), Map.of(1, HIDDEN), 3, D));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pullBacks")
    void demandIsPulledBackThroughASingleReaderProducer(String name, RuleGraph g,
            Map<Integer, PermutationKind> labels, long[] dims) throws Exception {
        assertDerivedAndEquivariant(g, labels, dims);
    }

    private static Arguments refuses(String name, RuleGraph g, String node, String op, String reason) {
        return Arguments.of(name, g, node, op, reason);
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                refuses("an op with no rule reading a permuted tensor", stream().longs("k", new long[0], 0)
                        .node("Trilu", "x", "k"), NODE, "Trilu", "cannot prove Trilu equivariant under that permutation"),
                refuses("CumSum along a permuted axis", stream().longs("axis", new long[0], -1).node("CumSum", "x", "axis"),
                        NODE, "CumSum", "a running sum depends on the order"),
                refuses("Equal of ciphertext ids with a computed tensor", new RuleGraph().ids("ids", 2, 3).plain("other", 2, 3)
                        .node("Equal", "ids", "other"), NODE, "Equal", "not a constant integer token id"),
                refuses("an op from an unknown domain", stream().nodeInDomain("org.example", "Relu", "x"), NODE, "Relu",
                        "op org.example.Relu is from a domain eestream does not know"),
                refuses("an elementwise op reading ciphertext ids", new RuleGraph().ids("ids", 2, 3)
                        .longs("one", new long[0], 1).node("Add", "ids", "one"), NODE, "Add", "reads ciphertext token ids"),
                refuses("elementwise operands permuted by different kinds", stream().permuted("z", 2, LABELS, 2, 3, D)
                        .node("Add", "x", "z"), NODE, "Add", "operands are permuted differently on axis 2 (ρ and σ)"),
                refuses("elementwise operand of unknown rank", stream().unshaped("u").node("Mul", "x", "u"), NODE, "Mul",
                        "the rank of an operand of Mul is unknown"),
                refuses("reduction over axes computed at run time", stream().longInput("axes", 1)
                        .node("ReduceSum", "x", "axes"), NODE, "ReduceSum", "its axes are computed at run time"),
                refuses("Reshape merging the permuted axis", stream().longs("shape", new long[] {2}, 2, 3 * D)
                        .node("Reshape", "x", "shape"), NODE, "Reshape", "does not provably keep the permuted last axis whole"),
                refuses("Reshape of a tensor permuted on a middle axis", new RuleGraph().permuted("x", 1, HIDDEN, 2, D, 3)
                        .longs("shape", new long[] {2}, 2 * D, 3).node("Reshape", "x", "shape"), NODE, "Reshape",
                        "does not provably keep the permuted last axis whole"),
                refuses("Reshape of a permuted tensor to a shape computed at run time", stream().longInput("shape", 2)
                        .node("Reshape", "x", "shape"), NODE, "Reshape", "does not provably keep the permuted last axis whole"),
                refuses("Slice along the permuted axis", stream().longs("starts", new long[] {1}, 0).longs("ends", new long[] {1}, 2)
                        .longs("axes", new long[] {1}, -1).node("Slice", "x", "starts", "ends", "axes"), NODE, "Slice",
                        "Slice along an axis permuted by ρ"),
                refuses("Gather along the permuted axis", stream().longs("idx", new long[] {1}, 0)
                        .node("Gather", List.of(intAttr("axis", -1)), "x", "idx"), NODE, "Gather",
                        "Gather picks along an axis permuted by ρ with indices in the plaintext basis"),
                refuses("Gather of ciphertext ids from a table that is not constant", new RuleGraph().ids("ids", 2, 3)
                        .plain("table", V, D).node("Gather", "table", "ids"), NODE, "Gather",
                        "Gather reads ciphertext token ids from a table that is not a constant of the model"),
                refuses("Concat along the permuted axis", stream().node("Concat", List.of(intAttr("axis", 2)), "x", "x"),
                        NODE, "Concat", "Concat along an axis permuted by ρ"),
                refuses("Concat with an axis out of range", stream().node("Concat", List.of(intAttr("axis", 5)), "x", "x"),
                        NODE, "Concat", "axis 5 is out of range for rank 3"),
                refuses("MatMul over a permuted batch axis", new RuleGraph().permuted("x", 0, HIDDEN, D, 3, 2)
                        .constant("w", 2, 5).node("MatMul", "x", "w"), NODE, "MatMul", "MatMul over a permuted batch axis"),
                refuses("MatMul contracting ρ with σ", stream().permuted("w", 0, LABELS, D, 5).node("MatMul", "x", "w"),
                        NODE, "MatMul", "MatMul contracts an axis permuted by ρ with one permuted by σ"),
                refuses("Expand to a shape computed at run time", stream().longInput("shape", 3).node("Expand", "x", "shape"),
                        NODE, "Expand", "Expand to a shape that is not a constant"),
                refuses("a producer whose output has another reader", stream().constant("b", D).producer("p", "Relu", List.of(), "b")
                        .alsoOutput("p").node("Add", "x", "p"), PRODUCER, "Relu",
                        "its output 'p' must be permuted by ρ on axis 0 for node 'rule' (Add), but other nodes read it too"),
                refuses("a producer whose rule cannot pull a demand back", stream().constant("c", 3, D).longs("axes", new long[] {1}, 0)
                        .producer("p", "ReduceSum", List.of(intAttr("keepdims", 0)), "c", "axes").node("Add", "x", "p"),
                        PRODUCER, "ReduceSum", "its output 'p' would have to be permuted by ρ on axis 0, and eestream cannot "
                                + "rewrite ReduceSum to produce that"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void unsafeUseIsRefusedNamingTheNode(String name, RuleGraph g, String node, String op, String reason) {
        MutableGraph graph = MutableGraph.of(g.model());
        PermutationPropagation analysis = new PermutationPropagation(graph, RuleGraph.PERMUTATIONS,
                g.hiddenPermutation(), g.initialStates(graph));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, analysis::run);
        assertEquals(node, e.nodeName());
        assertTrue(e.getMessage().startsWith("cannot encrypt the model at node '" + node + "' (" + op + "): "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void aDemandAGraphInputCannotMeetIsRefusedNamingTheReader() {
        // The input arrives in the plaintext basis, so the bias added to the stream cannot be permuted.
        RuleGraph g = stream().plain("b", D).node("Add", "x", "b");
        MutableGraph graph = MutableGraph.of(g.model());
        PermutationPropagation analysis = new PermutationPropagation(graph, RuleGraph.PERMUTATIONS, true, g.initialStates(graph));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class, analysis::run);
        assertEquals("graph input 'b' would have to arrive permuted (ρ on axis 0) for node 'rule' (Add)", e.getMessage());
    }

    @Test
    void anOpWithNoRuleOnPlainTensorsLeavesItsOutputUnknown() {
        RuleGraph g = new RuleGraph().plain("x", 2, 3, D).longs("k", new long[0], 0).node("Trilu", "x", "k");
        MutableGraph graph = MutableGraph.of(g.model());
        PermutationPropagation analysis = new PermutationPropagation(graph, RuleGraph.PERMUTATIONS, true, g.initialStates(graph));
        analysis.run();
        assertEquals(-1, analysis.state(RuleGraph.OUTPUT).rank());
        assertEquals(INVARIANT, analysis.state(RuleGraph.OUTPUT).labelMap());
    }

    private static void assertDerivedAndEquivariant(RuleGraph g, Map<Integer, PermutationKind> labels, long[] dims)
            throws Exception {
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
}
