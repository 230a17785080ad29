package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/**
 * MatMulNBits (onnxruntime contrib op, block-quantized weights from model builders): {@code A · dequant(B)ᵀ + bias}
 * with B stored as [N, blocks, blob] and its scales and zero points per (output row, block). The blocks lie along the
 * input axis K, so a permutation of K would scatter values across blocks and nibbles: A permuted on its last axis is
 * refused. An output column n is produced by row n of B with its own scales, zero points and bias, so the output can
 * be permuted (a vocabulary head under π, a projection writing the stream under ρ) by moving whole rows: B's rows,
 * the per-row groups of scales and zero points, and the bias.
 */
final class MatMulNBitsRule implements OpRule {
    private static final int B = 1;
    private static final int SCALES = 2;
    private static final int ZERO_POINTS = 3;
    private static final int G_IDX = 4;
    private static final int BIAS = 5;

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
        TensorState b = in.get(B);
        PermutationKind rows = b == null ? null : b.label(0);
        for (int slot = 1; slot < in.size(); slot++) {
            TensorState s = in.get(slot);
            if (s != null && s.labeled() && !(rows != null && slot != G_IDX && s.labelMap().equals(Map.of(0, rows)))) {
                throw UnsupportedModelException.at(n, "its input '" + n.getInput(slot) + "' is " + s.describe()
                        + " and eestream cannot follow a permutation of block-quantized weights there");
            }
        }
        TensorState a = in.get(0);
        if (a == null || a.rank() < 1) {
            if ((a != null && a.labeled()) || rows != null) {
                throw UnsupportedModelException.at(n, "rank unknown");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        if (a.label(a.rank() - 1) != null) {
            throw UnsupportedModelException.at(n, "its input is " + a.describe() + ": the weight's quantization blocks lie "
                    + "along the contracted axis, so permuting that axis cannot be exact");
        }
        if (rows != null) {
            followRows(c, index, rows);
        }
        long[] dims = a.dims();
        PermutationKind[] labels = a.labels();
        dims[dims.length - 1] = OnnxAttributes.intOr(n, "N", -1);
        labels[labels.length - 1] = rows;
        return OpRule.first(new TensorState(dims, labels, false));
    }

    /** Output column n is row n of the weight with its scales, zero points and bias: whole rows move. */
    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        int rank = c.state(tensor).rank();
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (rank < 1 || e.getKey() != rank - 1) {
                c.demandInput(index, 0, Map.of(e.getKey(), e.getValue()));
            } else if (OnnxAttributes.intOr(n, "N", -1) <= 0) {
                throw OpRule.cannotProduce(n, tensor, want);
            } else {
                c.demandInput(index, B, Map.of(0, e.getValue())); // the forward pass that follows moves the rest of each row
            }
        }
    }

    /** With B's rows permuted, the per-row groups of scales and zero points and the bias move alike. */
    private static void followRows(RuleContext c, int index, PermutationKind kind) {
        NodeProto n = c.node(index);
        long rows = OnnxAttributes.intOr(n, "N", -1);
        c.demandRowGroups(index, SCALES, rows, kind);
        if (n.getInputCount() > ZERO_POINTS && !n.getInput(ZERO_POINTS).isEmpty()) {
            c.demandRowGroups(index, ZERO_POINTS, rows, kind);
        }
        if (n.getInputCount() > BIAS && !n.getInput(BIAS).isEmpty()) {
            c.demandInput(index, BIAS, Map.of(0, kind));
        }
    }
}
