package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/**
 * Concat along an axis that is not permuted; every other axis must be permuted alike on all inputs,
 * as for an elementwise op (a constant input gets a permuted copy).
 */
final class ConcatRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
        int rank = in.get(0) == null ? -1 : in.get(0).rank();
        if (rank < 0 || in.stream().anyMatch(s -> s == null || s.rank() != rank)) {
            if (in.stream().anyMatch(s -> s != null && s.labeled())) {
                throw UnsupportedModelException.at(n, "Concat of permuted tensors of unknown rank");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        int axis = c.axis(n, OnnxAttributes.intOr(n, "axis", 0), rank);
        for (TensorState s : in) {
            if (s.label(axis) != null) {
                throw UnsupportedModelException.at(n, "Concat along an axis permuted by " + s.label(axis).symbol());
            }
        }
        TensorState out = alignOtherAxes(c, index, axis);
        long[] dims = out.dims();
        long total = 0;
        for (TensorState s : c.inputStates(c.node(index))) {
            total = total < 0 || s.dim(axis) < 0 ? -1 : total + s.dim(axis);
        }
        dims[axis] = total;
        return OpRule.first(new TensorState(dims, out.labels(), false));
    }

    /** Demands every input carry the permutations of the others on all axes but {@code skipAxis}. */
    private static TensorState alignOtherAxes(RuleContext c, int index, int skipAxis) {
        NodeProto n = c.node(index);
        TensorState first = c.state(n.getInput(0));
        PermutationKind[] labels = new PermutationKind[first.rank()];
        for (String input : n.getInputList()) {
            c.state(input).labelMap().forEach((a, k) -> labels[a] = k);
        }
        for (int slot = 0; slot < n.getInputCount(); slot++) {
            TensorState s = c.state(c.node(index).getInput(slot));
            for (int a = 0; a < labels.length; a++) {
                if (a != skipAxis && labels[a] != null && s.label(a) == null) {
                    c.demandInput(index, slot, Map.of(a, labels[a]));
                }
            }
        }
        return new TensorState(first.dims(), labels, false);
    }
}
