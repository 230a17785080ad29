package dev.eestream.core.model.synthetic;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static dev.eestream.core.model.onnx.OnnxAttributes.intsAttr;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Writes a new ONNX graph node by node, with initializers drawn from one seeded generator, so the
 * same seed gives the same model byte for byte. Each builder method returns the name of the tensor
 * it made; fresh names carry a running counter.
 */
public final class SyntheticGraph {
    private final Random random;
    private final int opset;
    private final GraphProto.Builder graph;
    private int counter;

    public SyntheticGraph(String name, long seed, int opset) {
        this.random = new Random(seed);
        this.opset = opset;
        this.graph = GraphProto.newBuilder().setName(name);
    }

    /** Declares a graph input; each dimension is a size (a number) or a symbolic name. */
    public void input(String name, int type, Object... dims) {
        graph.addInput(valueInfo(name, type, dims));
    }

    /** Declares a float graph output. */
    public void output(String name, Object... dims) {
        graph.addOutput(valueInfo(name, TensorProto.DataType.FLOAT_VALUE, dims));
    }

    /** Normal values scaled by 1/√(first dimension), the fan-in of a weight read as [in, out]. */
    public String fanInScaled(String name, int... dims) {
        return normal(name, 0, 1.0 / Math.sqrt(dims[0]), dims);
    }

    /** Normal values with standard deviation {@code std}. */
    public String gaussian(String name, double std, int... dims) {
        return normal(name, 0, std, dims);
    }

    /** Normal values with mean {@code mean} and standard deviation {@code std}. */
    public String gaussianAround(String name, double mean, double std, int... dims) {
        return normal(name, mean, std, dims);
    }

    private String normal(String name, double mean, double std, int... dims) {
        int n = 1;
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            n = Math.multiplyExact(n, dims[i]);
            d[i] = dims[i];
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + random.nextGaussian() * std);
        }
        return floats(name, d, v);
    }

    public String floats(String name, long[] dims, float[] values) {
        graph.addInitializer(OnnxTensors.floatTensor(name, dims, values));
        return name;
    }

    /** An INT64 initializer; the name gets the counter, since shapes and axes recur. */
    public String longs(String name, long[] dims, long... values) {
        String unique = name + "_" + (counter++);
        graph.addInitializer(OnnxTensors.longTensor(unique, dims, values));
        return unique;
    }

    public String scalar(float v) {
        return floats("c" + (counter++), new long[0], new float[] {v});
    }

    public String node(String op, String... inputs) {
        return nodeWith(op, List.of(), inputs);
    }

    public String nodeWith(String op, List<AttributeProto> attrs, String... inputs) {
        return namedWith(op.toLowerCase(Locale.ROOT) + "_" + (counter++), op, attrs, inputs);
    }

    /** A node whose output is named {@code name} (e.g. a graph output). */
    public String named(String name, String op, String... inputs) {
        return namedWith(name, op, List.of(), inputs);
    }

    public String namedWith(String name, String op, List<AttributeProto> attrs, String... inputs) {
        graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs)).addOutput(name)
                .addAllAttribute(attrs));
        return name;
    }

    /** A node with {@code outputs} outputs, e.g. Split. */
    public String[] multi(String op, List<AttributeProto> attrs, int outputs, String... inputs) {
        String name = op.toLowerCase(Locale.ROOT) + "_" + (counter++);
        NodeProto.Builder n = NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(List.of(inputs))
                .addAllAttribute(attrs);
        String[] out = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            out[i] = name + "_out" + i;
            n.addOutput(out[i]);
        }
        graph.addNode(n);
        return out;
    }

    public String gather(String table, String ids) {
        return node("Gather", table, ids);
    }

    /** Cast to float. */
    public String cast(String x) {
        return nodeWith("Cast", List.of(intAttr("to", TensorProto.DataType.FLOAT_VALUE)), x);
    }

    /** Unsqueeze in the form the opset expects: axes became an input in opset 13. */
    public String unsqueeze(String x, long axis) {
        return opset >= 13 ? node("Unsqueeze", x, longs("axes", new long[] {1}, axis))
                : nodeWith("Unsqueeze", List.of(intsAttr("axes", axis)), x);
    }

    public String transpose(String x, long... perm) {
        return nodeWith("Transpose", List.of(intsAttr("perm", perm)), x);
    }

    /** Gives {@code x} the name {@code name} through an Identity node. */
    public String identityNamed(String x, String name) {
        graph.addNode(NodeProto.newBuilder().setName(name).setOpType("Identity").addInput(x).addOutput(name));
        return name;
    }

    public ModelProto build(String producer) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName(producer)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph).build();
    }

    /** A tensor input or output; a dimension is a number or, for a symbolic one, its name. */
    public static ValueInfoProto valueInfo(String name, int type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            shape.addDim(d instanceof Number n ? TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue())
                    : TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
    }
}
