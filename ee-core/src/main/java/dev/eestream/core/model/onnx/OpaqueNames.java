package dev.eestream.core.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Makes an EE model say nothing but its computation. A transformed graph still carries the source model's names
 * ({@code embeddings.word_embeddings.weight}, {@code /encoder/layer.0/attention/...}), which tell a server operator which
 * public model to match it against, and the transform's own names ({@code ee/…}), which say which tensors were permuted
 * along which axis. This pass gives every node, initializer and intermediate tensor an opaque sequential name
 * ({@code n0}, {@code t0}: numbered in the order the nodes run, so the numbers carry nothing the graph's shape does not)
 * and drops doc strings, value-info hints, metadata, quantization annotations and the producer's identity. The graph's
 * inputs and outputs keep their names: the manifest and the processor find the model's inputs, its task output and a
 * decoder's {@code past_key_values.*} / {@code present.*} by them. Their symbolic dimensions ({@code batch_size},
 * {@code past_sequence_length + 1}) become {@code d0}, {@code d1}, …, the same name for the same dimension, so ONNX
 * Runtime still sees which dimensions are equal. Local functions that no node calls go; a called one gets an opaque
 * name ({@code f0}) and opaque names inside (its domain stays: nodes and the opset imports refer to it). Opset imports
 * and the IR version stay.
 *
 * <p>Run it on the finished graph, after the analysis: the analysis' refusals name the source model's nodes, which is
 * what the person who owns that model needs to read.
 */
public final class OpaqueNames {
    /** The producer an EE model names: the server knows what an EE model is, not where it came from. */
    public static final String PRODUCER = "eestream";

    private final Map<String, String> names = new HashMap<>();
    private final Set<String> kept = new HashSet<>();
    private int tensors;

    private OpaqueNames(GraphProto graph) {
        names.put("", "");
        graph.getInputList().forEach(this::keep);
        graph.getOutputList().forEach(this::keep);
    }

