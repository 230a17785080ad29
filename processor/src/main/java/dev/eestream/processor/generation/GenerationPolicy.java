package dev.eestream.processor.generation;

import java.time.Duration;

/**
 * How a processor generates: at most {@code maxSequences} sequences per generate model decode at
 * once, and all running sequences of the processor together may reserve at most {@code
 * kvCacheMaxBytes} of KV cache (more requests wait in the state store); a streamed generation sends a
 * chunk of its new tokens every {@code streamInterval}.
 */
public record GenerationPolicy(int maxSequences, Duration streamInterval, long kvCacheMaxBytes) {
    /** 1 GiB: 16 sequences of 1,024 tokens of a Llama-3.2-1B-sized cache (64 KiB per token). */
    public static final long DEFAULT_KV_CACHE_MAX_BYTES = 1L << 30;
    public static final GenerationPolicy DEFAULT = new GenerationPolicy(16, Duration.ofMillis(100), DEFAULT_KV_CACHE_MAX_BYTES);

    public GenerationPolicy {
        if (maxSequences < 1) {
            throw new IllegalArgumentException("generate.max.sequences must be at least 1, got " + maxSequences);
        }
        if (streamInterval.isNegative()) {
            throw new IllegalArgumentException("generate.stream.interval.ms must not be negative");
        }
        if (kvCacheMaxBytes < 1) {
            throw new IllegalArgumentException("generate.kv.cache.max.bytes must be at least 1, got " + kvCacheMaxBytes);
        }
    }

    /** With the default KV-cache budget. */
    public GenerationPolicy(int maxSequences, Duration streamInterval) {
        this(maxSequences, streamInterval, DEFAULT_KV_CACHE_MAX_BYTES);
    }
}
