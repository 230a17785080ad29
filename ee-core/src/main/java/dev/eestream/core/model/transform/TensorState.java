package dev.eestream.core.model.transform;

import dev.eestream.core.key.PermutationKind;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the analysis knows of one tensor: its shape (rank and the dims it could infer, -1 where
 * unknown, {@code null} dims when even the rank is unknown), which axes carry a permutation, and
 * whether its values are ciphertext token ids.
 */
final class TensorState {
    static final TensorState UNKNOWN = new TensorState(null, null, false);

    private final long[] dims;
    private final PermutationKind[] labels;
    private final boolean encryptedIds;

    TensorState(long[] dims, PermutationKind[] labels, boolean encryptedIds) {
        this.dims = dims == null ? null : dims.clone();
        this.labels = labels == null ? (dims == null ? null : new PermutationKind[dims.length]) : labels.clone();
        this.encryptedIds = encryptedIds;
    }

    static TensorState plain(long[] dims) {
        return new TensorState(dims, null, false);
    }

    int rank() {
        return dims == null ? -1 : dims.length;
    }

    long[] dims() {
        return dims == null ? null : dims.clone();
    }

    /** The size of {@code axis}, or -1 when unknown. */
    long dim(int axis) {
        return dims == null || axis < 0 || axis >= dims.length ? -1 : dims[axis];
    }

    PermutationKind label(int axis) {
        return labels == null || axis < 0 || axis >= labels.length ? null : labels[axis];
    }

    PermutationKind[] labels() {
        return labels == null ? null : labels.clone();
    }

    boolean labeled() {
        return labels != null && Arrays.stream(labels).anyMatch(l -> l != null);
    }

    boolean encryptedIds() {
        return encryptedIds;
    }

    /** The labelled axes, in order. */
    Map<Integer, PermutationKind> labelMap() {
        Map<Integer, PermutationKind> m = new TreeMap<>();
        if (labels != null) {
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] != null) {
                    m.put(i, labels[i]);
                }
            }
        }
        return m;
    }

    TensorState withLabels(PermutationKind[] newLabels) {
        return new TensorState(dims, newLabels, encryptedIds);
    }

    String describe() {
        StringBuilder sb = new StringBuilder(dims == null ? "rank ?" : Arrays.toString(dims).replace("-1", "?"));
        labelMap().forEach((axis, kind) -> sb.append(", axis ").append(axis).append(" permuted by ").append(kind.symbol()));
        if (encryptedIds) {
            sb.append(", ciphertext token ids");
        }
        return sb.toString();
    }

    /** E.g. "ρ on axis 2", or "no permutation". */
    static String describe(Map<Integer, PermutationKind> labels) {
        StringBuilder sb = new StringBuilder();
        labels.forEach((a, k) -> sb.append(sb.length() == 0 ? "" : ", ").append(k.symbol()).append(" on axis ").append(a));
        return sb.length() == 0 ? "no permutation" : sb.toString();
    }
}
