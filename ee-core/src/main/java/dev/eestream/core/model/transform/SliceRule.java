package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.Arrays;
import java.util.List;

/** Slice keeps the rank; it may keep permutations only on axes it provably does not touch. */
final class SliceRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.rankedFirstInput(n);
        if (s == null) {
            return OpRule.first(TensorState.UNKNOWN);
        }
        long[] axes = OnnxAttributes.ints(n, "axes");
        boolean axesKnown = axes != null || n.getInputCount() <= 3 || n.getInput(3).isEmpty()
                || (axes = c.constantInts(n, 3)) != null;
        boolean[] touched = new boolean[s.rank()];
        if (axes == null) {
            Arrays.fill(touched, true); // no axes: every axis from 0 may be sliced
        } else {
            for (long a : axes) {
                touched[c.axis(n, a, s.rank())] = true;
            }
        }
        long[] dims = s.dims();
        for (int a = 0; a < s.rank(); a++) {
            if (touched[a] || !axesKnown) {
                if (s.label(a) != null) {
                    throw UnsupportedModelException.at(n, "Slice along an axis permuted by " + s.label(a).symbol());
                }
                dims[a] = -1;
            }
        }
        return OpRule.first(new TensorState(dims, s.labels(), false));
    }
}
