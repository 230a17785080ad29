package dev.eestream.ops.privacy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts of token ids and of their immediate neighbours over a token stream, the inner (non-special) tokens of each
 * request only: the first and last ids of a request are [CLS] and [SEP], which anyone can spot by position.
 */
final class TokenStatistics {
    private final Map<Long, Long> counts = new HashMap<>();
    /** id → (neighbour id × 2 + side, left 0 / right 1) → count. */
    private final Map<Long, Map<Long, Integer>> neighbours = new HashMap<>();
    private long tokens;

    /** Statistics of the requests' inner tokens, up to {@code budget} tokens (whole requests). */
    static TokenStatistics of(List<long[]> requests, long budget) {
        TokenStatistics s = new TokenStatistics();
        for (long[] request : requests) {
            if (s.tokens >= budget) {
                break;
            }
            s.add(request);
        }
        return s;
    }

    private void add(long[] request) {
        for (int i = 1; i < request.length - 1; i++) {
            long id = request[i];
            counts.merge(id, 1L, Long::sum);
            tokens++;
            Map<Long, Integer> around = neighbours.computeIfAbsent(id, key -> new HashMap<>());
            if (i > 1) {
                around.merge(request[i - 1] * 2, 1, Integer::sum);
            }
            if (i < request.length - 2) {
                around.merge(request[i + 1] * 2 + 1, 1, Integer::sum);
            }
        }
    }

    long tokens() {
        return tokens;
    }

    long count(long id) {
        return counts.getOrDefault(id, 0L);
    }

    Map<Long, Integer> neighbours(long id) {
        return neighbours.getOrDefault(id, Map.of());
    }

    /** The ids seen, most frequent first (ties by id, so runs repeat). */
    long[] byFrequency() {
        return counts.entrySet().stream()
                .sorted(Map.Entry.<Long, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .mapToLong(Map.Entry::getKey).toArray();
    }

    /** Distinct ids seen. */
    int distinct() {
        return counts.size();
    }
}
