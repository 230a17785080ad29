package dev.eestream.core.model.transform;

import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * QuantizeLinear, as static QDQ quantization puts before each activation a MatMul reads: {@code round(x / scale) +
 * zero_point} with calibrated constants. A tensor that carries no permutation passes as it is (π alone leaves the
 * activations in the plaintext model's exact values). A permuted one is refused for the reason
 * {@link DynamicQuantizeLinearRule} gives: under ρ the float sums before it run in another order, and rounding to
 * 8 bits turns last-bit differences into whole steps.
 */
final class QuantizeLinearRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        TensorState x = c.state(c.node(index).getInput(0));
        if (x != null && x.labeled()) {
            throw refuse(c, index);
        }
        return OpRule.first(x == null ? TensorState.UNKNOWN : new TensorState(x.dims(), x.labels(), false));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        throw refuse(c, index);
    }

    private static UnsupportedModelException refuse(RuleContext c, int index) {
        return UnsupportedModelException.at(c.node(index), "it quantizes a permuted tensor to 8 bits, and the float "
                + "sums before it differ from the plaintext model's in the last bit, which rounding turns into whole "
                + "steps: the hidden permutation cannot be exact here (the token permutation alone is)");
    }
}
