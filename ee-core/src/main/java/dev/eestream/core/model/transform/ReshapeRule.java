package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reshape: a plain tensor only gets its new shape; a permuted one is safe only when the permuted
 * axis is the last and stays whole and last, so each permuted row keeps its elements together. For the same reason an
 * output can be made to carry a permutation on its last axis (ONNX Runtime's Reshape/Gemm/Reshape around a projection
 * that writes the residual stream) by permuting the input's last axis, when the shape keeps that axis whole.
 */
final class ReshapeRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.inputStates(n).get(0);
        long[] shape = c.constantInts(n, 1);
        if (s == null || !s.labeled()) {
            return OpRule.first(plainReshape(c, n, s, shape));
        }
        int last = s.rank() - 1;
        Map<Integer, PermutationKind> labels = s.labelMap();
        if (shape == null || labels.size() != 1 || !labels.containsKey(last) || s.dim(last) <= 0
                || shape[shape.length - 1] != s.dim(last)) {
            throw UnsupportedModelException.at(n, "Reshape of a tensor that is " + s.describe()
                    + " that does not provably keep the permuted last axis whole");
        }
        long[] dims = new long[shape.length];
        for (int a = 0; a < shape.length; a++) {
            dims[a] = shape[a] > 0 ? shape[a] : -1;
        }
        PermutationKind[] out = new PermutationKind[shape.length];
        out[shape.length - 1] = labels.get(last);
        return OpRule.first(new TensorState(dims, out, false));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        TensorState s = c.state(n.getInput(0));
        long[] shape = c.constantInts(n, 1);
        int inLast = s.rank() - 1;
        if (shape == null || inLast < 0 || want.size() != 1 || !want.containsKey(shape.length - 1) || s.dim(inLast) <= 0
                || shape[shape.length - 1] != s.dim(inLast)) {
            throw OpRule.cannotProduce(n, tensor, want);
        }
        c.demandInput(index, 0, Map.of(inLast, want.get(shape.length - 1)));
    }

    private static TensorState plainReshape(RuleContext c, NodeProto n, TensorState s, long[] shape) {
        if (shape == null) {
            // A shape computed at run time still fixes the output rank when its own length is known.
            long len = n.getInputCount() > 1 ? c.state(n.getInput(1)).dim(0) : -1;
            if (len < 0 || c.state(n.getInput(1)).rank() != 1) {
                return TensorState.UNKNOWN;
            }
            long[] dims = new long[(int) len];
            Arrays.fill(dims, -1);
            return TensorState.plain(dims);
        }
        long[] dims = new long[shape.length];
        for (int a = 0; a < shape.length; a++) {
            dims[a] = shape[a] > 0 ? shape[a] : (shape[a] == 0 && s != null ? s.dim(a) : -1);
        }
        return TensorState.plain(dims);
    }
}
