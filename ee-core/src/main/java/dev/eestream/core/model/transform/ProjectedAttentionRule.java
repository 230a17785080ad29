package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MultiHeadAttention, GroupQueryAttention, RotaryEmbedding and their kin (onnxruntime contrib ops that model builders
 * emit): they read Q, K and V after the projections that read the residual stream, so with the projections' weight
 * rows permuted they only ever see the plaintext basis, and their outputs (attention output, KV cache, rotated
 * heads) are plaintext-basis too, of known rank so that the output projection after them can still be rewritten.
 * Rotary embeddings rotate pairs of columns and the heads split the columns into groups, so a permuted operand
 * cannot be followed exactly: it is refused, naming the node. ONNX's own Attention (opset 23) reads projected Q, K and
 * V too, and is treated alike.
 */
final class ProjectedAttentionRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
        for (int slot = 0; slot < in.size(); slot++) {
            TensorState s = in.get(slot);
            if (s != null && s.labeled()) {
                throw UnsupportedModelException.at(n, "its input '" + n.getInput(slot) + "' is " + s.describe() + "; "
                        + n.getOpType() + " splits its columns into heads (and rotates pairs of them), so it must read "
                        + "tensors projected out of the residual stream, in the plaintext basis");
            }
        }
        TensorState first = in.isEmpty() || in.get(0) == null ? TensorState.UNKNOWN : in.get(0);
        List<TensorState> outputs = new ArrayList<>();
        if (n.getOpType().equals("RotaryEmbedding")) {
            outputs.add(first.rank() < 0 ? TensorState.UNKNOWN : TensorState.plain(first.dims()));
        } else if (!n.getDomain().equals(AttentionRule.CONTRIB_DOMAIN)) {
            // ONNX's own Attention (opset 23): Q, K, V already projected; the output has Q's rank.
            outputs.add(first.rank() < 0 ? TensorState.UNKNOWN : TensorState.plain(unknownDims(first.rank())));
        } else {
            outputs.add(TensorState.plain(new long[] {first.dim(0), first.dim(1), -1}));
        }
        for (int o = 1; o < n.getOutputCount(); o++) {
            outputs.add(TensorState.plain(new long[] {-1, -1, -1, -1}));
        }
        return outputs;
    }

    private static long[] unknownDims(int rank) {
        long[] dims = new long[rank];
        Arrays.fill(dims, -1);
        return dims;
    }
}
