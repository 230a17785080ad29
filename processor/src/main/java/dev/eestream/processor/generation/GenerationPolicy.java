package dev.eestream.processor.generation;

import java.time.Duration;

/**
 * How a processor generates: at most {@code maxSequences} sequences per generate model decode at
 * once (more wait in the state store), and a streamed generation sends a chunk of its new tokens
 * every {@code streamInterval}.
 */
public record GenerationPolicy(int maxSequences, Duration streamInterval) {
    public static final GenerationPolicy DEFAULT = new GenerationPolicy(16, Duration.ofMillis(100));

    public GenerationPolicy {
        if (maxSequences < 1) {
            throw new IllegalArgumentException("generate.max.sequences must be at least 1, got " + maxSequences);
        }
        if (streamInterval.isNegative()) {
            throw new IllegalArgumentException("generate.stream.interval.ms must not be negative");
        }
    }
}
