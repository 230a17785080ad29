package dev.eestream.schemas.serde;

import java.util.Objects;
import java.util.Optional;

/** The outcome of {@link WireFormat#tryDecode}: a value (possibly null, for a tombstone) or a failure reason. */
public final class DecodeResult<T> {

    private final T value;
    private final String failureReason;

    private DecodeResult(T value, String failureReason) {
        this.value = value;
        this.failureReason = failureReason;
    }

    public static <T> DecodeResult<T> success(T value) {
        return new DecodeResult<>(value, null);
    }

    public static <T> DecodeResult<T> failure(String reason) {
        return new DecodeResult<>(null, Objects.requireNonNull(reason, "reason"));
    }

    public boolean isSuccess() {
        return failureReason == null;
    }

    /** The decoded value; null for null input. */
    public T value() {
        if (failureReason != null) {
            throw new IllegalStateException("not decoded: " + failureReason);
        }
        return value;
    }

    /** Why decoding failed; empty on success. */
    public Optional<String> failureReason() {
        return Optional.ofNullable(failureReason);
    }

    @Override
    public String toString() {
        return isSuccess() ? "DecodeResult[value=" + value + "]" : "DecodeResult[failure=" + failureReason + "]";
    }
}
