package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Attention (onnxruntime contrib op, BERT self-attention fused): {@code input · weights + bias} split into Q, K and V,
 * then per-head scaled dot-product attention. Its input is the residual stream; when that carries ρ on its hidden
 * axis, permuting the rows of the packed QKV weight by ρ contracts it away exactly as for MatMul, so Q, K and V (and
 * with them the heads, the mask, any rotary embedding and the KV cache) are in the plaintext basis and the output is
 * too. ρ anywhere else, or on any other input, is refused: the heads would mix permuted and plain columns. ONNX's own
 * Attention (opset 23, default domain) reads Q, K and V already projected: {@link ProjectedAttentionRule}.
 */
final class AttentionRule implements OpRule {
    static final String CONTRIB_DOMAIN = "com.microsoft";
    private static final int INPUT = 0;
    private static final int WEIGHTS = 1;

    private final ProjectedAttentionRule projected = new ProjectedAttentionRule();

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        if (!n.getDomain().equals(CONTRIB_DOMAIN)) {
            return projected.forward(c, index);
        }
        List<TensorState> in = c.inputStates(n);
        for (int slot = 1; slot < in.size(); slot++) {
            if (in.get(slot) != null && in.get(slot).labeled()) {
                throw UnsupportedModelException.at(n, "its input '" + n.getInput(slot) + "' is " + in.get(slot).describe()
                        + "; only the hidden axis of its input (input 0) may be permuted");
            }
        }
        TensorState x = in.get(INPUT);
        if (x != null && x.labeled()) {
            Map<Integer, PermutationKind> labels = x.labelMap();
            if (x.rank() != 3 || labels.size() != 1 || !labels.containsKey(2)) {
                throw UnsupportedModelException.at(n, "its input is " + x.describe() + "; Attention reads a [batch, "
                        + "sequence, hidden] stream and only its hidden axis may be permuted");
            }
            if (!c.graph().isInitializer(n.getInput(WEIGHTS))) {
                throw UnsupportedModelException.at(n, "its QKV weight '" + n.getInput(WEIGHTS) + "' is not a constant, so "
                        + "its rows cannot be permuted to read the permuted stream");
            }
            c.demandInput(index, WEIGHTS, Map.of(0, labels.get(2)));
        }
        long batch = x == null ? -1 : x.dim(0);
        long sequence = x == null ? -1 : x.dim(1);
        List<TensorState> outputs = new ArrayList<>();
        outputs.add(TensorState.plain(new long[] {batch, sequence, -1}));
        for (int o = 1; o < n.getOutputCount(); o++) {
            outputs.add(TensorState.plain(new long[] {2, batch, -1, -1, -1}));
        }
        return outputs;
    }
}
