package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.List;
import java.util.Map;

/**
 * FusedMatMul (onnxruntime contrib op, what ORT's optimizer makes of MatMul followed by a scalar Mul or Div, or of a
 * Transpose feeding a MatMul): {@code alpha · op(A) · op(B)} with {@code transA}/{@code transB} swapping the last two
 * axes of an operand. The scalar alpha holds wherever elements move, so it is MatMul's rule with the contracted and
 * kept axes read through the transposes. The batch transposes ({@code transBatchA}/{@code transBatchB}) move axes
 * around the batch dimensions; a permuted operand under them is refused.
 */
final class FusedMatMulRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        if (a.rank() < 2 || b.rank() < 2) {
            if (a.labeled() || b.labeled()) {
                throw UnsupportedModelException.at(n, "FusedMatMul with a permuted operand of rank < 2 or unknown rank");
            }
            return OpRule.first(TensorState.UNKNOWN);
        }
        if (transBatch(n) && (a.labeled() || b.labeled())) {
            throw UnsupportedModelException.at(n, "FusedMatMul with transBatchA or transBatchB moves the axes of a permuted operand");
        }
        int ak = contractedAxisOfA(n, a.rank());
        int bk = contractedAxisOfB(n, b.rank());
        PermutationKind ka = a.label(ak);
        PermutationKind kb = b.label(bk);
        if (ka != null && kb == null) {
            c.demandInput(index, 1, Map.of(bk, ka));
        } else if (kb != null && ka == null) {
            c.demandInput(index, 0, Map.of(ak, kb));
        } else if (ka != kb) {
            throw UnsupportedModelException.at(n, "FusedMatMul contracts an axis permuted by " + ka.symbol()
                    + " with one permuted by " + kb.symbol());
        }
        a = c.state(c.node(index).getInput(0));
        b = c.state(c.node(index).getInput(1));
        int rank = Math.max(a.rank(), b.rank());
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank - 2; axis++) {
            int ia = axis - (rank - a.rank());
            int ib = axis - (rank - b.rank());
            if (a.label(ia) != null || b.label(ib) != null) {
                throw UnsupportedModelException.at(n, "FusedMatMul over a permuted batch axis");
            }
            long da = ia >= 0 ? a.dim(ia) : 1;
            long db = ib >= 0 ? b.dim(ib) : 1;
            dims[axis] = da == 1 ? db : da;
        }
        int ar = keptAxisOfA(n, a.rank());
        int bc = keptAxisOfB(n, b.rank());
        dims[rank - 2] = a.dim(ar);
        labels[rank - 2] = a.label(ar);
        dims[rank - 1] = b.dim(bc);
        labels[rank - 1] = b.label(bc);
        return OpRule.first(new TensorState(dims, labels, false));
    }

    /** A permuted output column comes from the kept axis of B, a row from the kept axis of A. */
    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        int rank = c.state(tensor).rank();
        TensorState a = c.state(n.getInput(0));
        TensorState b = c.state(n.getInput(1));
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (transBatch(n) || a.rank() < 2 || b.rank() < 2) {
                throw OpRule.cannotProduce(n, tensor, want);
            } else if (e.getKey() == rank - 1) {
                c.demandInput(index, 1, Map.of(keptAxisOfB(n, b.rank()), e.getValue()));
            } else if (e.getKey() == rank - 2) {
                c.demandInput(index, 0, Map.of(keptAxisOfA(n, a.rank()), e.getValue()));
            } else {
                throw UnsupportedModelException.at(n, "cannot permute FusedMatMul output axis " + e.getKey());
            }
        }
    }

    private static boolean transBatch(NodeProto n) {
        return OnnxAttributes.intOr(n, "transBatchA", 0) == 1 || OnnxAttributes.intOr(n, "transBatchB", 0) == 1;
    }

    private static boolean transA(NodeProto n) {
        return OnnxAttributes.intOr(n, "transA", 0) == 1;
    }

    private static boolean transB(NodeProto n) {
        return OnnxAttributes.intOr(n, "transB", 0) == 1;
    }

    private static int contractedAxisOfA(NodeProto n, int rank) {
        return transA(n) ? rank - 2 : rank - 1;
    }

    private static int keptAxisOfA(NodeProto n, int rank) {
        return transA(n) ? rank - 1 : rank - 2;
    }

    private static int contractedAxisOfB(NodeProto n, int rank) {
        return transB(n) ? rank - 1 : rank - 2;
    }

    private static int keptAxisOfB(NodeProto n, int rank) {
        return transB(n) ? rank - 2 : rank - 1;
    }
}
