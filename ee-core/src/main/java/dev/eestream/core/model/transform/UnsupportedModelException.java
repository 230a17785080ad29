package dev.eestream.core.model.transform;

import dev.eestream.runtime.EeException;

/** The transformer cannot prove a part of the model safe to run on encrypted data. */
public final class UnsupportedModelException extends EeException {
    private final String nodeName;

    UnsupportedModelException(String nodeName, String message) {
        super(message);
        this.nodeName = nodeName;
    }

    /** The node the analysis stopped at, or null when the problem is not one node's. */
    public String nodeName() {
        return nodeName;
    }
}
