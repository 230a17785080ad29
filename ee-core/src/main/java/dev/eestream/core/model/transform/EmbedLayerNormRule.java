package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * EmbedLayerNormalization (onnxruntime contrib op, BERT's embeddings fused): word, position and segment lookups,
 * summed, then LayerNorm with gamma and beta. It is the embedding Gather of an optimized graph, so it reads the
 * ciphertext ids: the word table gets π on its rows (the lookup of π(t) then finds E[t]); with the hidden permutation
 * every table, gamma and beta get ρ on their columns, which is where ρ enters the residual stream (LayerNorm's
 * statistics are invariant under ρ). Output 0 and the optional embedding_sum (output 2) then carry ρ; mask_index
 * (output 1) is computed from the plaintext attention mask alone. Segment ids, the mask and position ids are in the
 * plaintext basis: ciphertext ids there are refused.
 */
final class EmbedLayerNormRule implements OpRule {
    private static final int INPUT_IDS = 0;
    private static final int WORD_EMBEDDING = 2;
    /** Position table, segment table, gamma, beta: the slots that carry ρ on their hidden axis. */
    private static final int[] HIDDEN_SLOTS = {3, 4, 5, 6};

    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
        for (int slot = 0; slot < in.size(); slot++) {
            TensorState s = in.get(slot);
            if (s != null && slot != INPUT_IDS && s.encryptedIds()) {
                throw UnsupportedModelException.at(n, "it reads ciphertext token ids as its input " + slot + " ('"
                        + n.getInput(slot) + "'); only input_ids (input 0) may hold them");
            }
            if (s != null && s.labeled()) {
                throw UnsupportedModelException.at(n, "its input '" + n.getInput(slot) + "' is " + s.describe()
                        + "; EmbedLayerNormalization must read its tables and ids in the plaintext basis");
            }
        }
        TensorState ids = in.get(INPUT_IDS);
        boolean hidden = false;
        if (ids != null && ids.encryptedIds()) {
            if (!c.graph().isInitializer(n.getInput(WORD_EMBEDDING))) {
                throw UnsupportedModelException.at(n, "it reads ciphertext token ids from a word table that is not a "
                        + "constant of the model");
            }
            hidden = c.hiddenPermutation();
            Map<Integer, PermutationKind> word = new TreeMap<>();
            word.put(0, PermutationKind.VOCAB);
            if (hidden) {
                word.put(1, PermutationKind.HIDDEN);
            }
            c.demandInput(index, WORD_EMBEDDING, word);
            if (hidden) {
                for (int slot : HIDDEN_SLOTS) {
                    if (slot < n.getInputCount() && !n.getInput(slot).isEmpty()) {
                        TensorState t = c.state(c.node(index).getInput(slot));
                        c.demandInput(index, slot, Map.of(t.rank() - 1, PermutationKind.HIDDEN));
                    }
                }
            }
        }
        long batch = ids == null ? -1 : ids.dim(0);
        long sequence = ids == null ? -1 : ids.dim(1);
        long width = c.state(c.node(index).getInput(WORD_EMBEDDING)).dim(1);
        PermutationKind[] streamLabels = {null, null, hidden ? PermutationKind.HIDDEN : null};
        TensorState stream = new TensorState(new long[] {batch, sequence, width}, streamLabels, false);
        List<TensorState> outputs = new ArrayList<>();
        outputs.add(stream);
        if (n.getOutputCount() > 1) {
            outputs.add(TensorState.plain(new long[] {batch}));
        }
        if (n.getOutputCount() > 2) {
            outputs.add(stream);
        }
        return outputs;
    }
}
