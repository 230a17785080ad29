package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Transpose: each axis takes its permutation with it. */
final class TransposeRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.inputStates(n).get(0);
        if (s != null && s.rank() < 0 && !s.labeled() && OnnxAttributes.has(n, "perm")) {
            long[] dims = new long[axisOrder(n, 0).length];
            Arrays.fill(dims, -1);
            return OpRule.first(TensorState.plain(dims));
        }
        s = c.rankedFirstInput(n);
        if (s == null) {
            return OpRule.first(TensorState.UNKNOWN);
        }
        int[] perm = axisOrder(n, s.rank());
        long[] dims = new long[perm.length];
        PermutationKind[] labels = new PermutationKind[perm.length];
        for (int a = 0; a < perm.length; a++) {
            dims[a] = s.dim(perm[a]);
            labels[a] = s.label(perm[a]);
        }
        return OpRule.first(new TensorState(dims, labels, false));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        int[] perm = axisOrder(c.node(index), c.state(tensor).rank());
        Map<Integer, PermutationKind> w = new TreeMap<>();
        want.forEach((a, k) -> w.put(perm[a], k));
        c.demandInput(index, 0, w);
    }

    /** Output axis i is input axis perm[i]; without {@code perm}, the axes are reversed. */
    private static int[] axisOrder(NodeProto n, int rank) {
        long[] perm = OnnxAttributes.ints(n, "perm");
        if (perm != null) {
            return Arrays.stream(perm).mapToInt(a -> (int) a).toArray();
        }
        int[] reversed = new int[rank];
        for (int i = 0; i < rank; i++) {
            reversed[i] = rank - 1 - i;
        }
        return reversed;
    }
}
