package dev.eestream.core.model.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ONNX external data: weights kept in files beside the {@code .onnx} file, as exporters write models
 * over protobuf's 2 GB limit (optimum's {@code model.onnx} + {@code model.onnx_data}). eestream maps
 * them into the model before the transform, because π and ρ rewrite the weights themselves, and
 * writes the EE model's large weights back out into one data file. The data files must not change
 * while a model read from them is in use.
 */
public final class ExternalData {
    /** Protobuf cannot serialize a message of 2 GiB or more; ONNX files inherit the limit. */
    public static final long PROTOBUF_LIMIT = (1L << 31) - 1;
    /** Initializers smaller than this stay in the model file, as onnx's own {@code save_model} does. */
    public static final long DEFAULT_MIN_BYTES = 1024;
    private static final int ALIGNMENT = 64;

    private ExternalData() {
    }

    /** Whether any initializer of the main graph keeps its data outside the model file. */
    public static boolean isUsed(ModelProto model) {
        return model.getGraph().getInitializerList().stream().anyMatch(ExternalData::isExternal);
    }

    static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    /** Bytes of all initializer data, in the model file or outside it: what the model weighs. */
    public static long weightBytes(ModelProto model) {
        long total = 0;
        for (TensorProto t : model.getGraph().getInitializerList()) {
            total += isExternal(t) ? Math.max(declared(t).length(), 0) : t.getSerializedSize();
        }
        return total;
    }

