package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.ArrayList;
import java.util.List;

/** Reductions: a reduced axis is gone (or size 1) and invariant under its permutation; other axes keep theirs. */
final class ReduceRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.rankedFirstInput(n);
        if (s == null) {
            return OpRule.first(TensorState.UNKNOWN);
        }
        long[] axes = c.axes(n, 1);
        boolean keep = OnnxAttributes.intOr(n, "keepdims", 1) == 1;
        boolean all = axes == null || axes.length == 0;
        if (all && OnnxAttributes.intOr(n, "noop_with_empty_axes", 0) == 1) {
            return OpRule.first(s);
        }
        boolean[] reduced = new boolean[s.rank()];
        for (int a = 0; a < s.rank(); a++) {
            reduced[a] = all;
        }
        if (!all) {
            for (long a : axes) {
                reduced[c.axis(n, a, s.rank())] = true;
            }
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        for (int a = 0; a < s.rank(); a++) {
            if (!reduced[a]) {
                dims.add(s.dim(a));
                labels.add(s.label(a));
            } else if (keep) {
                dims.add(1L);
                labels.add(null); // reducing over a permuted axis is invariant under it
            }
        }
        return OpRule.first(new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false));
    }
}
