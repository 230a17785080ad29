package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The backward half of the analysis: makes a tensor carry a permutation a reader demands of it. A
 * constant gets a permuted copy (so a constant shared with other readers stays intact); a computed
 * tensor that only the demanding reader uses is rewritten at its producer, whose rule pulls the
 * demand back onto its own inputs, recursively. Anything else is refused.
 */
final class DemandRewriter {
    /** How a producer is rewritten: its rule pulls a demand back to its inputs, then its outputs are derived again. */
    interface Producers {
        void pullBack(int index, String tensor, Map<Integer, PermutationKind> want);

        void forward(int index);
    }

    private final MutableGraph graph;
    private final Map<PermutationKind, Permutation> perms;
    private final TensorStates states;
    private final Producers producers;
    /** Permuted copy → the constant it was copied from. */
    private final Map<String, String> copyBase = new HashMap<>();
    /** Constant and permutation signature → its permuted copy, so a copy is made once. */
    private final Map<String, String> copies = new HashMap<>();
    /** With homophones, the token of each slot: a vocabulary axis of V entries becomes V′ before π; else null. */
    private final int[] vocabExpansion;

    DemandRewriter(MutableGraph graph, Map<PermutationKind, Permutation> perms, TensorStates states, Producers producers,
            int[] vocabExpansion) {
        this.graph = graph;
        this.perms = new EnumMap<>(perms);
        this.states = states;
        this.producers = producers;
        this.vocabExpansion = vocabExpansion;
    }

    /** Makes input {@code slot} of node {@code index} carry {@code want}, rewiring the node if a copy is made. */
    void demandInput(int index, int slot, Map<Integer, PermutationKind> want) {
        NodeProto n = graph.node(index);
        String name = n.getInput(slot);
        String replacement = demand(name, want, "node '" + n.getName() + "' (" + n.getOpType() + ")");
        if (!replacement.equals(name)) {
            graph.replaceNode(index, graph.node(index).toBuilder().setInput(slot, replacement).build());
        }
    }

    /**
     * Makes input {@code slot} of node {@code index} follow {@code kind} over {@code rows} rows: a constant whose axis 0
     * has {@code rows} entries is permuted along it; a flat constant of rows·g values, whose runs of g belong to one
     * row each (MatMulNBits' scales and packed zero points), gets those runs moved whole.
     */
    void demandInputRowGroups(int index, int slot, long rows, PermutationKind kind) {
        NodeProto n = graph.node(index);
        String name = n.getInput(slot);
        String forWhom = "node '" + n.getName() + "' (" + n.getOpType() + ")";
        TensorState s = states.get(name);
        if (s.rank() >= 1 && s.dim(0) == rows) {
            demandInput(index, slot, Map.of(0, kind));
            return;
        }
        String key = copyBase.getOrDefault(name, name) + "|rows" + kind.domain().charAt(0);
        if (name.equals(copies.get(key))) {
            return; // already this node's permuted copy
        }
        Permutation p = perms.get(kind);
        if (kind == PermutationKind.VOCAB && vocabExpansion != null) {
            throw new UnsupportedModelException(null, "tensor '" + name + "' stores the vocabulary's rows in runs (for "
                    + forWhom + "); eestream cannot give such a tensor homophones");
        }
        if (!graph.isInitializer(name) || s.labeled() || p == null || p.size() != rows) {
            throw new UnsupportedModelException(null, "tensor '" + name + "' cannot be permuted by " + kind.symbol()
                    + " in groups per row (for " + forWhom + "): it is not a plain constant with one run of values per row");
        }
        TensorProto t = graph.initializer(name);
        long[] dims = OnnxTensors.dims(t);
        long count = OnnxTensors.elementCount(dims);
        if (dims.length != 1 || count % rows != 0) {
            throw new UnsupportedModelException(null, "constant '" + name + "' " + Arrays.toString(dims) + " does not split "
                    + "into " + rows + " runs of values, one per row (for " + forWhom + ")");
        }
        String copy = copies.get(key);
        if (copy == null) {
            copy = graph.freshName("rows" + kind.domain().charAt(0));
            TensorProto grouped = t.toBuilder().clearDims().addDims(rows).addDims(count / rows).build();
            graph.putInitializer(OnnxTensors.permuteAxis(grouped, copy, 0, p).toBuilder().clearDims().addDims(count).build());
            // A flat tensor cannot say on its one axis that its runs moved; only this reader knows its layout.
            states.put(copy, TensorState.plain(dims));
            copyBase.put(copy, name);
            copies.put(key, copy);
        }
        graph.replaceNode(index, graph.node(index).toBuilder().setInput(slot, copy).build());
    }

