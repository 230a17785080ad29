package dev.eestream.core.model.transform;

import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * Softmax, LogSoftmax, LpNormalization: each normalises along an axis by a symmetric function of
 * that axis's values, so permuting any axis, the normalised one included, permutes the output alike.
 */
final class SoftmaxRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        return OpRule.first(c.inputStates(c.node(index)).get(0));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        c.demandInput(index, 0, want);
    }
}
