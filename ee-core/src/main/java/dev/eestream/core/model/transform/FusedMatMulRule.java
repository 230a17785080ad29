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
        if (transBatch(n) && (a.labeled() || b.labeled())) {
            throw UnsupportedModelException.at(n, "FusedMatMul with transBatchA or transBatchB moves the axes of a permuted operand");
        }
        return MatMulRule.forward(c, index, (rankA, rankB) -> layout(n, rankA, rankB));
    }

    /** A permuted output column comes from the kept axis of B, a row from the kept axis of A. */
    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        if (transBatch(n)) {
            throw OpRule.cannotProduce(n, tensor, want);
        }
        MatMulRule.pullBack(c, index, tensor, want, (rankA, rankB) -> layout(n, rankA, rankB));
    }

    /** MatMul's axes read through transA and transB, which swap an operand's last two axes. */
    private static MatMulRule.Layout layout(NodeProto n, int rankA, int rankB) {
        boolean transA = OnnxAttributes.intOr(n, "transA", 0) == 1;
        boolean transB = OnnxAttributes.intOr(n, "transB", 0) == 1;
        return new MatMulRule.Layout(transA ? rankA - 2 : rankA - 1, transA ? rankA - 1 : rankA - 2,
                transB ? rankB - 1 : rankB - 2, transB ? rankB - 2 : rankB - 1);
    }

    private static boolean transBatch(NodeProto n) {
        return OnnxAttributes.intOr(n, "transBatchA", 0) == 1 || OnnxAttributes.intOr(n, "transBatchB", 0) == 1;
    }
}
