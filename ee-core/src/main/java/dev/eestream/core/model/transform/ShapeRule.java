package dev.eestream.core.model.transform;

import java.util.List;

/** Shape and Size: shapes are the same in the permuted model, so the output carries nothing secret. */
final class ShapeRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        boolean size = c.node(index).getOpType().equals("Size");
        TensorState s = c.inputStates(c.node(index)).get(0);
        return OpRule.first(TensorState.plain(size ? new long[0] : new long[] {s.rank()}));
    }
}
