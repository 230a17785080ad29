package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * ONNX Runtime's fused int8 matmuls, as its optimizer rewrites a dynamically quantized model:
 * {@code DynamicQuantizeMatMul} (A float, quantized with one scale for the whole tensor, times an int8 B, dequantized,
 * plus a bias) and {@code MatMulIntegerToFloat} (MatMulInteger, the scales and the bias in one op). Laid out as MatMul.
 * An output column comes from a column of B with its per-column scale, zero point and bias, which move with it (a
 * classifier's or vocabulary head's class axis). A permuted A is refused: for DynamicQuantizeMatMul for the reason
 * {@link DynamicQuantizeLinearRule} gives, and MatMulIntegerToFloat's A is already such a quantization.
 */
final class QuantizedMatMulRule implements OpRule {
    private final MatMulRule matMul = new MatMulRule();

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState a = c.state(n.getInput(0));
        if (a != null && a.labeled()) {
            throw UnsupportedModelException.at(n, "it quantizes a permuted tensor to 8 bits with one scale for the whole "
                    + "tensor, and the float sums before it differ from the plaintext model's in the last bit, which "
                    + "rounding turns into whole steps: the hidden permutation cannot be exact here (the token permutation "
                    + "alone is)");
        }
        List<TensorState> out = matMul.forward(c, index);
        followColumns(c, index);
        return out;
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        int rank = c.state(tensor).rank();
        for (int axis : want.keySet()) {
            if (axis != rank - 1) {
                throw UnsupportedModelException.at(c.node(index), "cannot permute " + c.node(index).getOpType()
                        + " output axis " + axis + ": only its columns come from the constant B");
            }
        }
        matMul.pullBack(c, index, tensor, want);
        followColumns(c, index);
    }

    /** Per-column scale, zero point and bias of B (1-D, one per output column) take B's column permutation. */
    private static void followColumns(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState b = c.state(n.getInput(1));
        if (b.rank() < 2) {
            return;
        }
        PermutationKind kind = b.label(b.rank() - 1);
        long columns = b.dim(b.rank() - 1);
        int[] slots = n.getOpType().equals("DynamicQuantizeMatMul") ? new int[] {2, 3, 4} : new int[] {3, 5, 6};
        for (int slot : slots) {
            if (n.getInputCount() <= slot || n.getInput(slot).isEmpty()) {
                continue;
            }
            TensorState s = c.state(n.getInput(slot));
            if (s.rank() != 1 || s.dim(0) != columns || columns == 1) {
                continue; // per tensor: holds for every column wherever it moves
            }
            if (kind != null && s.label(0) == null) {
                c.demandInput(index, slot, Map.of(0, kind));
            } else if (s.label(0) != kind) {
                throw UnsupportedModelException.at(n, "its per-column input '" + n.getInput(slot) + "' is permuted "
                        + "differently from B's columns");
            }
        }
    }
}
