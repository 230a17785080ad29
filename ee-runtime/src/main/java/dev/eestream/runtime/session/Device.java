package dev.eestream.runtime.session;

import dev.eestream.runtime.EeException;
import java.util.Locale;

/** Where ONNX Runtime runs a model. */
public enum Device {
    CPU, CUDA;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Device parse(String text) {
        for (Device d : values()) {
            if (d.id().equalsIgnoreCase(text.trim())) {
                return d;
            }
        }
        throw new EeException("unknown device '" + text + "'; expected cpu or cuda");
    }
}
