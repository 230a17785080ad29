package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/** Gemm: MatMul's rule on 2-D operands, minding transA/transB, plus a bias C that must follow the output. */
final class GemmRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        boolean transA = OnnxAttributes.intOr(n, "transA", 0) == 1;
        boolean transB = OnnxAttributes.intOr(n, "transB", 0) == 1;
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        int ak = transA ? 0 : 1;
        int bk = transB ? 1 : 0;
        PermutationKind ka = a.label(ak);
        PermutationKind kb = b.label(bk);
        if (ka != null && kb == null) {
            c.demandInput(index, 1, Map.of(bk, ka));
        } else if (kb != null && ka == null) {
            c.demandInput(index, 0, Map.of(ak, kb));
        } else if (ka != kb) {
            throw UnsupportedModelException.at(n, "Gemm contracts axes permuted differently");
        }
        a = c.state(c.node(index).getInput(0));
        b = c.state(c.node(index).getInput(1));
        TensorState out = new TensorState(new long[] {a.dim(1 - ak), b.dim(1 - bk)},
                new PermutationKind[] {a.label(1 - ak), b.label(1 - bk)}, false);
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            TensorState bias = c.state(n.getInput(2));
            for (int axis = 0; axis < 2; axis++) {
                int ci = axis - (2 - bias.rank());
                if (out.label(axis) != null && ci >= 0 && bias.label(ci) == null && bias.dim(ci) != 1) {
                    c.demandInput(index, 2, Map.of(ci, out.label(axis)));
                }
            }
        }
        return OpRule.first(out);
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        boolean transA = OnnxAttributes.intOr(n, "transA", 0) == 1;
        boolean transB = OnnxAttributes.intOr(n, "transB", 0) == 1;
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (e.getKey() == 1) {
                c.demandInput(index, 1, Map.of(transB ? 0 : 1, e.getValue()));
            } else {
                c.demandInput(index, 0, Map.of(transA ? 1 : 0, e.getValue()));
            }
            if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                TensorState bias = c.state(n.getInput(2));
                int ca = e.getKey() - (2 - bias.rank());
                if (ca >= 0 && bias.dim(ca) != 1) {
                    c.demandInput(index, 2, Map.of(ca, e.getValue()));
                }
            }
        }
    }
}
