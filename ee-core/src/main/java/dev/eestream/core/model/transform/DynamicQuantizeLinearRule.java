package dev.eestream.core.model.transform;

import dev.eestream.core.key.PermutationKind;
import java.util.List;
import java.util.Map;

/**
 * DynamicQuantizeLinear: one scale and zero point from the minimum and maximum of the whole tensor. A tensor that
 * carries no permutation passes as it is. A permuted one is refused: its elements come from float sums taken in
 * another order (e.g. a LayerNorm's mean over the permuted hidden axis), which differ from the plaintext ones in the
 * last bit, and rounding to 8 bits turns that into whole quantization steps (on the int8 all-MiniLM-L6-v2: up to
 * 12 % on single embedding elements). So ρ cannot be exact through it.
 */
final class DynamicQuantizeLinearRule implements OpRule {
    private static final TensorState SCALAR = TensorState.plain(new long[0]);

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        TensorState x = c.state(c.node(index).getInput(0));
        if (x != null && x.labeled()) {
            throw refuse(c, index);
        }
        TensorState y = x == null ? TensorState.UNKNOWN : new TensorState(x.dims(), x.labels(), false);
        return List.of(y, SCALAR, SCALAR);
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        throw refuse(c, index);
    }

    private static UnsupportedModelException refuse(RuleContext c, int index) {
        return UnsupportedModelException.at(c.node(index), "it quantizes a permuted tensor with one scale for the "
                + "whole tensor, and the float sums before it differ from the plaintext model's in the last bit, which "
                + "rounding to 8 bits turns into whole steps: the hidden permutation cannot be exact here (the token "
                + "permutation alone is)");
    }
}
