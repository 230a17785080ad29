package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import java.io.IOException;
import java.util.Locale;

/**
 * Writes an EE model into its bundle, self-contained or with its large weights in
 * {@link ModelBundle#DATA_FILE} (ONNX external data): a model over protobuf's 2 GB limit can only be
 * written the second way.
 */
public final class ModelWriter {
    /** {@link ExternalDataMode#AUTO} writes external data above this weight: 1.5 GiB leaves room under the 2 GiB limit. */
    public static final long AUTO_THRESHOLD = 3L << 29;

    /** Where the weights go. */
    public enum ExternalDataMode {
        /** external data when the weights exceed {@link #AUTO_THRESHOLD} */
        AUTO,
        /** always external data (weights of 1 KiB and more) */
        ALWAYS,
        /** one self-contained file; refused over the 2 GiB limit */
        NEVER;

        public static ExternalDataMode parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new EeException("external data must be auto, always or never, not '" + text + "'");
            }
        }
    }

    private ModelWriter() {
    }

    /** Writes {@code result} into {@code bundle}; returns whether it used external data. */
    public static boolean write(ModelBundle bundle, ModelTransformer.Result result, ExternalDataMode mode, boolean overwrite)
            throws IOException {
        ModelProto model = result.model();
        long weights = ExternalData.weightBytes(model);
        boolean external = switch (mode) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> weights > AUTO_THRESHOLD;
        };
        if (!external) {
            if (weights >= ExternalData.PROTOBUF_LIMIT) {
                throw EeException.fixedBy("externalData", String.format(Locale.ROOT, "the EE model's weights take %.2f GB, over "
                        + "protobuf's 2 GB limit for one .onnx file", weights / 1e9));
            }
            bundle.write(model.toByteArray(), result.manifest(), overwrite);
            return false;
        }
        ExternalData.Split split = ExternalData.split(model, ModelBundle.DATA_FILE, ExternalData.DEFAULT_MIN_BYTES);
        bundle.write(split.modelBytes(), split::writeData, result.manifest(), overwrite);
        return true;
    }
}
