package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A float32 model made float16 the way onnxconverter-common's {@code convert_float_to_float16} does without
 * {@code keep_io_types}: every float initializer and every Cast to float becomes float16, and so do float outputs.
 * No float16 model ships in a reachable package, so tests convert one.
 */
final class Float16Models {
    private Float16Models() {
    }

    static ModelProto convert(ModelProto source) {
        GraphProto.Builder g = source.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) {
                g.setInitializer(i, half(t));
            }
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            NodeProto.Builder b = n.toBuilder();
            for (int a = 0; a < n.getAttributeCount(); a++) {
                AttributeProto attr = n.getAttribute(a);
                if (n.getOpType().equals("Cast") && attr.getName().equals("to") && attr.getI() == TensorProto.DataType.FLOAT_VALUE) {
                    b.setAttribute(a, attr.toBuilder().setI(TensorProto.DataType.FLOAT16_VALUE));
                }
                if (n.getOpType().equals("Constant") && attr.hasT() && attr.getT().getDataType() == TensorProto.DataType.FLOAT_VALUE) {
                    b.setAttribute(a, attr.toBuilder().setT(half(attr.getT())));
                }
            }
            g.setNode(i, b);
        }
        for (int i = 0; i < g.getOutputCount(); i++) {
            ValueInfoProto.Builder out = g.getOutput(i).toBuilder();
            if (out.getType().getTensorType().getElemType() == TensorProto.DataType.FLOAT_VALUE) {
                out.getTypeBuilder().getTensorTypeBuilder().setElemType(TensorProto.DataType.FLOAT16_VALUE);
            }
            g.setOutput(i, out);
        }
        g.clearValueInfo();
        return source.toBuilder().setGraph(g).build();
    }

    private static TensorProto half(TensorProto t) {
        ByteBuffer in = ByteBuffer.wrap(OnnxTensors.rawBytes(t)).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(in.remaining() / 2).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            out.putShort(toHalf(in.getFloat()));
        }
        return t.toBuilder().clearFloatData().setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .setRawData(ByteString.copyFrom(out.array())).build();
    }

    /** IEEE half precision, rounding to nearest even; values below the smallest normal flush to zero. */
    static short toHalf(float value) {
        int bits = Float.floatToIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int magnitude = bits & 0x7fffffff;
        if (magnitude >= 0x7f800000) {
            return (short) (sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0));
        }
        if (magnitude >= 0x477ff000) {
            return (short) (sign | 0x7c00);
        }
        if (magnitude < 0x38800000) {
            return (short) sign;
        }
        int exponent = (magnitude >>> 23) - 127 + 15;
        int mantissa = magnitude & 0x7fffff;
        int half = (exponent << 10) | (mantissa >>> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }
}
