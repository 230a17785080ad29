package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * Equal with ciphertext token ids: RoBERTa, XLM-R and MPNet count position ids from
 * {@code input_ids != padding_idx}. π is a bijection, so a token id compares equal to a constant id c
 * exactly when its ciphertext equals π(c): the constant gets its ciphertext, the result is the plaintext
 * model's. Two ciphertext operands compare as their plaintexts do. Without ids it is an ordinary
 * elementwise op.
 */
final class TokenIdComparisonRule implements OpRule {
    private final ElementwiseRule elementwise = new ElementwiseRule();

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
        boolean first = in.get(0) != null && in.get(0).encryptedIds();
        boolean second = in.size() > 1 && in.get(1) != null && in.get(1).encryptedIds();
        if (!first && !second) {
            return elementwise.forward(c, index);
        }
        if (n.getInputCount() != 2) {
            throw UnsupportedModelException.at(n, "op " + n.getOpType() + " with " + n.getInputCount() + " inputs reads "
                    + "ciphertext token ids");
        }
        if (first != second) {
            c.encryptIdsInput(index, first ? 1 : 0);
        }
        TensorState out = ElementwiseRule.broadcast(c, index, new int[] {0, 1});
        return OpRule.first(new TensorState(out.dims(), out.labels(), false));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        elementwise.pullBack(c, index, tensor, want);
    }
}