    /**
     * Loads every external initializer into the model as raw data.
     *
     * @param baseDir the directory of the {@code .onnx} file: locations are relative to it and may not leave it
     */
    public static ModelProto inline(ModelProto model, Path baseDir, String what) throws IOException {
        GraphProto graph = model.getGraph();
        if (graph.getNodeList().stream().flatMap(n -> n.getAttributeList().stream())
                .anyMatch(a -> a.hasT() && isExternal(a.getT()))) {
            throw new EeException(what + " keeps a constant's data in an external file; only initializers may be external");
        }
        if (!isUsed(model)) {
            return model;
        }
        Path base = baseDir.toAbsolutePath().normalize();
        Map<Path, FileChannel> open = new HashMap<>();
        GraphProto.Builder g = graph.toBuilder();
        try {
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto t = g.getInitializer(i);
                if (!isExternal(t)) {
                    continue;
                }
                Location loc = declared(t);
                Path file = base.resolve(loc.location()).normalize();
                if (Path.of(loc.location()).isAbsolute() || !file.startsWith(base) || file.equals(base)) {
                    throw new EeException(what + ": initializer '" + t.getName() + "' names external data '" + loc.location()
                            + "' outside the model's directory " + base + "; external data must lie beside the model");
                }
                FileChannel channel = open.get(file);
                if (channel == null) {
                    try {
                        channel = FileChannel.open(file, StandardOpenOption.READ);
                    } catch (NoSuchFileException e) {
                        throw new EeException(what + ": initializer '" + t.getName() + "' keeps its data in " + file
                                + ", which does not exist; copy the data file(s) beside the model");
                    }
                    open.put(file, channel);
                }
                long expected = typedBytes(t);
                long length = loc.length() >= 0 ? loc.length() : expected;
                if (length < 0) {
                    throw new EeException(what + ": initializer '" + t.getName() + "' has external data of a type whose size "
                            + "eestream does not know, and no length");
                }
                if (expected >= 0 && length != expected) {
                    throw new EeException(what + ": initializer '" + t.getName() + "' declares " + length + " bytes of external "
                            + "data but its shape and type need " + expected);
                }
                if (loc.offset() + length > channel.size()) {
                    throw new EeException(what + ": initializer '" + t.getName() + "' needs bytes " + loc.offset() + ".."
                            + (loc.offset() + length) + " of " + file.getFileName() + ", which has only " + channel.size()
                            + " bytes: the data file is truncated or belongs to another model");
                }
                if (length > Integer.MAX_VALUE - 8) {
                    throw new EeException(what + ": initializer '" + t.getName() + "' holds " + length + " bytes; a single "
                            + "tensor of 2 GB or more is not supported");
                }
                // Mapped, not copied: a 1B-parameter model's weights stay in the page cache, not on the Java heap; the
                // transform copies only what it rewrites. The mapping outlives the channel.
                ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, loc.offset(), length);
                g.setInitializer(i, t.toBuilder().clearExternalData().clearDataLocation()
                        .setRawData(UnsafeByteOperations.unsafeWrap(mapped)).build());
            }
        } finally {
            for (FileChannel c : open.values()) {
                c.close();
            }
        }
        return model.toBuilder().setGraph(g).build();
    }

    /** A model split into its file (with references) and the data file those references point into. */
    public record Split(ModelProto model, List<ByteString> data) {
        /** Writes the data file's bytes, aligned as the references say. */
        public void writeData(OutputStream out) throws IOException {
            long written = 0;
            for (ByteString chunk : data) {
                long pad = padding(written);
                out.write(new byte[(int) pad]);
                chunk.writeTo(out);
                written += pad + chunk.size();
            }
        }

        public byte[] modelBytes() {
            return model.toByteArray();
        }
    }

    /**
     * Moves the raw data of every initializer of at least {@code minBytes} out of the model, into a data
     * file named {@code location} beside it; each tensor starts at a 64-byte boundary.
     */
    public static Split split(ModelProto model, String location, long minBytes) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        List<ByteString> data = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (isExternal(t)) {
                throw new IllegalArgumentException("initializer '" + t.getName() + "' is still external: inline the model first");
            }
            if (byteSize(t) < minBytes) {
                continue;
            }
            // Data kept in the typed fields (float_data, …) moves out as raw little-endian bytes, as onnx does.
            ByteString raw = t.getRawData().isEmpty() ? ByteString.copyFrom(OnnxTensors.rawBytes(t)) : t.getRawData();
            offset += padding(offset);
            g.setInitializer(i, TensorProto.newBuilder().setName(t.getName()).setDataType(t.getDataType())
                    .addAllDims(t.getDimsList()).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", location))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(raw.size()))).build());
            data.add(raw);
            offset += raw.size();
        }
        return new Split(model.toBuilder().setGraph(g).build(), data);
    }

    private static long byteSize(TensorProto t) {
        if (!t.getRawData().isEmpty()) {
            return t.getRawData().size();
        }
        return Math.max(typedBytes(t), 0);
    }

    /** Bytes of the tensor's data by its shape and type; -1 for a type without a fixed element size here. */
    private static long typedBytes(TensorProto t) {
        TensorProto.DataType type = TensorProto.DataType.forNumber(t.getDataType());
        return switch (type == null ? TensorProto.DataType.UNDEFINED : type) {
            case FLOAT, INT32, UINT32, DOUBLE, INT64, UINT64, FLOAT16, BFLOAT16, INT16, UINT16, INT8, UINT8, BOOL ->
                    OnnxTensors.elementCount(OnnxTensors.dims(t)) * OnnxTensors.elementSize(t.getDataType());
            default -> -1;
        };
    }

    private static long padding(long offset) {
        return (ALIGNMENT - offset % ALIGNMENT) % ALIGNMENT;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private record Location(String location, long offset, long length) {
    }

    private static Location declared(TensorProto t) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> {
                        // "checksum" and others: not needed to read the data
                    }
                }
            } catch (NumberFormatException ex) {
                throw new EeException("initializer '" + t.getName() + "' has a malformed external-data " + e.getKey() + " '"
                        + e.getValue() + "'");
            }
        }
        if (location == null || location.isEmpty() || offset < 0) {
            throw new EeException("initializer '" + t.getName() + "' is marked external but names no data file");
        }
        return new Location(location, offset, length);
    }

    /** The data files the model's external initializers refer to, relative to its directory. */
    public static List<String> locations(ModelProto model) {
        return model.getGraph().getInitializerList().stream().filter(ExternalData::isExternal)
                .map(t -> declared(t).location()).distinct().toList();
    }
}
