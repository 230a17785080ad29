package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.List;

/** Expand to a constant shape: broadcasting repeats values along new or size-1 axes; other axes keep theirs. */
final class ExpandRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.inputStates(n).get(0);
        long[] shape = c.constantInts(n, 1);
        if (s == null || s.rank() < 0 || shape == null) {
            if (s != null && s.labeled()) {
                throw UnsupportedModelException.at(n, "Expand to a shape that is not a constant");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        int rank = Math.max(s.rank(), shape.length);
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int a = 0; a < rank; a++) {
            int ia = a - (rank - s.rank());
            int is = a - (rank - shape.length);
            long d = ia >= 0 ? s.dim(ia) : 1;
            long e = is >= 0 ? shape[is] : 1;
            dims[a] = d == 1 ? e : d;
            labels[a] = ia >= 0 ? s.label(ia) : null;
        }
        return OpRule.first(new TensorState(dims, labels, false));
    }
}
