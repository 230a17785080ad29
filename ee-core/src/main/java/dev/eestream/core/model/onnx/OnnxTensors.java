package dev.eestream.core.model.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.eestream.core.key.Permutation;
import dev.eestream.runtime.EeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Reading, building and permuting ONNX initializers. All data is handled as little-endian raw bytes. */
public final class OnnxTensors {
    private OnnxTensors() {
    }

    public static long[] dims(TensorProto t) {
        long[] dims = new long[t.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = t.getDims(i);
        }
        return dims;
    }

    public static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    public static int elementSize(int dataType) {
        return switch (TensorProto.DataType.forNumber(dataType)) {
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64 -> 8;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            case INT8, UINT8, BOOL -> 1;
            default -> throw new EeException("unsupported initializer data type " + TensorProto.DataType.forNumber(dataType));
        };
    }

    /** The tensor's data as little-endian raw bytes, whichever field it is stored in. */
    public static byte[] rawBytes(TensorProto t) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new EeException("initializer '" + t.getName() + "' keeps its data in an external file; "
                    + "eestream reads self-contained .onnx files only (re-save the model without external data)");
        }
        if (!t.getRawData().isEmpty()) {
            return t.getRawData().toByteArray();
        }
        long count = elementCount(dims(t));
        TensorProto.DataType type = TensorProto.DataType.forNumber(t.getDataType());
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * elementSize(t.getDataType()))).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FLOAT -> t.getFloatDataList().forEach(buf::putFloat);
            case DOUBLE -> t.getDoubleDataList().forEach(buf::putDouble);
            case INT64 -> t.getInt64DataList().forEach(buf::putLong);
            case UINT64 -> t.getUint64DataList().forEach(buf::putLong);
            case INT32 -> t.getInt32DataList().forEach(buf::putInt);
            case INT16, UINT16, FLOAT16, BFLOAT16 -> t.getInt32DataList().forEach(v -> buf.putShort((short) (int) v));
            case INT8, UINT8, BOOL -> t.getInt32DataList().forEach(v -> buf.put((byte) (int) v));
            case UINT32 -> t.getUint64DataList().forEach(v -> buf.putInt((int) (long) v));
            default -> throw new EeException("unsupported initializer data type " + type + " in '" + t.getName() + "'");
        }
        if (buf.position() != buf.capacity()) {
            throw new EeException("initializer '" + t.getName() + "' holds " + buf.position() / elementSize(t.getDataType())
                    + " values for shape of " + count);
        }
        return buf.array();
    }

    /** Values of an integer tensor (INT64 or INT32), e.g. a shape or an axes list. */
    public static long[] longValues(TensorProto t) {
        ByteBuffer buf = ByteBuffer.wrap(rawBytes(t)).order(ByteOrder.LITTLE_ENDIAN);
        int type = t.getDataType();
        int n = (int) elementCount(dims(t));
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            if (type == TensorProto.DataType.INT64_VALUE) {
                out[i] = buf.getLong();
            } else if (type == TensorProto.DataType.INT32_VALUE) {
                out[i] = buf.getInt();
            } else {
                throw new EeException("expected an integer tensor in '" + t.getName() + "'");
            }
        }
        return out;
    }

    /**
     * A copy of {@code t} under {@code newName} whose axis {@code axis} is permuted by {@code perm}:
     * the slice at index {@code k} moves to index {@code perm.apply(k)}.
     */
    public static TensorProto permuteAxis(TensorProto t, String newName, int axis, Permutation perm) {
        long[] dims = dims(t);
        if (axis < 0 || axis >= dims.length || dims[axis] != perm.size()) {
            throw new IllegalArgumentException("cannot permute axis " + axis + " of '" + t.getName() + "' " + java.util.Arrays.toString(dims)
                    + " by a permutation of size " + perm.size());
        }
        // v'[apply(k)] = v[k]: entry j of the new axis is entry invert(j) of the old one.
        int[] sourceOf = new int[perm.size()];
        for (int j = 0; j < sourceOf.length; j++) {
            sourceOf[j] = perm.invert(j);
        }
        return gatherAxis(t, newName, axis, sourceOf);
    }

    /**
     * A copy with axis {@code axis} resized to {@code sourceOf.length}: entry j of the new axis is entry
     * {@code sourceOf[j]} of the old one (rows copied, e.g. an embedding table's row per homophone).
     */
    public static TensorProto gatherAxis(TensorProto t, String newName, int axis, int[] sourceOf) {
        long[] dims = dims(t);
        if (axis < 0 || axis >= dims.length) {
            throw new IllegalArgumentException("no axis " + axis + " in '" + t.getName() + "' " + java.util.Arrays.toString(dims));
        }
        byte[] in = rawBytes(t);
        int n = (int) dims[axis];
        long inner = elementSize(t.getDataType());
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        long outer = in.length / (inner * n);
        int chunk = Math.toIntExact(inner);
        byte[] out = new byte[Math.toIntExact(outer * sourceOf.length * inner)];
        for (long o = 0; o < outer; o++) {
            long inBase = o * n * inner;
            long outBase = o * sourceOf.length * inner;
            for (int j = 0; j < sourceOf.length; j++) {
                if (sourceOf[j] < 0 || sourceOf[j] >= n) {
                    throw new IllegalArgumentException("entry " + sourceOf[j] + " is outside axis " + axis + " of size " + n);
                }
                System.arraycopy(in, Math.toIntExact(inBase + sourceOf[j] * inner), out, Math.toIntExact(outBase + j * inner), chunk);
            }
        }
        long[] newDims = dims.clone();
        newDims[axis] = sourceOf.length;
        return t.toBuilder().setName(newName).clearDims().addAllDims(toList(newDims)).clearFloatData().clearDoubleData()
                .clearInt32Data().clearInt64Data().clearUint64Data().setRawData(ByteString.copyFrom(out)).build();
    }

    public static TensorProto floatTensor(String name, long[] dims, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(toList(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    public static TensorProto longTensor(String name, long[] dims, long[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        buf.asLongBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addAllDims(toList(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    /** An INT64 or INT32 tensor holding {@code values}. */
    public static TensorProto integerTensor(String name, int dataType, long[] dims, long[] values) {
        if (dataType == TensorProto.DataType.INT64_VALUE) {
            return longTensor(name, dims, values);
        }
        if (dataType != TensorProto.DataType.INT32_VALUE) {
            throw new IllegalArgumentException("not an integer tensor type: " + dataType);
        }
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            buf.putInt(Math.toIntExact(v));
        }
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT32_VALUE)
                .addAllDims(toList(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    private static List<Long> toList(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }
}
