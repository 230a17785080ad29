package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;

/**
 * CumSum: a running sum along one axis, elementwise along the others. Along an unpermuted axis it keeps
 * the input's permutations (RoBERTa counts position ids along the sequence); a running sum along a
 * permuted axis depends on the order, so it is refused.
 */
final class CumSumRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.rankedFirstInput(n);
        if (s == null) {
            return OpRule.first(TensorState.UNKNOWN);
        }
        long[] axis = c.constantInts(n, 1);
        if (axis == null || axis.length != 1) {
            if (s.labeled()) {
                throw UnsupportedModelException.at(n, "CumSum over an axis computed at run time, on a tensor that is "
                        + s.describe());
            }
            return OpRule.first(new TensorState(s.dims(), null, false));
        }
        int a = c.axis(n, axis[0], s.rank());
        if (s.label(a) != null) {
            throw UnsupportedModelException.at(n, "CumSum sums along axis " + a + ", which is permuted by "
                    + s.label(a).symbol() + ": a running sum depends on the order");
        }
        return OpRule.first(new TensorState(s.dims(), s.labels(), false));
    }
}
