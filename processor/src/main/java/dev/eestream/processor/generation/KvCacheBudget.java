package dev.eestream.processor.generation;

import dev.eestream.runtime.model.ModelManifest;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The KV-cache memory all running generations of a processor may hold. A sequence reserves, when it
 * is admitted, what its cache holds at its longest (prompt plus maxNewTokens, at most the context)
 * and releases it when it ends, so the caches held between steps never exceed the budget, however the
 * sequences grow. Thread-safe: stream threads reserve, decode threads release.
 */
public final class KvCacheBudget {
    private final long maxBytes;
    private final AtomicLong reserved = new AtomicLong();

    public KvCacheBudget(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Keys and values of every layer for one token, as the decoder keeps them (float32). */
    public static long bytesPerToken(ModelManifest m) {
        return 2L * m.layerCount() * m.kvHeads() * m.headSize() * Float.BYTES;
    }

    /** What a sequence's cache holds at its longest: prompt and generated ids, at most the context. */
    public static long worstCase(ModelManifest m, int promptTokens, int maxNewTokens) {
        long tokens = Math.min((long) promptTokens + maxNewTokens, m.maxSequenceLength());
        return tokens * bytesPerToken(m);
    }

    public long maxBytes() {
        return maxBytes;
    }

    public long reserved() {
        return reserved.get();
    }

    /** Reserves {@code bytes} if they fit beside what is reserved; false (nothing reserved) if not. */
    public boolean tryReserve(long bytes) {
        long now;
        do {
            now = reserved.get();
            if (now + bytes > maxBytes) {
                return false;
            }
        } while (!reserved.compareAndSet(now, now + bytes));
        return true;
    }

    public void release(long bytes) {
        reserved.addAndGet(-bytes);
    }
}
