package dev.eestream.processor.generation;

/**
 * What a {@link DecodeLoop} reports as it runs, for metrics: called on the decode thread, so an
 * implementation must be thread-safe and quick.
 */
public interface DecodeObserver {
    DecodeObserver NONE = new DecodeObserver() {
    };

    /** A sequence chose a token {@code nanos} after its previous one (inter-token latency). */
    default void interToken(String model, String device, long nanos) {
    }

    /** A failed prefill or decode step was retried in halves this many times, to find the sequences that fail alone. */
    default void splits(String model, int splits) {
    }
}
