package dev.eestream.core.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;

/**
 * Reading a node's attributes, and the constant inputs newer opsets moved some attributes to
 * (axes, shapes), as plain Java values.
 */
public final class OnnxAttributes {
    private OnnxAttributes() {
    }

    public static boolean has(NodeProto n, String name) {
        return n.getAttributeList().stream().anyMatch(a -> a.getName().equals(name));
    }

    /** The INT attribute {@code name}, or {@code dflt} when the node does not set it. */
    public static long intOr(NodeProto n, String name, long dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    /** The INTS attribute {@code name}, or null when the node does not set it. */
    public static long[] ints(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return null;
    }

    /** The values of input {@code slot} when it is an integer constant of the graph, else null. */
    public static long[] constantInts(MutableGraph graph, NodeProto n, int slot) {
        if (n.getInputCount() <= slot || !graph.isInitializer(n.getInput(slot))) {
            return null;
        }
        return OnnxTensors.longValues(graph.initializer(n.getInput(slot)));
    }

    /** {@code axis} counted from the front (ONNX lets negative axes count from the back), or -1 when out of range. */
    public static int normalizeAxis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        return a < 0 || a >= rank ? -1 : (int) a;
    }

    public static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    public static AttributeProto intsAttr(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    public static AttributeProto floatAttr(String name, float value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }
}
