package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
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
 * A labelled tensor may only flow through ops proven equivariant along the labelled axis. When such
 * an op meets an operand that lacks the label, the operand is <em>demanded</em> to carry it: a
 * constant is rewritten (a permuted copy, so a constant shared with other readers stays intact), and
 * a computed tensor read by this node alone is rewritten at its producer, recursively (a projection's
 * output columns, a bias, a position-embedding table). Anything else is an
 * {@link UnsupportedModelException} that names the node: never a silently wrong model.
 */
final class PermutationPropagation {
    private static final Set<String> UNARY = Set.of("Identity", "Cast", "Erf", "Tanh", "Relu", "Sigmoid", "Sqrt",
            "Neg", "Abs", "Exp", "Log", "Reciprocal", "Softplus", "Softsign", "Gelu", "LeakyRelu", "Elu", "Selu",
            "Celu", "HardSigmoid", "HardSwish", "Mish", "Floor", "Ceil", "Round", "Sign", "Not", "IsNaN", "IsInf",
            "Sin", "Cos", "Dropout", "ThresholdedRelu", "QuickGelu");
    private static final Set<String> ELEMENTWISE = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum",
            "Mean", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where",
            "PRelu", "Clip", "BiasGelu", "FastGelu");
    private static final Set<String> REDUCE = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
            "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp");
    private static final Set<String> SOFTMAX = Set.of("Softmax", "LogSoftmax", "LpNormalization");
    private static final Set<String> LAYER_NORM = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
            "RMSNormalization");
    private static final Set<String> SKIP_LAYER_NORM = Set.of("SkipLayerNormalization", "SkipSimplifiedLayerNormalization");
    private static final Set<String> KNOWN_DOMAINS = Set.of("", "ai.onnx", "com.microsoft");

    private final MutableGraph graph;
    private final Map<PermutationKind, Permutation> perms;
    private final boolean hidden;
    private final Map<String, TensorState> states = new HashMap<>();
    private final Map<String, String> copyBase = new HashMap<>();
    private final Map<String, String> copies = new HashMap<>();

    /**
     * @param perms  the permutation of each kind in use (VOCAB always; HIDDEN when {@code hidden})
     * @param idsInput the graph input holding token ids
     */
    PermutationPropagation(MutableGraph graph, Map<PermutationKind, Permutation> perms, boolean hidden, String idsInput) {
        this.graph = graph;
        this.perms = new EnumMap<>(perms);
        this.hidden = hidden;
        for (ValueInfoProto in : graph.inputs()) {
            states.put(in.getName(), new TensorState(inputDims(in), null, in.getName().equals(idsInput)));
        }
        graph.initializers().forEach((name, t) -> states.put(name, TensorState.plain(OnnxTensors.dims(t))));
    }

    /** Propagates through every node; rewrites the constants it must. */
    void run() {
        for (int i = 0; i < graph.nodes().size(); i++) {
            forward(i);
        }
    }

    TensorState state(String tensor) {
        return states.getOrDefault(tensor, TensorState.UNKNOWN);
    }

    /**
     * Makes graph output {@code output} carry exactly {@code required} (axis → kind), rewriting its
     * producers if they can be rewritten.
     */
    void requireOutput(String output, Map<Integer, PermutationKind> required) {
        TensorState s = state(output);
        if (!required.isEmpty()) {
            demand(output, required, "graph output '" + output + "'");
            s = state(output);
        }
        if (!s.labelMap().equals(new TreeMap<>(required))) {
            throw new UnsupportedModelException(null, "graph output '" + output + "' would be " + s.describe()
                    + " but must be permuted exactly as " + describe(required) + "; the server would otherwise see "
                    + "outputs in the plaintext basis");
        }
    }

    // ---------------------------------------------------------------- forward rules

    private void forward(int index) {
        NodeProto n = graph.node(index);
        List<TensorState> in = inputStates(n);
        boolean sensitive = in.stream().anyMatch(s -> s != null && (s.labeled() || s.encryptedIds()));
        if (!KNOWN_DOMAINS.contains(n.getDomain())) {
            if (sensitive) {
                throw unsupported(n, "op " + n.getDomain() + "." + n.getOpType() + " is from a domain eestream does not know");
            }
            setAllUnknown(n);
            return;
        }
        String op = n.getOpType();
        if (op.equals("Shape") || op.equals("Size")) {
            // Shapes are the same in the permuted model: the output carries nothing secret.
            TensorState s = in.get(0);
            setOutput(n, 0, TensorState.plain(op.equals("Size") ? new long[0] : new long[] {s.rank()}));
            return;
        }
        if (in.stream().anyMatch(s -> s != null && s.encryptedIds()) && !op.equals("Gather")
                && !op.equals("Identity") && !op.equals("Cast")) {
            throw unsupported(n, "op " + op + " reads ciphertext token ids; only Gather over an embedding table, "
                    + "Shape, Cast and Identity may read them");
        }
        if (UNARY.contains(op)) {
            TensorState s = in.get(0);
            TensorState out = s == null ? TensorState.UNKNOWN : new TensorState(s.dims(), s.labels(), s.encryptedIds());
            for (int o = 0; o < n.getOutputCount(); o++) {
                setOutput(n, o, o == 0 ? out : out.withLabels(out.labels()));
            }
        } else if (ELEMENTWISE.contains(op)) {
            setOutput(n, 0, elementwise(index, allInputSlots(n)));
        } else if (REDUCE.contains(op)) {
            setOutput(n, 0, reduce(n, in.get(0)));
        } else if (SOFTMAX.contains(op)) {
            setOutput(n, 0, in.get(0));
        } else if (op.equals("MatMul")) {
            setOutput(n, 0, matMul(index));
        } else if (op.equals("Gemm")) {
            setOutput(n, 0, gemm(index));
        } else if (op.equals("Gather")) {
            setOutput(n, 0, gather(index));
        } else if (op.equals("Transpose")) {
            setOutput(n, 0, transpose(n, in.get(0)));
        } else if (op.equals("Unsqueeze") || op.equals("Squeeze")) {
            setOutput(n, 0, squeezeOrUnsqueeze(n, in.get(0)));
        } else if (op.equals("Reshape")) {
            setOutput(n, 0, reshape(n, in.get(0)));
        } else if (op.equals("Slice")) {
            setOutput(n, 0, slice(n, in.get(0)));
        } else if (op.equals("Expand")) {
            setOutput(n, 0, expand(n, in.get(0)));
        } else if (op.equals("Concat")) {
            setOutput(n, 0, concat(index));
        } else if (LAYER_NORM.contains(op)) {
            layerNorm(index);
        } else if (SKIP_LAYER_NORM.contains(op)) {
            skipLayerNorm(index);
        } else if (sensitive) {
            TensorState s = in.stream().filter(x -> x != null && x.labeled()).findFirst().orElse(TensorState.UNKNOWN);
            throw unsupported(n, "op " + op + " reads a tensor that is " + s.describe()
                    + ", and eestream cannot prove " + op + " equivariant under that permutation");
        } else {
            setAllUnknown(n);
        }
    }

    /** Broadcasting elementwise op over the given input slots; missing labels are demanded. */
    private TensorState elementwise(int index, int[] slots) {
        NodeProto n = graph.node(index);
        List<TensorState> in = inputStates(n);
        int rank = 0;
        for (int slot : slots) {
            TensorState s = in.get(slot);
            if (s == null) {
                continue;
            }
            if (s.rank() < 0) {
                rank = -1;
                break;
            }
            rank = Math.max(rank, s.rank());
        }
        if (rank < 0) {
            if (in.stream().anyMatch(s -> s != null && s.labeled())) {
                throw unsupported(n, "the rank of an operand of " + n.getOpType() + " is unknown, so eestream cannot "
                        + "prove how it broadcasts against a permuted tensor");
            }
            return TensorState.UNKNOWN;
        }
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank; axis++) {
            for (int slot : slots) {
                TensorState s = in.get(slot);
                PermutationKind k = s == null ? null : s.label(axis - (rank - s.rank()));
                if (k != null && labels[axis] != null && labels[axis] != k) {
                    throw unsupported(n, "operands are permuted differently on axis " + axis + " ("
                            + labels[axis].symbol() + " and " + k.symbol() + ")");
                }
                if (k != null) {
                    labels[axis] = k;
                }
            }
        }
        for (int axis = 0; axis < rank; axis++) {
            if (labels[axis] == null) {
                continue;
            }
            for (int slot : slots) {
                TensorState s = in.get(slot);
                int a = s == null ? -1 : axis - (rank - s.rank());
                if (a < 0 || s.label(a) != null || s.dim(a) == 1) {
                    continue; // absent or size-1 axes broadcast: the same value in every permuted position
                }
                demandInput(index, slot, Map.of(a, labels[axis]));
                in = inputStates(graph.node(index));
            }
        }
        long[] dims = new long[rank];
        Arrays.fill(dims, 1);
        for (int axis = 0; axis < rank; axis++) {
            for (int slot : slots) {
                TensorState s = in.get(slot);
                if (s == null) {
                    continue;
                }
                long d = s.dim(axis - (rank - s.rank()));
                if (axis - (rank - s.rank()) < 0) {
                    continue;
                }
                if (d == -1) {
                    dims[axis] = dims[axis] == 1 ? -1 : dims[axis];
                } else if (d != 1) {
                    dims[axis] = d;
                }
            }
        }
        boolean ids = in.stream().anyMatch(s -> s != null && s.encryptedIds());
        return new TensorState(dims, labels, ids);
    }

    private TensorState reduce(NodeProto n, TensorState s) {
        if (s == null || s.rank() < 0) {
            if (s != null && s.labeled()) {
                throw unsupported(n, "rank unknown");
            }
            return TensorState.UNKNOWN;
        }
        long[] axes = axesOf(n, 1);
        boolean keep = intAttr(n, "keepdims", 1) == 1;
        boolean all = axes == null || axes.length == 0;
        if (all && intAttr(n, "noop_with_empty_axes", 0) == 1) {
            return s;
        }
        boolean[] reduced = new boolean[s.rank()];
        for (int a = 0; a < s.rank(); a++) {
            reduced[a] = all;
        }
        if (!all) {
            for (long a : axes) {
                reduced[normalize(n, a, s.rank())] = true;
            }
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        for (int a = 0; a < s.rank(); a++) {
            if (!reduced[a]) {
                dims.add(s.dim(a));
                labels.add(s.label(a));
            } else if (keep) {
                dims.add(1L);
                labels.add(null); // reducing over a permuted axis is invariant under it
            }
        }
        return new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false);
    }

    private TensorState matMul(int index) {
        NodeProto n = graph.node(index);
        TensorState a = state(n.getInput(0));
        TensorState b = state(n.getInput(1));
        if (a.rank() < 2 || b.rank() < 2) {
            if (a.labeled() || b.labeled()) {
                throw unsupported(n, "MatMul with a permuted operand of rank < 2 or unknown rank");
            }
            return TensorState.UNKNOWN;
        }
        // The contracted axis must be permuted identically on both sides (or on neither).
        PermutationKind ka = a.label(a.rank() - 1);
        PermutationKind kb = b.label(b.rank() - 2);
        if (ka != null && kb == null) {
            demandInput(index, 1, Map.of(b.rank() - 2, ka));
        } else if (kb != null && ka == null) {
            demandInput(index, 0, Map.of(a.rank() - 1, kb));
        } else if (ka != kb) {
            throw unsupported(n, "MatMul contracts an axis permuted by " + ka.symbol() + " with one permuted by " + kb.symbol());
        }
        a = state(graph.node(index).getInput(0));
        b = state(graph.node(index).getInput(1));
        int rank = Math.max(a.rank(), b.rank());
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank - 2; axis++) {
            int ia = axis - (rank - a.rank());
            int ib = axis - (rank - b.rank());
            if (a.label(ia) != null || b.label(ib) != null) {
                throw unsupported(n, "MatMul over a permuted batch axis");
            }
            long da = ia >= 0 ? a.dim(ia) : 1;
            long db = ib >= 0 ? b.dim(ib) : 1;
            dims[axis] = da == 1 ? db : da;
        }
        dims[rank - 2] = a.dim(a.rank() - 2);
        labels[rank - 2] = a.label(a.rank() - 2);
        dims[rank - 1] = b.dim(b.rank() - 1);
        labels[rank - 1] = b.label(b.rank() - 1);
        return new TensorState(dims, labels, false);
    }

    private TensorState gemm(int index) {
        NodeProto n = graph.node(index);
        boolean transA = intAttr(n, "transA", 0) == 1;
        boolean transB = intAttr(n, "transB", 0) == 1;
        TensorState a = state(n.getInput(0));
        TensorState b = state(n.getInput(1));
        int ak = transA ? 0 : 1;
        int bk = transB ? 1 : 0;
        PermutationKind ka = a.label(ak);
        PermutationKind kb = b.label(bk);
        if (ka != null && kb == null) {
            demandInput(index, 1, Map.of(bk, ka));
        } else if (kb != null && ka == null) {
            demandInput(index, 0, Map.of(ak, kb));
        } else if (ka != kb) {
            throw unsupported(n, "Gemm contracts axes permuted differently");
        }
        a = state(graph.node(index).getInput(0));
        b = state(graph.node(index).getInput(1));
        TensorState out = new TensorState(new long[] {a.dim(1 - ak), b.dim(1 - bk)},
                new PermutationKind[] {a.label(1 - ak), b.label(1 - bk)}, false);
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            TensorState c = state(n.getInput(2));
            for (int axis = 0; axis < 2; axis++) {
                int ci = axis - (2 - c.rank());
                if (out.label(axis) != null && ci >= 0 && c.label(ci) == null && c.dim(ci) != 1) {
                    demandInput(index, 2, Map.of(ci, out.label(axis)));
                }
            }
        }
        return out;
    }

    private TensorState gather(int index) {
        NodeProto n = graph.node(index);
        TensorState data = state(n.getInput(0));
        TensorState indices = state(n.getInput(1));
        if (data.rank() < 0 || indices.rank() < 0) {
            if (data.labeled() || indices.encryptedIds()) {
                throw unsupported(n, "Gather with operands of unknown rank");
            }
            return TensorState.UNKNOWN;
        }
        int axis = normalize(n, intAttr(n, "axis", 0), data.rank());
        if (indices.encryptedIds()) {
            // The embedding lookup: rows by π, and ρ enters the residual stream through the columns.
            Map<Integer, PermutationKind> want = new TreeMap<>();
            want.put(axis, PermutationKind.VOCAB);
            if (hidden && data.rank() == 2 && axis == 0) {
                want.put(1, PermutationKind.HIDDEN);
            }
            if (!graph.isInitializer(n.getInput(0))) {
                throw unsupported(n, "Gather reads ciphertext token ids from a table that is not a constant of the model");
            }
            demandInput(index, 0, want);
            data = state(graph.node(index).getInput(0));
        } else if (data.label(axis) != null) {
            throw unsupported(n, "Gather picks along an axis permuted by " + data.label(axis).symbol()
                    + " with indices in the plaintext basis");
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        for (int a = 0; a < axis; a++) {
            dims.add(data.dim(a));
            labels.add(data.label(a));
        }
        for (int a = 0; a < indices.rank(); a++) {
            dims.add(indices.dim(a));
            labels.add(null);
        }
        for (int a = axis + 1; a < data.rank(); a++) {
            dims.add(data.dim(a));
            labels.add(data.label(a));
        }
        return new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false);
    }

    private TensorState transpose(NodeProto n, TensorState s) {
        if (s != null && s.rank() < 0 && !s.labeled() && hasAttr(n, "perm")) {
            long[] dims = new long[transposePerm(n, 0).length];
            Arrays.fill(dims, -1);
            return TensorState.plain(dims);
        }
        if (s == null || s.rank() < 0) {
            if (s != null && s.labeled()) {
                throw unsupported(n, "rank unknown");
            }
            return TensorState.UNKNOWN;
        }
        int[] perm = transposePerm(n, s.rank());
        long[] dims = new long[perm.length];
        PermutationKind[] labels = new PermutationKind[perm.length];
        for (int a = 0; a < perm.length; a++) {
            dims[a] = s.dim(perm[a]);
            labels[a] = s.label(perm[a]);
        }
        return new TensorState(dims, labels, false);
    }

    private TensorState squeezeOrUnsqueeze(NodeProto n, TensorState s) {
        long[] axes = axesOf(n, 1);
        boolean unsqueeze = n.getOpType().equals("Unsqueeze");
        if (s == null || s.rank() < 0 || (axes == null && !unsqueeze && s.dims() == null)) {
            if (s != null && s.labeled()) {
                throw unsupported(n, "rank unknown");
            }
            return TensorState.UNKNOWN;
        }
        List<Long> dims = new ArrayList<>();
        List<PermutationKind> labels = new ArrayList<>();
        if (unsqueeze) {
            int outRank = s.rank() + axes.length;
            boolean[] inserted = new boolean[outRank];
            for (long a : axes) {
                inserted[normalize(n, a, outRank)] = true;
            }
            int src = 0;
            for (int a = 0; a < outRank; a++) {
                dims.add(inserted[a] ? 1L : s.dim(src));
                labels.add(inserted[a] ? null : s.label(src));
                src += inserted[a] ? 0 : 1;
            }
        } else {
            boolean[] removed = new boolean[s.rank()];
            if (axes == null) {
                for (int a = 0; a < s.rank(); a++) {
                    if (s.dim(a) == -1) {
                        if (s.labeled()) {
                            throw unsupported(n, "Squeeze without axes over unknown dims");
                        }
                        return TensorState.UNKNOWN;
                    }
                    removed[a] = s.dim(a) == 1;
                }
            } else {
                for (long a : axes) {
                    removed[normalize(n, a, s.rank())] = true;
                }
            }
            for (int a = 0; a < s.rank(); a++) {
                if (!removed[a]) {
                    dims.add(s.dim(a));
                    labels.add(s.label(a));
                }
            }
        }
        return new TensorState(dims.stream().mapToLong(Long::longValue).toArray(),
                labels.toArray(new PermutationKind[0]), false);
    }

    private TensorState reshape(NodeProto n, TensorState s) {
        long[] shape = constantInts(n, 1);
        if (s == null || !s.labeled()) {
            if (shape == null) {
                // A shape computed at run time still fixes the output rank when its own length is known.
                long len = n.getInputCount() > 1 ? state(n.getInput(1)).dim(0) : -1;
                if (len < 0 || state(n.getInput(1)).rank() != 1) {
                    return TensorState.UNKNOWN;
                }
                long[] dims = new long[(int) len];
                Arrays.fill(dims, -1);
                return TensorState.plain(dims);
            }
            long[] dims = new long[shape.length];
            for (int a = 0; a < shape.length; a++) {
                dims[a] = shape[a] > 0 ? shape[a] : (shape[a] == 0 && s != null ? s.dim(a) : -1);
            }
            return TensorState.plain(dims);
        }
        // Only a reshape that keeps the permuted last axis whole and last is provably safe.
        int last = s.rank() - 1;
        Map<Integer, PermutationKind> labels = s.labelMap();
        if (shape == null || labels.size() != 1 || !labels.containsKey(last) || s.dim(last) <= 0
                || shape[shape.length - 1] != s.dim(last)) {
            throw unsupported(n, "Reshape of a tensor that is " + s.describe()
                    + " that does not provably keep the permuted last axis whole");
        }
        long[] dims = new long[shape.length];
        for (int a = 0; a < shape.length; a++) {
            dims[a] = shape[a] > 0 ? shape[a] : -1;
        }
        PermutationKind[] out = new PermutationKind[shape.length];
        out[shape.length - 1] = labels.get(last);
        return new TensorState(dims, out, false);
    }

    /** Slicing keeps the rank; it may keep labels only on axes it provably does not touch. */
    private TensorState slice(NodeProto n, TensorState s) {
        if (s == null || s.rank() < 0) {
            if (s != null && s.labeled()) {
                throw unsupported(n, "rank unknown");
            }
            return TensorState.UNKNOWN;
        }
        long[] axes = null;
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("axes")) {
                axes = a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        boolean axesKnown = axes != null || n.getInputCount() <= 3 || n.getInput(3).isEmpty()
                || (axes = constantInts(n, 3)) != null;
        boolean[] touched = new boolean[s.rank()];
        if (axes == null) {
            Arrays.fill(touched, true); // no axes: every axis from 0 may be sliced
        } else {
            for (long a : axes) {
                touched[normalize(n, a, s.rank())] = true;
            }
        }
        long[] dims = s.dims();
        for (int a = 0; a < s.rank(); a++) {
            if (touched[a] || !axesKnown) {
                if (s.label(a) != null) {
                    throw unsupported(n, "Slice along an axis permuted by " + s.label(a).symbol());
                }
                dims[a] = -1;
            }
        }
        return new TensorState(dims, s.labels(), false);
    }

    private TensorState expand(NodeProto n, TensorState s) {
        long[] shape = constantInts(n, 1);
        if (s == null || s.rank() < 0 || shape == null) {
            if (s != null && s.labeled()) {
                throw unsupported(n, "Expand to a shape that is not a constant");
            }
            return TensorState.UNKNOWN;
        }
        int rank = Math.max(s.rank(), shape.length);
        long[] dims = new long[rank];
        PermutationKind[] labels = new PermutationKind[rank];
        for (int a = 0; a < rank; a++) {
            int ia = a - (rank - s.rank());
            int is = a - (rank - shape.length);
            long d = ia >= 0 ? s.dim(ia) : 1;
            long e = is >= 0 ? shape[is] : 1;
            dims[a] = d == 1 ? e : d;
            labels[a] = ia >= 0 ? s.label(ia) : null;
        }
        return new TensorState(dims, labels, false);
    }

    private TensorState concat(int index) {
        NodeProto n = graph.node(index);
        List<TensorState> in = inputStates(n);
        int rank = in.get(0) == null ? -1 : in.get(0).rank();
        if (rank < 0 || in.stream().anyMatch(s -> s == null || s.rank() != rank)) {
            if (in.stream().anyMatch(s -> s != null && s.labeled())) {
                throw unsupported(n, "Concat of permuted tensors of unknown rank");
            }
            return TensorState.UNKNOWN;
        }
        int axis = normalize(n, intAttr(n, "axis", 0), rank);
        for (TensorState s : in) {
            if (s.label(axis) != null) {
                throw unsupported(n, "Concat along an axis permuted by " + s.label(axis).symbol());
            }
        }
        TensorState out = elementwiseExcept(index, axis);
        long[] dims = out.dims();
        long total = 0;
        for (TensorState s : inputStates(graph.node(index))) {
            total = total < 0 || s.dim(axis) < 0 ? -1 : total + s.dim(axis);
        }
        dims[axis] = total;
        return new TensorState(dims, out.labels(), false);
    }

    /** Concat's other axes must be permuted alike: same rule as elementwise, one axis excluded. */
    private TensorState elementwiseExcept(int index, int skipAxis) {
        NodeProto n = graph.node(index);
        TensorState first = state(n.getInput(0));
        PermutationKind[] labels = new PermutationKind[first.rank()];
        for (String input : n.getInputList()) {
            state(input).labelMap().forEach((a, k) -> labels[a] = k);
        }
        for (int slot = 0; slot < n.getInputCount(); slot++) {
            TensorState s = state(graph.node(index).getInput(slot));
            for (int a = 0; a < labels.length; a++) {
                if (a != skipAxis && labels[a] != null && s.label(a) == null) {
                    demandInput(index, slot, Map.of(a, labels[a]));
                }
            }
        }
        return new TensorState(first.dims(), labels, false);
    }

    private void layerNorm(int index) {
        NodeProto n = graph.node(index);
        TensorState x = state(n.getInput(0));
        if (x.rank() < 0) {
            if (x.labeled()) {
                throw unsupported(n, "rank unknown");
            }
            setAllUnknown(n);
            return;
        }
        int axis = normalize(n, intAttr(n, "axis", -1), x.rank());
        for (int slot = 1; slot < n.getInputCount(); slot++) {
            if (n.getInput(slot).isEmpty()) {
                continue;
            }
            TensorState p = state(graph.node(index).getInput(slot));
            for (Map.Entry<Integer, PermutationKind> e : x.labelMap().entrySet()) {
                int pa = e.getKey() - (x.rank() - p.rank());
                if (e.getKey() >= axis && pa >= 0 && p.label(pa) == null && p.dim(pa) != 1) {
                    demandInput(index, slot, Map.of(pa, e.getValue()));
                }
            }
        }
        setOutput(n, 0, x);
        long[] reducedDims = x.dims();
        PermutationKind[] reducedLabels = x.labels();
        for (int a = axis; a < x.rank(); a++) {
            reducedDims[a] = 1;
            reducedLabels[a] = null;
        }
        for (int o = 1; o < n.getOutputCount(); o++) {
            setOutput(n, o, new TensorState(reducedDims, reducedLabels, false));
        }
    }

    private void skipLayerNorm(int index) {
        NodeProto n = graph.node(index);
        int[] slots = allInputSlots(n);
        TensorState out = elementwise(index, slots);
        setOutput(n, 0, out);
        long[] reduced = out.dims();
        if (reduced != null && reduced.length > 0) {
            reduced[reduced.length - 1] = 1;
        }
        PermutationKind[] reducedLabels = out.labels();
        if (reducedLabels != null && reducedLabels.length > 0) {
            reducedLabels[reducedLabels.length - 1] = null;
        }
        for (int o = 1; o < n.getOutputCount(); o++) {
            setOutput(n, o, o == 3 ? out : new TensorState(reduced, reducedLabels, false));
        }
    }

    // ---------------------------------------------------------------- demands

    /** Makes input {@code slot} of node {@code index} carry {@code want}, rewiring the node if a copy is made. */
    private void demandInput(int index, int slot, Map<Integer, PermutationKind> want) {
        NodeProto n = graph.node(index);
        String name = n.getInput(slot);
        String replacement = demand(name, want, "node '" + n.getName() + "' (" + n.getOpType() + ")");
        if (!replacement.equals(name)) {
            graph.replaceNode(index, graph.node(index).toBuilder().setInput(slot, replacement).build());
        }
    }

    /** Returns the name of a tensor equal to {@code tensor} but carrying {@code want} as well. */
    private String demand(String tensor, Map<Integer, PermutationKind> want, String forWhom) {
        TensorState s = state(tensor);
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
                    + describe(want) + ") for " + forWhom);
        }
        NodeProto p = graph.node(producer);
        int readers = graph.consumersOf(tensor).size() + (graph.isGraphOutput(tensor) ? 1 : 0);
        if (readers > 1) {
            throw unsupported(p, "its output '" + tensor + "' must be permuted by " + describe(want) + " for " + forWhom
                    + ", but other nodes read it too");
        }
        pullBack(producer, tensor, want);
        forward(producer);
        TensorState after = state(tensor);
        for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
            if (after.label(e.getKey()) != e.getValue()) {
                throw unsupported(p, "its output '" + tensor + "' cannot be made to carry " + describe(want)
                        + " for " + forWhom);
            }
        }
        return tensor;
    }

    /** Demands on the inputs of node {@code index} what makes its output {@code tensor} carry {@code want}. */
    private void pullBack(int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = graph.node(index);
        String op = n.getOpType();
        TensorState out = state(tensor);
        int rank = out.rank();
        if (UNARY.contains(op) || SOFTMAX.contains(op)) {
            demandInput(index, 0, want);
        } else if (ELEMENTWISE.contains(op)) {
            for (int slot = 0; slot < n.getInputCount(); slot++) {
                TensorState s = state(graph.node(index).getInput(slot));
                if (s.rank() < 0) {
                    throw unsupported(n, "the rank of its input '" + n.getInput(slot) + "' is unknown, so eestream "
                            + "cannot tell how to permute it");
                }
                Map<Integer, PermutationKind> w = new TreeMap<>();
                for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
                    int a = e.getKey() - (rank - s.rank());
                    if (a >= 0 && s.dim(a) != 1) {
                        w.put(a, e.getValue());
                    }
                }
                if (!w.isEmpty()) {
                    demandInput(index, slot, w);
                }
            }
        } else if (op.equals("MatMul")) {
            TensorState a = state(n.getInput(0));
            TensorState b = state(n.getInput(1));
            for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
                if (e.getKey() == rank - 1 && b.rank() >= 2) {
                    demandInput(index, 1, Map.of(b.rank() - 1, e.getValue()));
                } else if (e.getKey() == rank - 2 && a.rank() >= 2) {
                    demandInput(index, 0, Map.of(a.rank() - 2, e.getValue()));
                } else {
                    throw unsupported(n, "cannot permute MatMul output axis " + e.getKey());
                }
            }
        } else if (op.equals("Gemm")) {
            boolean transA = intAttr(n, "transA", 0) == 1;
            boolean transB = intAttr(n, "transB", 0) == 1;
            for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
                if (e.getKey() == 1) {
                    demandInput(index, 1, Map.of(transB ? 0 : 1, e.getValue()));
                } else {
                    demandInput(index, 0, Map.of(transA ? 1 : 0, e.getValue()));
                }
                if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                    TensorState c = state(n.getInput(2));
                    int ca = e.getKey() - (2 - c.rank());
                    if (ca >= 0 && c.dim(ca) != 1) {
                        demandInput(index, 2, Map.of(ca, e.getValue()));
                    }
                }
            }
        } else if (op.equals("Gather")) {
            TensorState data = state(n.getInput(0));
            int ri = state(n.getInput(1)).rank();
            int axis = normalize(n, intAttr(n, "axis", 0), data.rank());
            Map<Integer, PermutationKind> w = new TreeMap<>();
            for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
                int a = e.getKey();
                if (a < axis) {
                    w.put(a, e.getValue());
                } else if (a >= axis + ri) {
                    w.put(a - ri + 1, e.getValue());
                } else {
                    throw unsupported(n, "cannot permute the gathered axes of Gather output");
                }
            }
            demandInput(index, 0, w);
        } else if (op.equals("Transpose")) {
            int[] perm = transposePerm(n, rank);
            Map<Integer, PermutationKind> w = new TreeMap<>();
            want.forEach((a, k) -> w.put(perm[a], k));
            demandInput(index, 0, w);
        } else {
            throw unsupported(n, "its output '" + tensor + "' would have to be permuted by " + describe(want)
                    + ", and eestream cannot rewrite " + op + " to produce that");
        }
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

    // ---------------------------------------------------------------- helpers

    private void setOutput(NodeProto n, int slot, TensorState s) {
        if (slot < n.getOutputCount() && !n.getOutput(slot).isEmpty()) {
            states.put(n.getOutput(slot), s == null ? TensorState.UNKNOWN : s);
        }
    }

    private void setAllUnknown(NodeProto n) {
        for (int o = 0; o < n.getOutputCount(); o++) {
            setOutput(n, o, TensorState.UNKNOWN);
        }
    }

    private List<TensorState> inputStates(NodeProto n) {
        List<TensorState> out = new ArrayList<>();
        for (String name : n.getInputList()) {
            out.add(name.isEmpty() ? null : state(name));
        }
        return out;
    }

    private static int[] allInputSlots(NodeProto n) {
        return java.util.stream.IntStream.range(0, n.getInputCount()).filter(i -> !n.getInput(i).isEmpty()).toArray();
    }

    /** Axes from the {@code axes} attribute, or from the constant input at {@code slot} (newer opsets). */
    private long[] axesOf(NodeProto n, int slot) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("axes")) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        if (n.getInputCount() > slot && !n.getInput(slot).isEmpty()) {
            long[] axes = constantInts(n, slot);
            if (axes == null) {
                throw unsupported(n, "its axes are computed at run time, so eestream cannot tell which axes it touches");
            }
            return axes;
        }
        return null;
    }

    private long[] constantInts(NodeProto n, int slot) {
        if (n.getInputCount() <= slot || !graph.isInitializer(n.getInput(slot))) {
            return null;
        }
        return OnnxTensors.longValues(graph.initializer(n.getInput(slot)));
    }

    private int[] transposePerm(NodeProto n, int rank) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("perm")) {
                return a.getIntsList().stream().mapToInt(Long::intValue).toArray();
            }
        }
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = rank - 1 - i;
        }
        return perm;
    }

    private static boolean hasAttr(NodeProto n, String name) {
        return n.getAttributeList().stream().anyMatch(a -> a.getName().equals(name));
    }

    private static long intAttr(NodeProto n, String name, long dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    private int normalize(NodeProto n, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw unsupported(n, "axis " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }

    private static long[] inputDims(ValueInfoProto in) {
        if (!in.getType().hasTensorType() || !in.getType().getTensorType().hasShape()) {
            return null;
        }
        List<TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
        return dims.stream().mapToLong(d -> d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1).toArray();
    }

    private static String describe(Map<Integer, PermutationKind> labels) {
        StringBuilder sb = new StringBuilder();
        labels.forEach((a, k) -> sb.append(sb.length() == 0 ? "" : ", ").append(k.symbol()).append(" on axis ").append(a));
        return sb.length() == 0 ? "no permutation" : sb.toString();
    }

    private static UnsupportedModelException unsupported(NodeProto n, String why) {
        String name = n.getName().isEmpty() ? "(unnamed, output " + n.getOutput(0) + ")" : n.getName();
        return new UnsupportedModelException(n.getName(), "cannot encrypt the model at node '" + name + "' ("
                + n.getOpType() + "): " + why);
    }
}
