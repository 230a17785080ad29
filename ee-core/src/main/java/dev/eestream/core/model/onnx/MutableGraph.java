package dev.eestream.core.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.runtime.EeException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An editable view of an ONNX model's main graph: nodes in topological order, initializers by name
 * (Constant nodes are folded into initializers so every constant is rewritable in one way), inputs
 * and outputs. Subgraphs (If/Loop bodies) are not supported.
 */
public final class MutableGraph {
    private final ModelProto.Builder model;
    private final List<NodeProto> nodes;
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final List<ValueInfoProto> inputs;
    private final List<ValueInfoProto> outputs;
    private final int opset;
    private int fresh;

    private MutableGraph(ModelProto source) {
        this.model = source.toBuilder();
        GraphProto graph = source.getGraph();
        this.opset = source.getOpsetImportList().stream()
                .filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToInt(o -> (int) o.getVersion()).findFirst()
                .orElseThrow(() -> new EeException("the model imports no default ONNX opset"));
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Set<String> initNames = initializers.keySet();
        this.inputs = new ArrayList<>(graph.getInputList().stream().filter(i -> !initNames.contains(i.getName())).toList());
        this.outputs = new ArrayList<>(graph.getOutputList());
        this.nodes = new ArrayList<>();
        for (NodeProto node : graph.getNodeList()) {
            for (AttributeProto a : node.getAttributeList()) {
                if (a.hasG() || a.getGraphsCount() > 0) {
                    throw new EeException("node '" + node.getName() + "' (" + node.getOpType()
                            + ") has a subgraph; eestream cannot analyse control flow");
                }
            }
            if (node.getOpType().equals("Constant") && node.getDomain().isEmpty()) {
                initializers.put(node.getOutput(0), constantValue(node));
            } else {
                nodes.add(node);
            }
        }
        topologicalSort();
    }

    public static MutableGraph of(ModelProto model) {
        return new MutableGraph(model);
    }

    public int opset() {
        return opset;
    }

    public List<NodeProto> nodes() {
        return nodes;
    }

    public NodeProto node(int index) {
        return nodes.get(index);
    }

    public void replaceNode(int index, NodeProto node) {
        nodes.set(index, node);
    }

    public void addNode(NodeProto node) {
        nodes.add(node);
    }

