package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * LayerNormalization, SimplifiedLayerNormalization, RMSNormalization: statistics over the
 * normalised axes are invariant under a permutation of them, so the output is permuted as the input
 * once the scale and bias are permuted alike. Further outputs (mean, inverse std) are invariant
 * along the normalised axes.
 */
final class LayerNormRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState x = c.state(n.getInput(0));
        if (x.rank() < 0) {
            if (x.labeled()) {
                throw UnsupportedModelException.at(n, "rank unknown");
            }
            return OpRule.every(n, TensorState.UNKNOWN);
        }
        int axis = c.axis(n, OnnxAttributes.intOr(n, "axis", -1), x.rank());
        for (int slot = 1; slot < n.getInputCount(); slot++) {
            if (n.getInput(slot).isEmpty()) {
                continue;
            }
            TensorState p = c.state(c.node(index).getInput(slot));
            for (Map.Entry<Integer, PermutationKind> e : x.labelMap().entrySet()) {
                int pa = e.getKey() - (x.rank() - p.rank());
                if (e.getKey() >= axis && pa >= 0 && p.label(pa) == null && p.dim(pa) != 1) {
                    c.demandInput(index, slot, Map.of(pa, e.getValue()));
                }
            }
        }
        long[] reducedDims = x.dims();
        PermutationKind[] reducedLabels = x.labels();
        for (int a = axis; a < x.rank(); a++) {
            reducedDims[a] = 1;
            reducedLabels[a] = null;
        }
        List<TensorState> outputs = new ArrayList<>();
        outputs.add(x);
        for (int o = 1; o < n.getOutputCount(); o++) {
            outputs.add(new TensorState(reducedDims, reducedLabels, false));
        }
        return outputs;
    }
}
