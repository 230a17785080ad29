package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * MatMul: the contracted axis must be permuted alike on both sides, so the sum is only reordered
 * (this is where a weight matrix that reads the residual stream gets ρ on its rows); the output's
 * row and column axes keep the permutations of the operands' row and column axes. A projection that
 * contracts ρₑ (a factorised embedding) into the residual width gets ρ on its columns: there ρ enters.
 */
final class MatMulRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        if (a.rank() < 2 || b.rank() < 2) {
            if (a.labeled() || b.labeled()) {
                throw UnsupportedModelException.at(n, "MatMul with a permuted operand of rank < 2 or unknown rank");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        PermutationKind ka = a.label(a.rank() - 1);
        PermutationKind kb = b.label(b.rank() - 2);
        if (ka != null && kb == null) {
            c.demandInput(index, 1, Map.of(b.rank() - 2, ka));
        } else if (kb != null && ka == null) {
            c.demandInput(index, 0, Map.of(a.rank() - 1, kb));
        } else if (ka != kb) {
            throw UnsupportedModelException.at(n, "MatMul contracts an axis permuted by " + ka.symbol()
                    + " with one permuted by " + kb.symbol());
        }
        a = c.state(c.node(index).getInput(0));
        b = c.state(c.node(index).getInput(1));
        if (a.label(a.rank() - 1) == PermutationKind.EMBEDDING && b.label(b.rank() - 1) == null
                && b.dim(b.rank() - 1) == c.hiddenWidth()) {
            // The factorised embedding's projection into the residual stream: ρ enters on its output columns.
            c.demandInput(index, 1, Map.of(b.rank() - 1, PermutationKind.HIDDEN));
            b = c.state(c.node(index).getInput(1));
        }
        int rank = Math.max(a.rank(), b.rank());
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank - 2; axis++) {
            int ia = axis - (rank - a.rank());
            int ib = axis - (rank - b.rank());
            if (a.label(ia) != null || b.label(ib) != null) {
                throw UnsupportedModelException.at(n, "MatMul over a permuted batch axis");
            }
            long da = ia >= 0 ? a.dim(ia) : 1;
            long db = ib >= 0 ? b.dim(ib) : 1;
            dims[axis] = da == 1 ? db : da;
        }
        dims[rank - 2] = a.dim(a.rank() - 2);
        labels[rank - 2] = a.label(a.rank() - 2);
        dims[rank - 1] = b.dim(b.rank() - 1);
        labels[rank - 1] = b.label(b.rank() - 1);
        return OpRule.first(new TensorState(dims, labels, false));
    }

    /** A permuted output column comes from permuted columns of the right operand, a row from rows of the left. */
    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        int rank = c.state(tensor).rank();
        if (rank < 0) {
            throw UnsupportedModelException.at(n, "its output would have to be permuted by " + TensorState.describe(want)
                    + ", but its rank is unknown: an op before it has no rule that states its output's shape");
        }
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (e.getKey() == rank - 1 && b.rank() >= 2) {
                c.demandInput(index, 1, Map.of(b.rank() - 1, e.getValue()));
            } else if (e.getKey() == rank - 2 && a.rank() >= 2) {
                c.demandInput(index, 0, Map.of(a.rank() - 2, e.getValue()));
            } else {
                throw UnsupportedModelException.at(n, "cannot permute MatMul output axis " + e.getKey());
            }
        }
    }
}
