package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** How one family of ops carries permutations from its inputs to its outputs, and back. */
interface OpRule {
    /**
     * The states of node {@code index}'s outputs, in order. The rule may demand that an input carry a
     * permutation it lacks ({@link RuleContext#demandInput}), and throws {@link UnsupportedModelException}
     * when it cannot prove the op equivariant as used.
     */
    List<TensorState> forward(RuleContext c, int index);

    /**
     * Demands on node {@code index}'s inputs what makes its output {@code tensor} carry {@code want}.
     * By default an op cannot be rewritten to produce a permuted output.
     */
    default void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        throw cannotProduce(c.node(index), tensor, want);
    }

    static UnsupportedModelException cannotProduce(NodeProto n, String tensor, Map<Integer, PermutationKind> want) {
        return UnsupportedModelException.at(n, "its output '" + tensor + "' would have to be permuted by "
                + TensorState.describe(want) + ", and eestream cannot rewrite " + n.getOpType() + " to produce that");
    }

    /** A node's first output; a null state stands for unknown. */
    static List<TensorState> first(TensorState s) {
        return Collections.singletonList(s);
    }

    /** The same state for every output of {@code n}. */
    static List<TensorState> every(NodeProto n, TensorState s) {
        return Collections.nCopies(n.getOutputCount(), s);
    }
}
