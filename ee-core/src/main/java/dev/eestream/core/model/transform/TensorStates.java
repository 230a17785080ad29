package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What the analysis knows so far of each tensor, by name; a tensor it has not met is {@link TensorState#UNKNOWN}. */
final class TensorStates {
    private final Map<String, TensorState> byName = new HashMap<>();

    /** Graph inputs with their declared shapes (the ids input marked as ciphertext token ids), constants plain. */
    static TensorStates initial(MutableGraph graph, String idsInput) {
        TensorStates states = new TensorStates();
        for (ValueInfoProto in : graph.inputs()) {
            states.put(in.getName(), new TensorState(declaredDims(in), null, in.getName().equals(idsInput)));
        }
        graph.initializers().forEach((name, t) -> states.put(name, TensorState.plain(OnnxTensors.dims(t))));
        return states;
    }

    TensorState get(String tensor) {
        return byName.getOrDefault(tensor, TensorState.UNKNOWN);
    }

    void put(String tensor, TensorState state) {
        byName.put(tensor, state);
    }

    /** The states of the node's inputs, in order; null for an omitted optional input. */
    List<TensorState> inputsOf(NodeProto n) {
        List<TensorState> out = new ArrayList<>();
        for (String name : n.getInputList()) {
            out.add(name.isEmpty() ? null : get(name));
        }
        return out;
    }

    /** Records the node's output states in order; omitted outputs are skipped, a null state is unknown. */
    void putOutputs(NodeProto n, List<TensorState> outputs) {
        for (int slot = 0; slot < outputs.size() && slot < n.getOutputCount(); slot++) {
            if (!n.getOutput(slot).isEmpty()) {
                TensorState s = outputs.get(slot);
                put(n.getOutput(slot), s == null ? TensorState.UNKNOWN : s);
            }
        }
    }

    private static long[] declaredDims(ValueInfoProto in) {
        if (!in.getType().hasTensorType() || !in.getType().getTensorType().hasShape()) {
            return null;
        }
        List<TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
        return dims.stream().mapToLong(d -> d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : -1).toArray();
    }
}