    /**
     * Makes an int32 graph input (tf2onnx and keras2onnx export token ids so) an int64 one, cast back to int32
     * for the nodes that read it: a session then feeds every model the same way, and the values are the same.
     *
     * @return whether the input was int32
     */
    public boolean widenInt32Input(String name) {
        Optional<ValueInfoProto> in = input(name);
        if (in.isEmpty() || in.get().getType().getTensorType().getElemType() != TensorProto.DataType.INT32_VALUE) {
            return false;
        }
        String narrow = freshName(name.replaceAll("[^A-Za-z0-9_]", "_") + "_int32");
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            if (n.getInputList().contains(name)) {
                NodeProto.Builder b = n.toBuilder();
                for (int slot = 0; slot < n.getInputCount(); slot++) {
                    if (n.getInput(slot).equals(name)) {
                        b.setInput(slot, narrow);
                    }
                }
                nodes.set(i, b.build());
            }
        }
        nodes.add(0, NodeProto.newBuilder().setName(narrow).setOpType("Cast").addInput(name).addOutput(narrow)
                .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                        .setI(TensorProto.DataType.INT32_VALUE)).build());
        ValueInfoProto.Builder wide = in.get().toBuilder();
        wide.getTypeBuilder().getTensorTypeBuilder().setElemType(TensorProto.DataType.INT64_VALUE);
        inputs.set(inputs.indexOf(in.get()), wide.build());
        return true;
    }

    /** Renames a computed tensor wherever nodes write or read it (graph outputs keep their entries by the old name). */
    public void renameTensor(String from, String to) {
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            if (!n.getInputList().contains(from) && !n.getOutputList().contains(from)) {
                continue;
            }
            NodeProto.Builder b = n.toBuilder();
            for (int slot = 0; slot < n.getInputCount(); slot++) {
                if (n.getInput(slot).equals(from)) {
                    b.setInput(slot, to);
                }
            }
            for (int slot = 0; slot < n.getOutputCount(); slot++) {
                if (n.getOutput(slot).equals(from)) {
                    b.setOutput(slot, to);
                }
            }
            nodes.set(i, b.build());
        }
    }

    public Map<String, TensorProto> initializers() {
        return initializers;
    }

    public boolean isInitializer(String name) {
        return initializers.containsKey(name);
    }

    public TensorProto initializer(String name) {
        return initializers.get(name);
    }

    public void putInitializer(TensorProto t) {
        initializers.put(t.getName(), t);
    }

    public List<ValueInfoProto> inputs() {
        return inputs;
    }

    public List<ValueInfoProto> outputs() {
        return outputs;
    }

    public Optional<ValueInfoProto> input(String name) {
        return inputs.stream().filter(i -> i.getName().equals(name)).findFirst();
    }

    /** A tensor name not used anywhere in the graph yet. */
    public String freshName(String hint) {
        Set<String> used = allNames();
        String name;
        do {
            name = "ee/" + hint + "_" + (fresh++);
        } while (used.contains(name));
        return name;
    }

    private Set<String> allNames() {
        Set<String> used = new HashSet<>(initializers.keySet());
        inputs.forEach(i -> used.add(i.getName()));
        for (NodeProto n : nodes) {
            used.addAll(n.getOutputList());
        }
        return used;
    }

    /** Index of the node producing {@code tensor}, or -1 for inputs and initializers. */
    public int producerOf(String tensor) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getOutputList().contains(tensor)) {
                return i;
            }
        }
        return -1;
    }

    /** Indices of the nodes reading {@code tensor} (a node reading it twice is listed once). */
    public List<Integer> consumersOf(String tensor) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getInputList().contains(tensor)) {
                out.add(i);
            }
        }
        return out;
    }

    public boolean isGraphOutput(String tensor) {
        return outputs.stream().anyMatch(o -> o.getName().equals(tensor));
    }

    /** Removes nodes, initializers and inputs that no graph output depends on. */
    public void prune() {
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            for (String o : nodes.get(i).getOutputList()) {
                producer.put(o, i);
            }
        }
        Set<String> needed = new HashSet<>();
        Set<Integer> keep = new HashSet<>();
        Deque<String> work = new ArrayDeque<>();
        outputs.forEach(o -> work.add(o.getName()));
        while (!work.isEmpty()) {
            String t = work.pop();
            if (t.isEmpty() || !needed.add(t)) {
                continue;
            }
            Integer p = producer.get(t);
            if (p != null && keep.add(p)) {
                work.addAll(nodes.get(p).getInputList());
            }
        }
        List<NodeProto> kept = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (keep.contains(i)) {
                kept.add(nodes.get(i));
            }
        }
        nodes.clear();
        nodes.addAll(kept);
        initializers.keySet().retainAll(needed);
        inputs.removeIf(i -> !needed.contains(i.getName()));
    }

    /** The edited model. Value-info hints about removed or re-laid-out tensors are dropped. */
    public ModelProto build() {
        GraphProto.Builder g = model.getGraphBuilder().clone()
                .clearNode().addAllNode(nodes)
                .clearInitializer().addAllInitializer(initializers.values())
                .clearInput().addAllInput(inputs)
                .clearOutput().addAllOutput(outputs)
                .clearValueInfo();
        return model.clone().setGraph(g).build();
    }

    private void topologicalSort() {
        Set<String> available = new HashSet<>(initializers.keySet());
        inputs.forEach(i -> available.add(i.getName()));
        available.add("");
        List<NodeProto> sorted = new ArrayList<>(nodes.size());
        List<NodeProto> pending = new ArrayList<>(nodes);
        boolean progress = true;
        while (!pending.isEmpty() && progress) {
            progress = false;
            for (var it = pending.iterator(); it.hasNext(); ) {
                NodeProto n = it.next();
                if (available.containsAll(n.getInputList())) {
                    sorted.add(n);
                    available.addAll(n.getOutputList());
                    it.remove();
                    progress = true;
                }
            }
        }
        if (!pending.isEmpty()) {
            NodeProto n = pending.get(0);
            throw new EeException("node '" + n.getName() + "' (" + n.getOpType() + ") reads a tensor nothing produces: "
                    + n.getInputList().stream().filter(i -> !available.contains(i)).toList());
        }
        nodes.clear();
        nodes.addAll(sorted);
    }

    private static TensorProto constantValue(NodeProto node) {
        String name = node.getOutput(0);
        for (AttributeProto a : node.getAttributeList()) {
            switch (a.getName()) {
                case "value":
                    return a.getT().toBuilder().setName(name).build();
                case "value_float":
                    return OnnxTensors.floatTensor(name, new long[0], new float[] {a.getF()});
                case "value_floats":
                    float[] fs = new float[a.getFloatsCount()];
                    for (int i = 0; i < fs.length; i++) {
                        fs[i] = a.getFloats(i);
                    }
                    return OnnxTensors.floatTensor(name, new long[] {fs.length}, fs);
                case "value_int":
                    return OnnxTensors.longTensor(name, new long[0], new long[] {a.getI()});
                case "value_ints":
                    return OnnxTensors.longTensor(name, new long[] {a.getIntsCount()},
                            a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                default:
                    break;
            }
        }
        throw new EeException("Constant node '" + node.getName() + "' has a value form eestream does not read");
    }
}
