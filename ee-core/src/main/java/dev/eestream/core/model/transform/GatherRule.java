package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Gather: with ciphertext ids it is the embedding lookup, whose table gets π on its rows (and ρ on
 * its columns with the hidden permutation; ρₑ when the table is narrower than the residual stream). Otherwise it picks along an axis that must not be
 * permuted, since its indices are in the plaintext basis; the other axes keep their permutations.
 */
final class GatherRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState data = c.state(n.getInput(0));
        TensorState indices = c.state(n.getInput(1));
        if (data.rank() < 0 || indices.rank() < 0) {
            if (data.labeled() || indices.encryptedIds()) {
                throw UnsupportedModelException.at(n, "Gather with operands of unknown rank");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        int axis = c.axis(n, OnnxAttributes.intOr(n, "axis", 0), data.rank());
        if (indices.encryptedIds()) {
            Map<Integer, PermutationKind> want = new TreeMap<>();
            want.put(axis, PermutationKind.VOCAB);
            if (c.hiddenPermutation() && data.rank() == 2 && axis == 0) {
                // A factorised table (ALBERT: narrower than the residual stream) gets ρₑ; ρ enters at its projection.
                want.put(1, data.dim(1) == c.hiddenWidth() ? PermutationKind.HIDDEN : PermutationKind.EMBEDDING);
            }
            if (!c.graph().isInitializer(n.getInput(0)) && !isDequantizedConstant(c, n.getInput(0))) {
                throw UnsupportedModelException.at(n, "Gather reads ciphertext token ids from a table that is not a "
                        + "constant of the model");
            }
            c.demandInput(index, 0, want);
            data = c.state(c.node(index).getInput(0));
        } else if (data.label(axis) != null) {
            throw UnsupportedModelException.at(n, "Gather picks along an axis permuted by " + data.label(axis).symbol()
                    + " with indices in the plaintext basis");
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        for (int a = 0; a < axis; a++) {
            dims.add(data.dim(a));
            labels.add(data.label(a));
        }
        for (int a = 0; a < indices.rank(); a++) {
            dims.add(indices.dim(a));
            labels.add(null);
        }
        for (int a = axis + 1; a < data.rank(); a++) {
            dims.add(data.dim(a));
            labels.add(data.label(a));
        }
        return OpRule.first(new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false));
    }

    /** A static QDQ model's table: DequantizeLinear over an int8 constant, whose rows move with π. */
    private static boolean isDequantizedConstant(RuleContext c, String table) {
        int producer = c.graph().producerOf(table);
        return producer >= 0 && c.node(producer).getOpType().equals("DequantizeLinear")
                && c.graph().isInitializer(c.node(producer).getInput(0));
    }

    /** An output axis that came from the data (not from the indices) is permuted by permuting the data. */
    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        TensorState data = c.state(n.getInput(0));
        int indicesRank = c.state(n.getInput(1)).rank();
        int axis = c.axis(n, OnnxAttributes.intOr(n, "axis", 0), data.rank());
        Map<Integer, PermutationKind> w = new TreeMap<>();
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            int a = e.getKey();
            if (a < axis) {
                w.put(a, e.getValue());
            } else if (a >= axis + indicesRank) {
                w.put(a - indicesRank + 1, e.getValue());
            } else {
                throw UnsupportedModelException.at(n, "cannot permute the gathered axes of Gather output");
            }
        }
        c.demandInput(index, 0, w);
    }
}
