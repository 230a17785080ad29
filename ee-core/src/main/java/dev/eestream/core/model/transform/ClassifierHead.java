package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxAttributes;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.util.List;
import java.util.Optional;

/**
 * A fine-tuned classifier's own head, as Hugging Face exports {@code AutoModelForSequenceClassification}:
 * a graph output {@code logits} of shape [batch, C] (or the rank-2 output named as the source output).
 * The class count comes from the output's declared shape, else from the weight of the layer that
 * produces it (Gemm, or MatMul plus a bias).
 *
 * @param output     the graph output holding the class logits
 * @param classCount C, the number of classes
 */
public record ClassifierHead(String output, int classCount) {
    /** The name Hugging Face exports give a classifier's scores, and the name the EE model keeps. */
    public static final String LOGITS = "logits";

    /** The model's own classifier head, if it has one; {@code requested} is the source output asked for, or null. */
    public static Optional<ClassifierHead> find(ModelProto model, String requested) {
        // Most models have no such output: look before building the editable graph (a copy of the weights).
        if (candidate(model.getGraph().getOutputList(), requested).isEmpty()) {
            return Optional.empty();
        }
        return find(MutableGraph.of(model), requested);
    }

    static Optional<ClassifierHead> find(MutableGraph graph, String requested) {
        Optional<ValueInfoProto> output = candidate(graph.outputs(), requested);
        if (output.isEmpty()) {
            return Optional.empty();
        }
        String name = output.get().getName();
        long declared = output.get().getType().getTensorType().getShape().getDim(1).getDimValue();
        long classes = declared > 0 ? declared : classesFromProducer(graph, name);
        if (classes < 2) {
            throw new UnsupportedModelException(null, "the classifier output '" + name + "' has " + classes
                    + " class; a classifier needs at least two");
        }
        return Optional.of(new ClassifierHead(name, Math.toIntExact(classes)));
    }

    /** The requested output when it has rank 2, else an output named {@code logits} of rank 2. */
    private static Optional<ValueInfoProto> candidate(List<ValueInfoProto> outputs, String requested) {
        String wanted = requested != null ? requested : LOGITS;
        return outputs.stream().filter(out -> out.getName().equals(wanted) && rank(out) == 2).findFirst();
    }

    private static int rank(ValueInfoProto value) {
        TensorShapeProto shape = value.getType().getTensorType().getShape();
        return value.getType().getTensorType().hasShape() ? shape.getDimCount() : -1;
    }

    /** C from the weight that writes the output's last axis: Gemm's B, or the bias or weight of a MatMul + Add. */
    private static long classesFromProducer(MutableGraph graph, String tensor) {
        int index = graph.producerOf(tensor);
        while (index >= 0 && graph.node(index).getOpType().equals("Identity")) {
            index = graph.producerOf(graph.node(index).getInput(0));
        }
        if (index < 0) {
            throw new UnsupportedModelException(null, "the classifier output '" + tensor + "' declares no class count "
                    + "and no layer produces it");
        }
        NodeProto producer = graph.node(index);
        long classes = switch (producer.getOpType()) {
            case "Gemm" -> lastAxisOfWeight(graph, producer.getInput(1), OnnxAttributes.intOr(producer, "transB", 0) == 1);
            case "MatMul" -> lastAxisOfWeight(graph, producer.getInput(1), false);
            case "Add" -> Math.max(vectorLength(graph, producer.getInput(0)), vectorLength(graph, producer.getInput(1)));
            default -> -1;
        };
        if (classes <= 0) {
            throw UnsupportedModelException.at(producer, "the classifier output '" + tensor + "' declares no class count, "
                    + "and it is not written by a Gemm, MatMul or bias Add over a constant weight to read it from");
        }
        return classes;
    }

    /** The class axis of a constant 2-D weight: rows when transposed ([C, d]), else columns ([d, C]); -1 when not constant. */
    private static long lastAxisOfWeight(MutableGraph graph, String weight, boolean transposed) {
        if (!graph.isInitializer(weight)) {
            return -1;
        }
        long[] dims = OnnxTensors.dims(graph.initializer(weight));
        return dims.length != 2 ? -1 : transposed ? dims[0] : dims[1];
    }

    private static long vectorLength(MutableGraph graph, String bias) {
        if (!graph.isInitializer(bias)) {
            return -1;
        }
        long[] dims = OnnxTensors.dims(graph.initializer(bias));
        return dims.length == 1 ? dims[0] : -1;
    }
}
