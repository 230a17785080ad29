package dev.eestream.core.model.onnx;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;

/**
 * Builds nodes for the task heads eestream appends, in the form the model's default opset expects
 * (axes moved from attributes to inputs in opset 13 for ReduceSum/Unsqueeze and 18 for ReduceMean).
 */
public final class NodeFactory {
    private final MutableGraph graph;

    public NodeFactory(MutableGraph graph) {
        this.graph = graph;
    }

    /** Adds a node {@code op(inputs)} with one fresh output and returns the output's name. */
    public String op(String opType, String... inputs) {
        return add(NodeProto.newBuilder().setOpType(opType).addAllInput(java.util.List.of(inputs)));
    }

    public String cast(String input, int toType) {
        return add(NodeProto.newBuilder().setOpType("Cast").addInput(input).addAttribute(intAttr("to", toType)));
    }

    public String unsqueeze(String input, long axis) {
        return withAxes(NodeProto.newBuilder().setOpType("Unsqueeze").addInput(input), axis, 13);
    }

    public String reduceSum(String input, long axis, boolean keepDims) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType("ReduceSum").addInput(input)
                .addAttribute(intAttr("keepdims", keepDims ? 1 : 0));
        return withAxes(b, axis, 13);
    }

    public String scalar(String hint, float value) {
        String name = graph.freshName(hint);
        graph.putInitializer(OnnxTensors.floatTensor(name, new long[0], new float[] {value}));
        return name;
    }

    private String withAxes(NodeProto.Builder b, long axis, int axesAsInputSince) {
        if (graph.opset() >= axesAsInputSince) {
            String axes = graph.freshName("axes");
            graph.putInitializer(OnnxTensors.longTensor(axes, new long[] {1}, new long[] {axis}));
            b.addInput(axes);
        } else {
            b.addAttribute(AttributeProto.newBuilder().setName("axes").setType(AttributeProto.AttributeType.INTS).addInts(axis));
        }
        return add(b);
    }

    private String add(NodeProto.Builder b) {
        String out = graph.freshName(b.getOpType().toLowerCase(java.util.Locale.ROOT));
        graph.addNode(b.setName(out).addOutput(out).build());
        return out;
    }
}
