package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A tiny model around the node under test ({@value #NODE}, output {@value #OUTPUT}), built in code:
 * graph inputs declared to arrive permuted on one axis, plain inputs, ciphertext ids, random constants,
 * and sometimes a producer node in front. It also makes the inputs to run the model on, plaintext and
 * encrypted.
 */
final class RuleGraph {
    static final String NODE = "rule";
    static final String OUTPUT = "y";
    static final String PRODUCER = "producer";
    /** The hidden width and the vocabulary of these graphs; other axes have sizes 1 to 3 or 5, never these. */
    static final int D = 4;
    static final int V = 6;
    static final Map<PermutationKind, Permutation> PERMUTATIONS = Map.of(
            PermutationKind.HIDDEN, Permutation.of(new int[] {2, 0, 3, 1}),
            PermutationKind.VOCAB, Permutation.of(new int[] {3, 5, 0, 4, 1, 2}),
            PermutationKind.LABELS, Permutation.of(new int[] {1, 3, 0, 2}));

    /** A graph input: its type, shape (null: rank unknown) and the axis it arrives permuted on, if any. */
    record Input(String name, int type, long[] shape, Integer permutedAxis, PermutationKind kind) {
    }

    private final Random random = new Random(11);
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("rule");
    private final Map<String, Input> inputs = new LinkedHashMap<>();
    private final List<String> extraOutputs = new ArrayList<>();
    private String idsInput;
    private int opset = 17;
    private boolean contrib;
    private boolean hiddenPermutation = true;
    private int outputType = TensorProto.DataType.FLOAT_VALUE;

    /** A float input [dims] arriving permuted by {@code kind} on {@code axis}. */
    RuleGraph permuted(String name, int axis, PermutationKind kind, long... dims) {
        inputs.put(name, new Input(name, TensorProto.DataType.FLOAT_VALUE, dims, axis, kind));
        return this;
    }

    /** A float input [dims] in the plaintext basis. */
    RuleGraph plain(String name, long... dims) {
        inputs.put(name, new Input(name, TensorProto.DataType.FLOAT_VALUE, dims, null, null));
        return this;
    }

    /** A float input whose rank is not declared. */
    RuleGraph unshaped(String name) {
        inputs.put(name, new Input(name, TensorProto.DataType.FLOAT_VALUE, null, null, null));
        return this;
    }

    /** An int64 input, e.g. a shape computed at run time. */
    RuleGraph longInput(String name, long... dims) {
        inputs.put(name, new Input(name, TensorProto.DataType.INT64_VALUE, dims, null, null));
        return this;
    }

    /** The token-id input: ciphertext ids in [0, {@value #V}). */
    RuleGraph ids(String name, long... dims) {
        inputs.put(name, new Input(name, TensorProto.DataType.INT64_VALUE, dims, null, null));
        idsInput = name;
        return this;
    }

    /** A float constant with random values in [0.5, 1.5), safe to divide by. */
    RuleGraph constant(String name, long... dims) {
        float[] v = new float[(int) OnnxTensors.elementCount(dims)];
        for (int i = 0; i < v.length; i++) {
            v[i] = 0.5f + random.nextFloat();
        }
        graph.addInitializer(OnnxTensors.floatTensor(name, dims, v));
        return this;
    }

    RuleGraph scalar(String name, float value) {
        graph.addInitializer(OnnxTensors.floatTensor(name, new long[0], new float[] {value}));
        return this;
    }

    RuleGraph longs(String name, long[] dims, long... values) {
        graph.addInitializer(OnnxTensors.longTensor(name, dims, values));
        return this;
    }

    /** The node under test, reading {@code inputs}. */
    RuleGraph node(String op, String... inputs) {
        return node(op, List.of(), inputs);
    }

    RuleGraph node(String op, List<AttributeProto> attributes, String... inputs) {
        return add("", NODE, OUTPUT, op, attributes, inputs);
    }

    /** The node under test as an onnxruntime contrib op (domain com.microsoft). */
    RuleGraph contribNode(String op, List<AttributeProto> attributes, String... inputs) {
        contrib = true;
        return add("com.microsoft", NODE, OUTPUT, op, attributes, inputs);
    }

    RuleGraph nodeInDomain(String domain, String op, String... inputs) {
        return add(domain, NODE, OUTPUT, op, List.of(), inputs);
    }

    /** A node in front of the node under test, named {@value #PRODUCER}, whose output is {@code output}. */
    RuleGraph producer(String output, String op, List<AttributeProto> attributes, String... inputs) {
        return add("", PRODUCER, output, op, attributes, inputs);
    }

    /** A producer that is an onnxruntime contrib op (domain com.microsoft). */
    RuleGraph contribProducer(String output, String op, List<AttributeProto> attributes, String... inputs) {
        contrib = true;
        return add("com.microsoft", PRODUCER, output, op, attributes, inputs);
    }

    /** A uint8 constant with random bytes, e.g. packed 4-bit weights. */
    RuleGraph bytes(String name, long... dims) {
        byte[] v = new byte[(int) OnnxTensors.elementCount(dims)];
        random.nextBytes(v);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(com.google.protobuf.ByteString.copyFrom(v));
        for (long d : dims) {
            t.addDims(d);
        }
        graph.addInitializer(t);
        return this;
    }

    /** Makes {@code tensor} a graph output too, so the node under test is not its only reader. */
    RuleGraph alsoOutput(String tensor) {
        extraOutputs.add(tensor);
        return this;
    }

    RuleGraph opset(int version) {
        opset = version;
        return this;
    }

    RuleGraph withoutHiddenPermutation() {
        hiddenPermutation = false;
        return this;
    }

    RuleGraph int64Output() {
        outputType = TensorProto.DataType.INT64_VALUE;
        return this;
    }

    boolean hiddenPermutation() {
        return hiddenPermutation;
    }

    String idsInput() {
        return idsInput;
    }

    List<Input> inputs() {
        return List.copyOf(inputs.values());
    }

    ModelProto model() {
        GraphProto.Builder g = graph.clone();
        for (Input in : inputs.values()) {
            g.addInput(valueInfo(in.name(), in.type(), in.shape()));
        }
        g.addOutput(valueInfo(OUTPUT, outputType, null));
        extraOutputs.forEach(o -> g.addOutput(valueInfo(o, TensorProto.DataType.FLOAT_VALUE, null)));
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(opset >= 23 ? 11 : 8).setProducerName("eestream-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
        if (contrib) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        }
        return m.setGraph(g).build();
    }

    /** What the analysis starts from: the declared inputs, with the permuted ones labelled. */
    TensorStates initialStates(MutableGraph g) {
        TensorStates states = TensorStates.initial(g, idsInput);
        for (Input in : inputs.values()) {
            if (in.permutedAxis() != null) {
                PermutationKind[] labels = new PermutationKind[in.shape().length];
                labels[in.permutedAxis()] = in.kind();
                states.put(in.name(), states.get(in.name()).withLabels(labels));
            }
        }
        return states;
    }

    private RuleGraph add(String domain, String name, String output, String op, List<AttributeProto> attributes,
            String... inputNames) {
        graph.addNode(NodeProto.newBuilder().setName(name).setDomain(domain).setOpType(op)
                .addAllInput(List.of(inputNames)).addOutput(output).addAllAttribute(attributes));
        return this;
    }

    private static ValueInfoProto valueInfo(String name, int type, long[] dims) {
        TypeProto.Tensor.Builder tensor = TypeProto.Tensor.newBuilder().setElemType(type);
        if (dims != null) {
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
            for (long d : dims) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
            }
            tensor.setShape(shape);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(tensor)).build();
    }
}
