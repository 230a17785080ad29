package dev.eestream.core.model.transform;

import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/** Ops applied to each element alone: every output is laid out exactly as the input. */
final class UnaryRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        TensorState s = c.inputStates(c.node(index)).get(0);
        TensorState out = s == null ? TensorState.UNKNOWN : new TensorState(s.dims(), s.labels(), s.encryptedIds());
        return OpRule.every(c.node(index), out);
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        c.demandInput(index, 0, want);
    }
}