    /** Returns the name of a tensor equal to {@code tensor} but carrying {@code want} as well. */
    String demand(String tensor, Map<Integer, PermutationKind> want, String forWhom) {
        TensorState s = states.get(tensor);
        Map<Integer, PermutationKind> merged = new TreeMap<>(s.labelMap());
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            PermutationKind had = merged.put(e.getKey(), e.getValue());
            if (had != null && had != e.getValue()) {
                throw new UnsupportedModelException(null, "tensor '" + tensor + "' would need both " + had.symbol()
                        + " and " + e.getValue().symbol() + " on axis " + e.getKey() + " (for " + forWhom + ")");
            }
        }
        if (merged.equals(s.labelMap())) {
            return tensor;
        }
        if (graph.isInitializer(tensor)) {
            return permutedCopy(tensor, merged, forWhom);
        }
        int producer = graph.producerOf(tensor);
        if (producer < 0) {
            throw new UnsupportedModelException(null, "graph input '" + tensor + "' would have to arrive permuted ("
                    + TensorState.describe(want) + ") for " + forWhom);
        }
        NodeProto p = graph.node(producer);
        int readers = graph.consumersOf(tensor).size() + (graph.isGraphOutput(tensor) ? 1 : 0);
        if (readers > 1) {
            throw UnsupportedModelException.at(p, "its output '" + tensor + "' must be permuted by "
                    + TensorState.describe(want) + " for " + forWhom + ", but other nodes read it too");
        }
        producers.pullBack(producer, tensor, want);
        producers.forward(producer);
        TensorState after = states.get(tensor);
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (after.label(e.getKey()) != e.getValue()) {
                throw UnsupportedModelException.at(p, "its output '" + tensor + "' cannot be made to carry "
                        + TensorState.describe(want) + " for " + forWhom);
            }
        }
        return tensor;
    }

    /**
     * A copy of integer constant {@code tensor} holding the ciphertext π(t) of each token id t in it, for a
     * comparison with ciphertext ids; an id outside the vocabulary is refused.
     */
    String ciphertextIds(String tensor, String forWhom) {
        String key = tensor + "|ids";
        String existing = copies.get(key);
        if (existing != null) {
            return existing;
        }
        if (vocabExpansion != null) {
            throw new UnsupportedModelException(null, forWhom + " compares token ids with constant '" + tensor + "': with "
                    + "homophones a token has several ciphertext ids, so such a comparison cannot be kept exact");
        }
        TensorProto t = graph.initializer(tensor);
        long[] values = OnnxTensors.longValues(t);
        Permutation pi = perms.get(PermutationKind.VOCAB);
        long[] cipher = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= pi.size()) {
                throw new UnsupportedModelException(null, "constant '" + tensor + "' holds " + values[i] + ", which is "
                        + "not a token id of the vocabulary [0, " + pi.size() + "), so " + forWhom + " cannot compare "
                        + "it with ciphertext ids");
            }
            cipher[i] = pi.apply(Math.toIntExact(values[i]));
        }
        String name = graph.freshName("ids");
        graph.putInitializer(OnnxTensors.integerTensor(name, t.getDataType(), OnnxTensors.dims(t), cipher));
        states.put(name, new TensorState(OnnxTensors.dims(t), null, true));
        copies.put(key, name);
        return name;
    }

    /** A permuted copy of a constant; the original stays for its other readers (pruned later if unread). */
    private String permutedCopy(String tensor, Map<Integer, PermutationKind> labels, String forWhom) {
        String base = copyBase.getOrDefault(tensor, tensor);
        StringBuilder sig = new StringBuilder();
        labels.forEach((a, k) -> sig.append(a).append(k.domain().charAt(0)));
        String key = base + "|" + sig;
        String existing = copies.get(key);
        if (existing != null) {
            return existing;
        }
        TensorProto t = graph.initializer(base);
        long[] dims = OnnxTensors.dims(t);
        String name = graph.freshName(sig.toString());
        for (Map.Entry<Integer, PermutationKind> e : labels.entrySet()) {
            Permutation p = perms.get(e.getValue());
            int axis = e.getKey();
            if (e.getValue() == PermutationKind.VOCAB && vocabExpansion != null && p != null && axis < dims.length
                    && dims[axis] != p.size()) {
                // Homophones: row t is copied to each of t's slots, then the slots are permuted like any vocabulary.
                int tokens = vocabExpansion[vocabExpansion.length - 1] + 1;
                if (dims[axis] != tokens) {
                    throw new UnsupportedModelException(null, "constant '" + base + "' " + Arrays.toString(dims) + " would "
                            + "need homophones on axis " + axis + " for " + forWhom + ", but that axis does not have the "
                            + "vocabulary's " + tokens + " entries");
                }
                t = OnnxTensors.gatherAxis(t, name, axis, vocabExpansion);
                dims = OnnxTensors.dims(t);
            }
            if (p == null) {
                throw new UnsupportedModelException(null, "constant '" + base + "' would need " + e.getValue().symbol()
                        + ", which this transform does not apply (for " + forWhom + ")");
            }
            if (axis >= dims.length || dims[axis] != p.size()) {
                throw new UnsupportedModelException(null, "constant '" + base + "' " + Arrays.toString(dims)
                        + " would need " + e.getValue().symbol() + " (size " + p.size() + ") on axis " + axis
                        + " for " + forWhom + ", but that axis has size " + (axis < dims.length ? dims[axis] : 0));
            }
            t = OnnxTensors.permuteAxis(t, name, axis, p);
        }
        graph.putInitializer(t);
        PermutationKind[] arr = new PermutationKind[dims.length];
        labels.forEach((a, k) -> arr[a] = k);
        states.put(name, new TensorState(dims, arr, false));
        copyBase.put(name, base);
        copies.put(key, name);
        return name;
    }
}
