package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.NodeProto;
import dev.eestream.runtime.EeException;

/** The transformer cannot prove a part of the model safe to run on encrypted data. */
public final class UnsupportedModelException extends EeException {
    private final String nodeName;

    UnsupportedModelException(String nodeName, String message) {
        super(message);
        this.nodeName = nodeName;
    }

    /** The analysis stopped at node {@code n}, for the reason {@code why}. */
    static UnsupportedModelException at(NodeProto n, String why) {
        String name = n.getName().isEmpty() ? "(unnamed, output " + n.getOutput(0) + ")" : n.getName();
        return new UnsupportedModelException(n.getName(), "cannot encrypt the model at node '" + name + "' ("
                + n.getOpType() + "): " + why);
    }

    /** The node the analysis stopped at, or null when the problem is not one node's. */
    public String nodeName() {
        return nodeName;
    }
}
