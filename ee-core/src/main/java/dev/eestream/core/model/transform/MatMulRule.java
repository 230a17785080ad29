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
 * {@link FusedMatMulRule} reads the same axes through its transposes.
 */
final class MatMulRule implements OpRule {
    /** Which axis of each operand is contracted and which is kept in the output. */
    record Layout(int contractedA, int keptA, int contractedB, int keptB) {
        /** MatMul's: A [..., M, K] · B [..., K, N]. */
        static Layout plain(int rankA, int rankB) {
            return new Layout(rankA - 1, rankA - 2, rankB - 2, rankB - 1);
        }
    }

    /** An operand layout for the operands' ranks. */
    interface LayoutOf {
        Layout of(int rankA, int rankB);
    }

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        return forward(c, index, Layout::plain);
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        pullBack(c, index, tensor, want, Layout::plain);
    }

    static List<TensorState> forward(RuleContext c, int index, LayoutOf layoutOf) {
        NodeProto n = c.node(index);
        String op = n.getOpType();
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        if (a.rank() < 2 || b.rank() < 2) {
            if (a.labeled() || b.labeled()) {
                throw UnsupportedModelException.at(n, op + " with a permuted operand of rank < 2 or unknown rank");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        Layout axes = layoutOf.of(a.rank(), b.rank());
        PermutationKind ka = a.label(axes.contractedA());
        PermutationKind kb = b.label(axes.contractedB());
        if (ka != null && kb == null) {
            c.demandInput(index, 1, Map.of(axes.contractedB(), ka));
        } else if (kb != null && ka == null) {
            c.demandInput(index, 0, Map.of(axes.contractedA(), kb));
        } else if (ka != kb) {
            throw UnsupportedModelException.at(n, op + " contracts an axis permuted by " + ka.symbol()
                    + " with one permuted by " + kb.symbol());
        }
        a = c.state(c.node(index).getInput(0));
        b = c.state(c.node(index).getInput(1));
        if (a.label(axes.contractedA()) == PermutationKind.EMBEDDING && b.label(axes.keptB()) == null
                && b.dim(axes.keptB()) == c.hiddenWidth()) {
            // The factorised embedding's projection into the residual stream: ρ enters on its output columns.
            c.demandInput(index, 1, Map.of(axes.keptB(), PermutationKind.HIDDEN));
            b = c.state(c.node(index).getInput(1));
        }
        int rank = Math.max(a.rank(), b.rank());
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank - 2; axis++) {
            int ia = axis - (rank - a.rank());
            int ib = axis - (rank - b.rank());
            if (a.label(ia) != null || b.label(ib) != null) {
                throw UnsupportedModelException.at(n, op + " over a permuted batch axis");
            }
            long da = ia >= 0 ? a.dim(ia) : 1;
            long db = ib >= 0 ? b.dim(ib) : 1;
            dims[axis] = da == 1 ? db : da;
        }
        dims[rank - 2] = a.dim(axes.keptA());
        labels[rank - 2] = a.label(axes.keptA());
        dims[rank - 1] = b.dim(axes.keptB());
        labels[rank - 1] = b.label(axes.keptB());
        return OpRule.first(new TensorState(dims, labels, false));
    }

    /** A permuted output column comes from permuted kept columns of the right operand, a row from rows of the left. */
    static void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want, LayoutOf layoutOf) {
        NodeProto n = c.node(index);
        int rank = c.state(tensor).rank();
        if (rank < 0) {
            throw UnsupportedModelException.at(n, "its output would have to be permuted by " + TensorState.describe(want)
                    + ", but its rank is unknown: an op before it has no rule that states its output's shape");
        }
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        // A 1-D operand keeps no axis of its own; the other operand's kept axis still can be permuted.
        Layout axes = layoutOf.of(Math.max(a.rank(), 2), Math.max(b.rank(), 2));
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (e.getKey() == rank - 1 && b.rank() >= 2) {
                c.demandInput(index, 1, Map.of(axes.keptB(), e.getValue()));
            } else if (e.getKey() == rank - 2 && a.rank() >= 2) {
                c.demandInput(index, 0, Map.of(axes.keptA(), e.getValue()));
            } else {
                throw UnsupportedModelException.at(n, "cannot permute " + n.getOpType() + " output axis " + e.getKey());
            }
        }
    }
}
