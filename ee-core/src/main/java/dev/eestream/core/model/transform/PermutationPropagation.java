package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The dataflow analysis behind the model transform. It walks the graph in topological order and
 * tracks, per tensor, which axes carry a permutation (π over the vocabulary, ρ over the hidden
 * width, σ over the labels) and which tensors hold ciphertext token ids.
 *
 * <p>Token ids are consumed by a Gather over a constant table: that table gets π on its rows (and,
 * with the hidden permutation, ρ on its columns, which is where ρ enters the residual stream).
 * A labelled tensor may only flow through ops an {@link OpRule} proves equivariant along the labelled
 * axis; when such an op needs an operand to carry the label too, the {@link DemandRewriter} rewrites
 * it. Anything else is an {@link UnsupportedModelException} that names the node: never a silently
 * wrong model.
 */
final class PermutationPropagation {
    private static final Set<String> KNOWN_DOMAINS = Set.of("", "ai.onnx", "com.microsoft");
    /** Only these may see ciphertext ids: the lookup that consumes them, and ops that pass them on or ignore them. */
    private static final Set<String> MAY_READ_TOKEN_IDS = Set.of("Gather", "Shape", "Size", "Cast", "Identity", "Equal",
            "EmbedLayerNormalization");

    private final MutableGraph graph;
    private final TensorStates states;
    private final DemandRewriter demands;
    private final RuleContext context;

    /**
     * @param perms  the permutation of each kind in use (VOCAB always; HIDDEN when {@code hidden})
     * @param idsInput the graph input holding token ids
     */
    PermutationPropagation(MutableGraph graph, Map<PermutationKind, Permutation> perms, boolean hidden, String idsInput) {
        this(graph, perms, hidden, TensorStates.initial(graph, idsInput), null);
    }

    /**
     * @param vocabExpansion with homophones, the token of each of the V′ slots π permutes (vocabulary constants are
     *                       expanded to V′ entries first); null for none
     */
    PermutationPropagation(MutableGraph graph, Map<PermutationKind, Permutation> perms, boolean hidden, String idsInput,
            int[] vocabExpansion) {
        this(graph, perms, hidden, TensorStates.initial(graph, idsInput), vocabExpansion);
    }

    /** Starts from the given states of the graph's inputs and constants. */
    PermutationPropagation(MutableGraph graph, Map<PermutationKind, Permutation> perms, boolean hidden,
            TensorStates initial) {
        this(graph, perms, hidden, initial, null);
    }

    private PermutationPropagation(MutableGraph graph, Map<PermutationKind, Permutation> perms, boolean hidden,
            TensorStates initial, int[] vocabExpansion) {
        this.graph = graph;
        this.states = initial;
        this.demands = new DemandRewriter(graph, perms, states, new DemandRewriter.Producers() {
            @Override
            public void pullBack(int index, String tensor, Map<Integer, PermutationKind> want) {
                PermutationPropagation.this.pullBack(index, tensor, want);
            }

            @Override
            public void forward(int index) {
                PermutationPropagation.this.forward(index);
            }
        }, vocabExpansion);
        Permutation rho = perms.get(PermutationKind.HIDDEN);
        this.context = new RuleContext(graph, states, demands, hidden, hidden && rho != null ? rho.size() : -1);
    }

    /** Propagates through every node; rewrites the constants it must. */
    void run() {
        for (int i = 0; i < graph.nodes().size(); i++) {
            forward(i);
        }
    }

    TensorState state(String tensor) {
        return states.get(tensor);
    }

    /**
     * Makes graph output {@code output} carry exactly {@code required} (axis → kind), rewriting its
     * producers if they can be rewritten.
     */
    void requireOutput(String output, Map<Integer, PermutationKind> required) {
        TensorState s = state(output);
        if (!required.isEmpty()) {
            demands.demand(output, required, "graph output '" + output + "'");
            s = state(output);
        }
        if (!s.labelMap().equals(new TreeMap<>(required))) {
            throw new UnsupportedModelException(null, "graph output '" + output + "' would be " + s.describe()
                    + " but must be permuted exactly as " + TensorState.describe(required) + "; the server would "
                    + "otherwise see outputs in the plaintext basis");
        }
    }

    /**
     * Refuses graph output {@code output} unless the analysis proves it carries no permutation and no
     * ciphertext ids: a KV-cache tensor is computed after the projections that read the residual
     * stream, so ρ never reaches it; if it did, the cache would hold the stream in the ρ basis.
     */
    void requireOffResidualStream(String output) {
        TensorState s = state(output);
        if (!s.labeled() && !s.encryptedIds()) {
            return;
        }
        int producer = graph.producerOf(output);
        String why = "its output '" + output + "' is a KV-cache tensor but is " + s.describe() + ": it is not computed "
                + "after the projections that read the residual stream, so eestream cannot prove it safe";
        if (producer < 0) {
            throw new UnsupportedModelException(null, "graph output '" + output + "' " + why.substring(4));
        }
        throw UnsupportedModelException.at(graph.node(producer), why);
    }

    private void forward(int index) {
        NodeProto n = graph.node(index);
        List<TensorState> in = states.inputsOf(n);
        boolean sensitive = in.stream().anyMatch(s -> s != null && (s.labeled() || s.encryptedIds()));
        if (!KNOWN_DOMAINS.contains(n.getDomain())) {
            if (sensitive) {
                throw UnsupportedModelException.at(n, "op " + n.getDomain() + "." + n.getOpType()
                        + " is from a domain eestream does not know");
            }
            states.putOutputs(n, OpRule.every(n, TensorState.UNKNOWN));
            return;
        }
        String op = n.getOpType();
        if (in.stream().anyMatch(s -> s != null && s.encryptedIds()) && !MAY_READ_TOKEN_IDS.contains(op)) {
            throw UnsupportedModelException.at(n, "op " + op + " reads ciphertext token ids; only Gather over an "
                    + "embedding table (or EmbedLayerNormalization), Shape, Cast, Identity and Equal with a constant token id "
                    + "may read them");
        }
        OpRule rule = OpRules.forOp(op);
        if (rule != null) {
            states.putOutputs(n, rule.forward(context, index));
        } else if (sensitive) {
            TensorState s = in.stream().filter(x -> x != null && x.labeled()).findFirst().orElse(TensorState.UNKNOWN);
            throw UnsupportedModelException.at(n, "op " + op + " reads a tensor that is " + s.describe()
                    + ", and eestream cannot prove " + op + " equivariant under that permutation");
        } else {
            states.putOutputs(n, OpRule.every(n, TensorState.UNKNOWN));
        }
    }

    private void pullBack(int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = graph.node(index);
        OpRule rule = OpRules.forOp(n.getOpType());
        if (rule == null) {
            throw OpRule.cannotProduce(n, tensor, want);
        }
        rule.pullBack(context, index, tensor, want);
    }
}
