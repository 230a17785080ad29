package dev.eestream.ops.privacy;

import dev.eestream.core.key.LengthPadding;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What readers of the request topic learn of request lengths when clients pad to length buckets, measured as the share
 * of requests whose exact length (in tokens, specials included) an attacker names, and within two tokens.
 * <ul>
 * <li>{@link #sizesOnly}: an observer of sizes alone (TLS hides the ids, not how many there are) guesses, for each
 * bucket, the length most common in that bucket in same-domain statistics.</li>
 * <li>{@link #endByPresence}: the ids that stand in the most requests are taken for the end token ([SEP], in every
 * request), as many of them as the start token ([CLS]) has ids at position 0, since both are as frequent; a request
 * ends at its first such id after position 0. Without homophones that is [SEP]'s one id.</li>
 * <li>{@link #endByLateness}: ids never seen in the first positions after the first ([SEP] cannot stand there) but
 * seen often are taken for the end token; likewise.</li>
 * </ul>
 * Where an attack finds no end in a request, it falls back on the sizes-only guess, so each does at least as well.
 */
final class LengthAttacks {
    /** @param exact share of requests whose length was named exactly; within2: within two tokens */
    record Outcome(double exact, double within2) {
    }

    private LengthAttacks() {
    }

    /** The most common length among the statistics' requests in each bucket (by padded length). */
    static Map<Integer, Integer> modeByBucket(List<long[]> statistics, int[] buckets) {
        Map<Integer, Map<Integer, Integer>> counts = new HashMap<>();
        for (long[] r : statistics) {
            counts.computeIfAbsent(LengthPadding.target(buckets, r.length), b -> new HashMap<>()).merge(r.length, 1, Integer::sum);
        }
        Map<Integer, Integer> mode = new HashMap<>();
        counts.forEach((bucket, byLength) -> mode.put(bucket, byLength.entrySet().stream()
                .max(Map.Entry.<Integer, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
                .orElseThrow().getKey()));
        return mode;
    }

    static Outcome sizesOnly(List<long[]> padded, int[] realLengths, Map<Integer, Integer> modeByBucket) {
        return score(padded, realLengths, (r, i) -> modeByBucket.getOrDefault(r.length, r.length));
    }

    static Outcome endByPresence(List<long[]> padded, int[] realLengths, Map<Integer, Integer> modeByBucket) {
        Set<Long> starts = new HashSet<>();
        Map<Long, Integer> requestsHolding = new HashMap<>();
        for (long[] r : padded) {
            starts.add(r[0]);
            Set<Long> inRequest = new HashSet<>();
            for (int i = 1; i < r.length; i++) {
                inRequest.add(r[i]);
            }
            inRequest.forEach(id -> requestsHolding.merge(id, 1, Integer::sum));
        }
        Set<Long> ends = new HashSet<>();
        requestsHolding.entrySet().stream().filter(e -> !starts.contains(e.getKey()))
                .sorted(Map.Entry.<Long, Integer>comparingByValue().reversed()).limit(starts.size())
                .forEach(e -> ends.add(e.getKey()));
        return byFirstEnd(padded, realLengths, modeByBucket, ends);
    }

    /**
     * @param window   positions after the first in which an end id is never seen
     * @param minCount how often an id must be seen at all to be taken for an end id
     */
    static Outcome endByLateness(List<long[]> padded, int[] realLengths, Map<Integer, Integer> modeByBucket, int window,
            int minCount) {
        Map<Long, Integer> seen = new HashMap<>();
        Set<Long> early = new HashSet<>();
        for (long[] r : padded) {
            for (int i = 1; i < r.length; i++) {
                seen.merge(r[i], 1, Integer::sum);
                if (i <= window) {
                    early.add(r[i]);
                }
            }
        }
        Set<Long> ends = new HashSet<>();
        seen.forEach((id, n) -> {
            if (n >= minCount && !early.contains(id)) {
                ends.add(id);
            }
        });
        return byFirstEnd(padded, realLengths, modeByBucket, ends);
    }

    private static Outcome byFirstEnd(List<long[]> padded, int[] realLengths, Map<Integer, Integer> modeByBucket,
            Set<Long> ends) {
        return score(padded, realLengths, (r, i) -> {
            for (int p = 1; p < r.length; p++) {
                if (ends.contains(r[p])) {
                    return p + 1;
                }
            }
            return modeByBucket.getOrDefault(r.length, r.length);
        });
    }

    private interface Guess {
        int length(long[] request, int index);
    }

    private static Outcome score(List<long[]> padded, int[] realLengths, Guess guess) {
        int exact = 0;
        int near = 0;
        for (int i = 0; i < padded.size(); i++) {
            int g = guess.length(padded.get(i), i);
            exact += g == realLengths[i] ? 1 : 0;
            near += Math.abs(g - realLengths[i]) <= 2 ? 1 : 0;
        }
        int n = Math.max(1, padded.size());
        return new Outcome((double) exact / n, (double) near / n);
    }

    /** Shannon entropy, in bits, of the lengths; or of the lengths given each request's padded length. */
    static double entropyBits(int[] realLengths, int[] visibleLengths) {
        Map<Integer, Map<Integer, Integer>> byVisible = new HashMap<>();
        for (int i = 0; i < realLengths.length; i++) {
            byVisible.computeIfAbsent(visibleLengths[i], v -> new HashMap<>()).merge(realLengths[i], 1, Integer::sum);
        }
        double bits = 0;
        for (Map<Integer, Integer> group : byVisible.values()) {
            int total = group.values().stream().mapToInt(Integer::intValue).sum();
            for (int c : group.values()) {
                double p = (double) c / total;
                bits -= (double) total / realLengths.length * p * Math.log(p) / Math.log(2);
            }
        }
        return bits;
    }
}
