package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * MatMulInteger {@code (A - a_zero_point) · (B - b_zero_point)}: laid out as MatMul. A zero point per row of A or per
 * column of B (1-D) moves with that row or column; a per-tensor one (a scalar) holds wherever elements move.
 */
final class MatMulIntegerRule implements OpRule {
    private static final int A_ZERO_POINT = 2;
    private static final int B_ZERO_POINT = 3;

    private final MatMulRule matMul = new MatMulRule();

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        List<TensorState> out = matMul.forward(c, index);
        followZeroPoints(c, index);
        return out;
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        matMul.pullBack(c, index, tensor, want);
        followZeroPoints(c, index);
    }

    private static void followZeroPoints(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        if (a.rank() >= 2) {
            followZeroPoint(c, index, A_ZERO_POINT, a.label(a.rank() - 2));
        }
        if (b.rank() >= 2) {
            followZeroPoint(c, index, B_ZERO_POINT, b.label(b.rank() - 1));
        }
    }

    private static void followZeroPoint(RuleContext c, int index, int slot, PermutationKind kind) {
        NodeProto n = c.node(index);
        if (n.getInputCount() <= slot || n.getInput(slot).isEmpty()) {
            return;
        }
        TensorState zeroPoint = c.state(n.getInput(slot));
        if (zeroPoint == null || zeroPoint.rank() <= 0 || (zeroPoint.rank() == 1 && zeroPoint.dim(0) == 1)) {
            return; // per tensor
        }
        PermutationKind has = zeroPoint.rank() == 1 ? zeroPoint.label(0) : null;
        if (zeroPoint.rank() == 1 && kind != null && has == null) {
            c.demandInput(index, slot, Map.of(0, kind));
        } else if (zeroPoint.rank() != 1 || has != kind) {
            throw UnsupportedModelException.at(n, "its " + (slot == A_ZERO_POINT ? "A" : "B")
                    + " zero point does not follow the permutation of the axis it belongs to");
        }
    }
}
