package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * A float32 model in ONNX Runtime's static QDQ format ({@code quantize_static(..., quant_format=QDQ)}): every 2-D
 * float weight and table becomes int8 behind a DequantizeLinear (symmetric; per tensor, or per row for the token
 * table), and every activation a MatMul reads passes a QuantizeLinear/DequantizeLinear pair with a fixed uint8 scale
 * (calibration would choose it; equivalence does not depend on the value). No QDQ model ships in a reachable
 * package, so tests quantize one.
 */
final class QdqModels {
    /** The activations' scale: ±12.7 in 8 bits, around zero point 128. */
    private static final float ACTIVATION_SCALE = 0.1f;

    private QdqModels() {
    }

    static ModelProto quantizeStatic(ModelProto source, String tokenTable, boolean perRowTable) {
        GraphProto.Builder g = source.getGraph().toBuilder().clearInitializer().clearNode();
        GraphProto original = source.getGraph();
        int[] counter = {0};
        for (TensorProto t : original.getInitializerList()) {
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getDimsCount() == 2) {
                boolean perRow = perRowTable && t.getName().equals(tokenTable);
                quantizeWeight(g, t, perRow);
            } else {
                g.addInitializer(t);
            }
        }
        g.addInitializer(OnnxTensors.floatTensor("act_scale", new long[0], new float[] {ACTIVATION_SCALE}));
        g.addInitializer(TensorProto.newBuilder().setName("act_zero").setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(ByteString.copyFrom(new byte[] {(byte) 128})).build());
        Set<String> weights = new HashSet<>();
        original.getInitializerList().forEach(t -> weights.add(t.getName()));
        for (NodeProto n : original.getNodeList()) {
            if (!n.getOpType().equals("MatMul")) {
                g.addNode(n);
                continue;
            }
            NodeProto.Builder b = n.toBuilder();
            for (int slot = 0; slot < 2; slot++) {
                String x = n.getInput(slot);
                if (weights.contains(x)) {
                    continue;
                }
                String q = x + "_QuantizeLinear_" + counter[0]++;
                String dq = q + "_DequantizeLinear";
                g.addNode(NodeProto.newBuilder().setName(q).setOpType("QuantizeLinear").addInput(x).addInput("act_scale")
                        .addInput("act_zero").addOutput(q));
                g.addNode(NodeProto.newBuilder().setName(dq).setOpType("DequantizeLinear").addInput(q).addInput("act_scale")
                        .addInput("act_zero").addOutput(dq));
                b.setInput(slot, dq);
            }
            g.addNode(b);
        }
        return source.toBuilder().setGraph(g).build();
    }

    /** {@code t} as int8 {@code t_quantized} with its scale, dequantized back under its own name. */
    private static void quantizeWeight(GraphProto.Builder g, TensorProto t, boolean perRow) {
        long[] dims = OnnxTensors.dims(t);
        int rows = Math.toIntExact(dims[0]);
        int cols = Math.toIntExact(dims[1]);
        ByteBuffer in = ByteBuffer.wrap(OnnxTensors.rawBytes(t)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[rows * cols];
        in.asFloatBuffer().get(v);
        float[] scales = new float[perRow ? rows : 1];
        for (int i = 0; i < v.length; i++) {
            int s = perRow ? i / cols : 0;
            scales[s] = Math.max(scales[s], Math.abs(v[i]) / 127f);
        }
        byte[] q = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            float scale = scales[perRow ? i / cols : 0];
            q[i] = (byte) Math.max(-127, Math.min(127, Math.round(scale == 0 ? 0 : v[i] / scale)));
        }
        String name = t.getName();
        g.addInitializer(TensorProto.newBuilder().setName(name + "_quantized").setDataType(TensorProto.DataType.INT8_VALUE)
                .addDims(rows).addDims(cols).setRawData(ByteString.copyFrom(q)));
        g.addInitializer(OnnxTensors.floatTensor(name + "_scale", perRow ? new long[] {rows} : new long[0], scales));
        byte[] zeros = new byte[scales.length];
        g.addInitializer(TensorProto.newBuilder().setName(name + "_zero_point").setDataType(TensorProto.DataType.INT8_VALUE)
                .addAllDims(perRow ? java.util.List.of((long) rows) : java.util.List.of()).setRawData(ByteString.copyFrom(zeros)));
        NodeProto.Builder dq = NodeProto.newBuilder().setName(name + "_DequantizeLinear").setOpType("DequantizeLinear")
                .addInput(name + "_quantized").addInput(name + "_scale").addInput(name + "_zero_point").addOutput(name);
        if (perRow) {
            dq.addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0));
        }
        g.addNode(dq);
    }
}
