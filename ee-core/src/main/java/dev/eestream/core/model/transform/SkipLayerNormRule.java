package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.ArrayList;
import java.util.List;

/**
 * SkipLayerNormalization and SkipSimplifiedLayerNormalization (onnxruntime contrib ops): the input,
 * skip, scale, bias and beta are added and scaled elementwise, so all must be permuted alike, as for
 * an elementwise op. Output 3 (input + skip) is permuted as the output; mean and inverse std are
 * invariant along the last axis.
 */
final class SkipLayerNormRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        TensorState out = ElementwiseRule.broadcast(c, index, ElementwiseRule.presentInputs(n));
        long[] reduced = out.dims();
        if (reduced != null && reduced.length > 0) {
            reduced[reduced.length - 1] = 1;
        }
        PermutationKind[] reducedLabels = out.labels();
        if (reducedLabels != null && reducedLabels.length > 0) {
            reducedLabels[reducedLabels.length - 1] = null;
        }
        List<TensorState> outputs = new ArrayList<>();
        outputs.add(out);
        for (int o = 1; o < n.getOutputCount(); o++) {
            outputs.add(o == 3 ? out : new TensorState(reduced, reducedLabels, false));
        }
        return outputs;
    }
}
