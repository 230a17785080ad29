package dev.eestream.runtime.session;

import java.util.Arrays;
import java.util.Objects;

/**
 * The ids a decode loop generated after a prompt, and why it stopped. With a stop id, that id is
 * the last of {@code ids}.
 */
public record Generation(long[] ids, FinishReason finishReason) {
    /** Why generation ended. */
    public enum FinishReason {
        /** A stop id was generated. */
        STOP,
        /** The requested number of new tokens, or the model's context length, was reached. */
        LENGTH
    }

    public Generation {
        ids = ids.clone();
        Objects.requireNonNull(finishReason, "finishReason");
    }

    @Override
    public long[] ids() {
        return ids.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Generation g && Arrays.equals(ids, g.ids) && finishReason == g.finishReason;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + finishReason.hashCode();
    }

    @Override
    public String toString() {
        return Arrays.toString(ids) + " (" + finishReason + ")";
    }
}
