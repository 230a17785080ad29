package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/** What an op rule works with: the graph, the tensor states so far, and demands on a node's inputs. */
final class RuleContext {
    private final MutableGraph graph;
    private final TensorStates states;
    private final DemandRewriter demands;
    private final boolean hiddenPermutation;
    private final int hiddenWidth;

    /** @param hiddenWidth the residual stream's width (ρ's size), or -1 without the hidden permutation */
    RuleContext(MutableGraph graph, TensorStates states, DemandRewriter demands, boolean hiddenPermutation, int hiddenWidth) {
        this.graph = graph;
        this.states = states;
        this.demands = demands;
        this.hiddenPermutation = hiddenPermutation;
        this.hiddenWidth = hiddenWidth;
    }

    MutableGraph graph() {
        return graph;
    }

    /** The node as it is now: a demand may have rewired its inputs to permuted copies. */
    NodeProto node(int index) {
        return graph.node(index);
    }

    TensorState state(String tensor) {
        return states.get(tensor);
    }

    List<TensorState> inputStates(NodeProto n) {
        return states.inputsOf(n);
    }

    /**
     * The first input's state when its rank is known; null when it is not and nothing permuted flows
     * through (the output is then unknown). A permuted tensor of unknown rank cannot be followed.
     */
    TensorState rankedFirstInput(NodeProto n) {
        TensorState s = inputStates(n).get(0);
        if (s == null || s.rank() < 0) {
            if (s != null && s.labeled()) {
                throw UnsupportedModelException.at(n, "rank unknown");
            }
            return null;
        }
        return s;
    }

    /** Whether ρ enters the residual stream: at the embedding lookup, or at a factorised embedding's projection. */
    boolean hiddenPermutation() {
        return hiddenPermutation;
    }

    /** The residual stream's width, the size of ρ; -1 without the hidden permutation. */
    int hiddenWidth() {
        return hiddenWidth;
    }

    /** Makes input {@code slot} of node {@code index} carry {@code want}, rewiring the node if a copy is made. */
    void demandInput(int index, int slot, Map<Integer, PermutationKind> want) {
        demands.demandInput(index, slot, want);
    }

    /** Makes input {@code slot} follow {@code kind} over {@code rows} rows, also when it stores them flat, one run per row. */
    void demandRowGroups(int index, int slot, long rows, PermutationKind kind) {
        demands.demandInputRowGroups(index, slot, rows, kind);
    }

    /**
     * Makes input {@code slot} of node {@code index}, an integer constant of token ids, hold their ciphertexts,
     * so the node compares them with ciphertext ids exactly as the plaintext model compares plaintext ones.
     */
    void encryptIdsInput(int index, int slot) {
        NodeProto n = node(index);
        String name = n.getInput(slot);
        int type = graph.isInitializer(name) ? graph.initializer(name).getDataType() : -1;
        if (type != TensorProto.DataType.INT64_VALUE && type != TensorProto.DataType.INT32_VALUE) {
            throw UnsupportedModelException.at(n, "op " + n.getOpType() + " compares ciphertext token ids with '" + name
                    + "', which is not a constant integer token id that eestream could encrypt");
        }
        String cipher = demands.ciphertextIds(name, "node '" + n.getName() + "' (" + n.getOpType() + ")");
        graph.replaceNode(index, n.toBuilder().setInput(slot, cipher).build());
    }

    /** Axes from the {@code axes} attribute, else from the constant input at {@code slot} (newer opsets), else null. */
    long[] axes(NodeProto n, int slot) {
        long[] attribute = OnnxAttributes.ints(n, "axes");
        if (attribute != null) {
            return attribute;
        }
        if (n.getInputCount() > slot && !n.getInput(slot).isEmpty()) {
            long[] axes = constantInts(n, slot);
            if (axes == null) {
                throw UnsupportedModelException.at(n, "its axes are computed at run time, so eestream cannot tell "
                        + "which axes it touches");
            }
            return axes;
        }
        return null;
    }

    /** The values of input {@code slot} when it is an integer constant, else null. */
    long[] constantInts(NodeProto n, int slot) {
        return OnnxAttributes.constantInts(graph, n, slot);
    }

    /** {@code axis} counted from the front; an axis out of range is refused. */
    int axis(NodeProto n, long axis, int rank) {
        int a = OnnxAttributes.normalizeAxis(axis, rank);
        if (a < 0) {
            throw UnsupportedModelException.at(n, "axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }
}
