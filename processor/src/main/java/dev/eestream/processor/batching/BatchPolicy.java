package dev.eestream.processor.batching;

import java.time.Duration;

/**
 * When a model's waiting requests are flushed, and how a flush is cut into inference batches.
 * A flush happens at {@code maxBatchSize} waiting requests, at {@code maxBatchTokens} waiting tokens,
 * or when the oldest has waited {@code maxBatchDelay}, whichever comes first.
 */
public record BatchPolicy(int maxBatchSize, int maxBatchTokens, Duration maxBatchDelay) {
    public static final BatchPolicy DEFAULT = new BatchPolicy(32, 8192, Duration.ofMillis(20));

    public BatchPolicy {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max.batch.size must be at least 1, got " + maxBatchSize);
        }
        if (maxBatchTokens < 1) {
            throw new IllegalArgumentException("max.batch.tokens must be at least 1, got " + maxBatchTokens);
        }
        if (maxBatchDelay.isNegative()) {
            throw new IllegalArgumentException("max.batch.delay.ms must not be negative");
        }
    }
}
