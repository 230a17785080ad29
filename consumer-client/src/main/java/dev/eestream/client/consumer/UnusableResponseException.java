package dev.eestream.client.consumer;

import dev.eestream.runtime.EeException;
import java.util.Objects;

/**
 * A response that decoded but is not this reader's to decrypt ({@link BadRecordKind#OTHER_MODEL},
 * {@link BadRecordKind#OTHER_KEY}) or whose outputs do not fit its model ({@link BadRecordKind#UNDECRYPTABLE}).
 */
public final class UnusableResponseException extends EeException {
    private final BadRecordKind kind;

    public UnusableResponseException(BadRecordKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public UnusableResponseException(BadRecordKind kind, String message) {
        this(kind, message, null);
    }

    public BadRecordKind kind() {
        return kind;
    }
}
