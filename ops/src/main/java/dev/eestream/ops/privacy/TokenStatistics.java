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
    /** The neighbour of a request's first and last inner token: the request's edge ([CLS] or [SEP]). */
    static final long EDGE = -1;
    /** id → (neighbour id × 2 + side, left 0 / right 1) → count; the edge is neighbour {@link #EDGE}. */
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
            // Next to [CLS] or [SEP], the neighbour is the request's edge, id -1: known by position to anyone.
            around.merge((i > 1 ? request[i - 1] : EDGE) * 2, 1, Integer::sum);
            around.merge((i < request.length - 2 ? request[i + 1] : EDGE) * 2 + 1, 1, Integer::sum);
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