    /** {@code model} with opaque names and no descriptive fields; the same computation. */
    public static ModelProto scrub(ModelProto model) {
        GraphProto graph = model.getGraph();
        OpaqueNames renamer = new OpaqueNames(graph);
        GraphProto.Builder g = graph.toBuilder().clearNode().clearInitializer().clearInput().clearOutput().clearValueInfo()
                .clearQuantizationAnnotation().clearSparseInitializer().clearDocString().setName("ee");
        // Initializers are listed in the order the nodes first read them: the transform appends its permuted copies
        // at the end of the list, where they would stand out.
        Map<String, TensorProto> unlisted = new LinkedHashMap<>();
        graph.getInitializerList().forEach(t -> unlisted.put(t.getName(), t));
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto node = graph.getNode(i);
            g.addNode(renamer.node(node, i));
            for (String input : node.getInputList()) {
                TensorProto t = unlisted.remove(input);
                if (t != null) {
                    g.addInitializer(renamer.initializer(t));
                }
            }
        }
        unlisted.values().forEach(t -> g.addInitializer(renamer.initializer(t)));
        Map<String, String> dims = new HashMap<>();
        graph.getInputList().forEach(in -> g.addInput(port(in, dims)));
        graph.getOutputList().forEach(out -> g.addOutput(port(out, dims)));
        Map<String, String> functions = calledFunctions(model);
        ModelProto.Builder out = model.toBuilder().clearFunctions();
        for (FunctionProto f : model.getFunctionsList()) {
            String opaque = functions.get(functionKey(f.getDomain(), f.getName()));
            if (opaque != null) {
                out.addFunctions(function(f, opaque, functions));
            }
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            g.setNode(i, calling(g.getNode(i), functions));
        }
        return out.setGraph(g).clearDocString().clearMetadataProps().clearTrainingInfo()
                .setProducerName(PRODUCER).clearProducerVersion().clearDomain().clearModelVersion().build();
    }

    /** A graph input or output: its name stays, its symbolic dimensions become d0, d1, … (one name per dimension name). */
    private static ValueInfoProto port(ValueInfoProto value, Map<String, String> dims) {
        ValueInfoProto.Builder b = value.toBuilder().clearDocString().clearMetadataProps();
        if (b.hasType() && b.getType().hasTensorType() && b.getType().getTensorType().hasShape()) {
            TensorShapeProto.Builder shape = b.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            for (TensorShapeProto.Dimension.Builder d : shape.getDimBuilderList()) {
                d.clearDenotation();
                if (d.hasDimParam()) {
                    d.setDimParam(dims.computeIfAbsent(d.getDimParam(), name -> "d" + dims.size()));
                }
            }
        }
        return b.build();
    }

    /** The local functions the graph calls, directly or through other functions, each with its opaque name. */
    private static Map<String, String> calledFunctions(ModelProto model) {
        Map<String, FunctionProto> local = new HashMap<>();
        model.getFunctionsList().forEach(f -> local.put(functionKey(f.getDomain(), f.getName()), f));
        Map<String, String> called = new LinkedHashMap<>();
        ArrayDeque<NodeProto> pending = new ArrayDeque<>(model.getGraph().getNodeList());
        while (!pending.isEmpty()) {
            NodeProto n = pending.poll();
            String key = functionKey(n.getDomain(), n.getOpType());
            FunctionProto f = local.get(key);
            if (f != null && !called.containsKey(key)) {
                called.put(key, "f" + called.size());
                pending.addAll(f.getNodeList());
            }
        }
        return called;
    }

    private static String functionKey(String domain, String name) {
        return domain + "\0" + name;
    }

    /** The node, calling a local function by its opaque name. */
    private static NodeProto calling(NodeProto n, Map<String, String> functions) {
        String opaque = functions.get(functionKey(n.getDomain(), n.getOpType()));
        return opaque == null ? n : n.toBuilder().setOpType(opaque).build();
    }

    /** A local function under its opaque name, every name in its body opaque (a function's names are its own scope). */
    private static FunctionProto function(FunctionProto f, String opaque, Map<String, String> functions) {
        OpaqueNames body = new OpaqueNames(GraphProto.getDefaultInstance());
        FunctionProto.Builder b = f.toBuilder().setName(opaque).clearDocString().clearValueInfo().clearMetadataProps()
                .clearInput().clearOutput().clearNode();
        f.getInputList().forEach(in -> b.addInput(body.tensor(in)));
        f.getOutputList().forEach(out -> b.addOutput(body.tensor(out)));
        for (int i = 0; i < f.getNodeCount(); i++) {
            b.addNode(calling(body.node(f.getNode(i), i), functions));
        }
        return b.build();
    }

    private void keep(ValueInfoProto value) {
        names.put(value.getName(), value.getName());
        kept.add(value.getName());
    }

    private NodeProto node(NodeProto n, int index) {
        NodeProto.Builder b = n.toBuilder().setName("n" + index).clearDocString().clearInput().clearOutput().clearAttribute();
        n.getInputList().forEach(in -> b.addInput(tensor(in)));
        n.getOutputList().forEach(out -> b.addOutput(tensor(out)));
        n.getAttributeList().forEach(a -> b.addAttribute(attribute(a)));
        return b.build();
    }

    /** An attribute without its doc string; a tensor held in it (ConstantOfShape's value) loses its name too. */
    private static AttributeProto attribute(AttributeProto a) {
        AttributeProto.Builder b = a.toBuilder().clearDocString();
        if (a.hasT()) {
            b.setT(a.getT().toBuilder().clearName().clearDocString());
        }
        return b.build();
    }

    private String tensor(String name) {
        String opaque = names.get(name);
        if (opaque == null) {
            do {
                opaque = "t" + tensors++;
            } while (kept.contains(opaque));
            names.put(name, opaque);
        }
        return opaque;
    }

    private TensorProto initializer(TensorProto t) {
        return t.toBuilder().setName(tensor(t.getName())).clearDocString().build();
    }
}
