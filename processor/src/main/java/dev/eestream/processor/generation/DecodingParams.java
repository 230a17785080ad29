package dev.eestream.processor.generation;

import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;

/**
 * How one request is decoded: the request's {@link GenerationParams}, or their defaults when it has
 * none, and the seed of its sampler. Without a seed in the request, the seed is derived from the
 * request id, so a request generated again after a crash draws the same tokens.
 */
public record DecodingParams(int maxNewTokens, float temperature, float topP, int topK, long seed, Set<Long> stopIds,
        boolean stream) {
    private static final GenerationParams DEFAULTS = GenerationParams.newBuilder().build();

    public DecodingParams {
        stopIds = Set.copyOf(stopIds);
    }

    public static DecodingParams of(InferenceRequest request) {
        GenerationParams p = request.getGeneration() != null ? request.getGeneration() : DEFAULTS;
        long seed = p.getSeed() != null ? p.getSeed() : seedOf(request.getRequestId());
        return new DecodingParams(p.getMaxNewTokens(), p.getTemperature(), p.getTopP(), p.getTopK(), seed,
                Set.copyOf(p.getStopTokenIds()), p.getStream());
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    /** The first 8 bytes of SHA-256 of the request id: stable across processes and JVMs. */
    static long seedOf(String requestId) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(requestId.getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest, 0, Long.BYTES).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
