package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.core.key.PermutationKind;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * Broadcasting elementwise ops: an output axis is permuted when any operand's is, and every operand
 * that spans that axis must then be permuted alike (a constant bias gets a permuted copy).
 */
final class ElementwiseRule implements OpRule {
    @Override
    public List<TensorState> forward(RuleContext c, int index) {
        return OpRule.first(broadcast(c, index, presentInputs(c.node(index))));
    }

    @Override
    public void pullBack(RuleContext c, int index, String tensor, Map<Integer, PermutationKind> want) {
        NodeProto n = c.node(index);
        int rank = c.state(tensor).rank();
        for (int slot = 0; slot < n.getInputCount(); slot++) {
            TensorState s = c.state(c.node(index).getInput(slot));
            if (s.rank() < 0) {
                throw UnsupportedModelException.at(n, "the rank of its input '" + n.getInput(slot) + "' is unknown, "
                        + "so eestream cannot tell how to permute it");
            }
            Map<Integer, PermutationKind> w = new TreeMap<>();
            for (Map.Entry<Integer, PermutationKind> e : want.entrySet()) {
                int a = e.getKey() - (rank - s.rank());
                if (a >= 0 && s.dim(a) != 1) {
                    w.put(a, e.getValue());
                }
            }
            if (!w.isEmpty()) {
                c.demandInput(index, slot, w);
            }
        }
    }

    /** The input slots that are not omitted optional inputs. */
    static int[] presentInputs(NodeProto n) {
        return IntStream.range(0, n.getInputCount()).filter(i -> !n.getInput(i).isEmpty()).toArray();
    }

    /**
     * The state of the broadcast of the inputs in {@code slots}; an operand spanning a permuted axis
     * without carrying the permutation is demanded to carry it.
     */
    static TensorState broadcast(RuleContext c, int index, int[] slots) {
        NodeProto n = c.node(index);
        List<TensorState> in = c.inputStates(n);
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
                throw UnsupportedModelException.at(n, "the rank of an operand of " + n.getOpType() + " is unknown, so "
                        + "eestream cannot prove how it broadcasts against a permuted tensor");
            }
            return TensorState.UNKNOWN;
        }
        PermutationKind[] labels = new PermutationKind[rank];
        for (int axis = 0; axis < rank; axis++) {
            for (int slot : slots) {
                TensorState s = in.get(slot);
                PermutationKind k = s == null ? null : s.label(axis - (rank - s.rank()));
                if (k != null && labels[axis] != null && labels[axis] != k) {
                    throw UnsupportedModelException.at(n, "operands are permuted differently on axis " + axis + " ("
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
                c.demandInput(index, slot, Map.of(a, labels[axis]));
                in = c.inputStates(c.node(index));
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
}
