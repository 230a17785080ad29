package dev.eestream.client.producer;

import dev.eestream.client.consumer.DecryptedResult;
import java.util.Objects;

/**
 * A record keyed with the request's id came back on the reply topic, but it is not an answer the client can use:
 * bytes that do not decode, or a response from another model, computed with another key, or with outputs that do
 * not fit the model. The request fails at once rather than waiting for its timeout; {@link #badRecord()} says where
 * the record was and why.
 */
public final class BadReplyException extends RuntimeException {
    private final DecryptedResult.BadRecord badRecord;

    /** @param badRecord a bad record whose request id is that of the client's request */
    public BadReplyException(DecryptedResult.BadRecord badRecord) {
        super("the reply to request " + badRecord.requestId() + " cannot be used (" + badRecord.position() + "): "
                + badRecord.reason() + " [" + badRecord.kind() + "]");
        this.badRecord = Objects.requireNonNull(badRecord, "badRecord");
    }

    public String requestId() {
        return badRecord.requestId();
    }

    public DecryptedResult.BadRecord badRecord() {
        return badRecord;
    }
}
