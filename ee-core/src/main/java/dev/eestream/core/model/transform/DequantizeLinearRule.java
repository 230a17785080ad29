package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/**
 * DequantizeLinear {@code (x - zero_point) · scale}: elementwise, so the output is laid out as {@code x}. A
 * per-tensor scale and zero point (scalars) hold for every element wherever it moves; per-axis ones (1-D along
 * {@code axis}) move with that axis when it is permuted, so the arithmetic stays exactly the same per element.
 */
final class DequantizeLinearRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        TensorState x = c.state(c.node(index).getInput(0));
        if (x == null || x.rank() < 0) {
            return OpRule.first(TensorState.UNKNOWN);
        }
        followQuantizationAxis(c, index, x);
        x = c.state(c.node(index).getInput(0));
        return OpRule.first(new TensorState(x.dims(), x.labels(), false));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        c.demandInput(index, 0, want);
        followQuantizationAxis(c, index, c.state(c.node(index).getInput(0)));
    }

    /** A per-axis scale and zero point get the permutation of the axis they run along. */
    private static void followQuantizationAxis(RuleContext c, int index, TensorState x) {
        NodeProto n = c.node(index);
        TensorState scale = c.state(n.getInput(1));
        if (scale == null || scale.rank() <= 0 || (scale.rank() == 1 && scale.dim(0) == 1)) {
            return; // per tensor
        }
        if (scale.rank() != 1) {
            if (x.labeled()) {
                throw UnsupportedModelException.at(n, "blocked quantization (a scale of rank " + scale.rank()
                        + ") of a permuted tensor");
            }
            return;
        }
        int axis = c.axis(n, OnnxAttributes.intOr(n, "axis", 1), x.rank());
        PermutationKind kind = x.label(axis);
        for (int slot = 1; slot < n.getInputCount(); slot++) {
            if (n.getInput(slot).isEmpty()) {
                continue;
            }
            PermutationKind has = c.state(n.getInput(slot)).label(0);
            if (kind != null && has == null) {
                c.demandInput(index, slot, Map.of(0, kind));
            } else if (has != kind) {
                throw UnsupportedModelException.at(n, "its per-axis " + (slot == 1 ? "scale" : "zero point")
                        + " is permuted differently from the axis it runs along");
            }
        }
    }
}
