package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.ArrayList;
import java.util.List;

/** Squeeze and Unsqueeze: size-1 axes come and go; the other axes keep their permutations. */
final class SqueezeRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState s = c.inputStates(n).get(0);
        long[] axes = c.axes(n, 1);
        boolean unsqueeze = n.getOpType().equals("Unsqueeze");
        if (s == null || s.rank() < 0 || (axes == null && !unsqueeze && s.dims() == null)) {
            if (s != null && s.labeled()) {
                throw UnsupportedModelException.at(n, "rank unknown");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        if (unsqueeze) {
            int outRank = s.rank() + axes.length;
            boolean[] inserted = new boolean[outRank];
            for (long a : axes) {
                inserted[c.axis(n, a, outRank)] = true;
            }
            int src = 0;
            for (int a = 0; a < outRank; a++) {
                dims.add(inserted[a] ? 1L : s.dim(src));
                labels.add(inserted[a] ? null : s.label(src));
                src += inserted[a] ? 0 : 1;
            }
        } else {
            boolean[] removed = new boolean[s.rank()];
            if (axes == null) {
                for (int a = 0; a < s.rank(); a++) {
                    if (s.dim(a) == -1) {
                        if (s.labeled()) {
                            throw UnsupportedModelException.at(n, "Squeeze without axes over unknown dims");
                        }
                        return OpRule.first(TensorState.UNKNOWN);
                    }
                    removed[a] = s.dim(a) == 1;
                }
            } else {
                for (long a : axes) {
                    removed[c.axis(n, a, s.rank())] = true;
                }
            }
            for (int a = 0; a < s.rank(); a++) {
                if (!removed[a]) {
                    dims.add(s.dim(a));
                    labels.add(s.label(a));
                }
            }
        }
        return OpRule.first(new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false));
    }
}
