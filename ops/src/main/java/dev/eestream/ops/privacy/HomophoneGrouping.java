package dev.eestream.ops.privacy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The attack on homophones: ids of one token are followed and preceded by the same tokens, so their neighbour
 * vectors point the same way. Each round expresses every id's neighbours in the current groups, finds for each id
 * the most similar other id (cosine over shared neighbours, through an inverted index), and merges the pairs above
 * a threshold, most similar first, into groups of at most {@code maxGroup} ids. The groups are then counted as
 * tokens by {@link FrequencyAnalysis}.
 */
final class HomophoneGrouping {
    /** Neighbour features shared by more ids than this are skipped: they cost the most and tell the least apart. */
    private static final int MAX_POSTING = 1500;

    /** One id's normalised count of one neighbour feature. */
    private record Posting(long id, double weight) {
    }

    /** How well the groups match the truth: ids in groups of 2 or more, and the share of those grouped rightly. */
    record Quality(int ids, int grouped, double pure) {
    }

    private HomophoneGrouping() {
    }

    /** Group representative of each id observed; an ungrouped id is its own. */
    static Map<Long, Long> group(TokenStatistics observed, int minCount, double threshold, int maxGroup, int rounds) {
        long[] ids = observed.byFrequency();
        Map<Long, Long> parent = new HashMap<>();
        Map<Long, Integer> size = new HashMap<>();
        for (long id : ids) {
            parent.put(id, id);
            size.put(id, 1);
        }
        for (int round = 0; round < rounds; round++) {
            Map<Long, Map<Long, Double>> vectors = new HashMap<>();
            Map<Long, List<Posting>> postings = new HashMap<>();
            for (long id : ids) {
                if (observed.count(id) < minCount) {
                    continue;
                }
                Map<Long, Double> v = new HashMap<>();
                observed.neighbours(id).forEach((key, count) -> {
                    long feature = find(parent, key >> 1) * 2 + (key & 1);
                    v.merge(feature, (double) count, Double::sum);
                });
                double squares = 0;
                for (double count : v.values()) {
                    squares += count * count;
                }
                double norm = Math.sqrt(squares);
                v.replaceAll((feature, count) -> count / norm);
                vectors.put(id, v);
                v.forEach((feature, weight) -> postings.computeIfAbsent(feature, key -> new ArrayList<>())
                        .add(new Posting(id, weight)));
            }
            List<double[]> pairs = new ArrayList<>();
            for (Map.Entry<Long, Map<Long, Double>> e : vectors.entrySet()) {
                long a = e.getKey();
                Map<Long, Double> dots = new HashMap<>();
                e.getValue().forEach((feature, weight) -> {
                    List<Posting> posting = postings.get(feature);
                    if (posting.size() > MAX_POSTING) {
                        return;
                    }
                    for (Posting other : posting) {
                        if (other.id() != a) {
                            dots.merge(other.id(), weight * other.weight(), Double::sum);
                        }
                    }
                });
                long best = -1;
                double bestCos = threshold;
                long groupA = find(parent, a);
                for (Map.Entry<Long, Double> d : dots.entrySet()) {
                    if (d.getValue() > bestCos && find(parent, d.getKey()) != groupA) {
                        bestCos = d.getValue();
                        best = d.getKey();
                    }
                }
                if (best >= 0) {
                    pairs.add(new double[] {bestCos, a, best});
                }
            }
            pairs.sort((x, y) -> Double.compare(y[0], x[0]));
            int merged = 0;
            for (double[] p : pairs) {
                long ra = find(parent, (long) p[1]);
                long rb = find(parent, (long) p[2]);
                if (ra != rb && size.get(ra) + size.get(rb) <= maxGroup) {
                    // The more frequent id's group absorbs the other: its representative was seen more.
                    long keep = observed.count(ra) >= observed.count(rb) ? ra : rb;
                    long gone = keep == ra ? rb : ra;
                    parent.put(gone, keep);
                    size.put(keep, size.get(ra) + size.get(rb));
                    merged++;
                }
            }
            if (merged == 0) {
                break;
            }
        }
        Map<Long, Long> out = new HashMap<>();
        for (long id : ids) {
            out.put(id, find(parent, id));
        }
        return out;
    }

    /** The requests with every id replaced by its group's representative. */
    static List<long[]> relabel(List<long[]> requests, Map<Long, Long> groups) {
        List<long[]> out = new ArrayList<>(requests.size());
        for (long[] r : requests) {
            long[] c = r.clone();
            for (int i = 0; i < c.length; i++) {
                c[i] = groups.getOrDefault(c[i], c[i]);
            }
            out.add(c);
        }
        return out;
    }

    /** Guesses per id from guesses per group. */
    static Map<Long, Long> perId(Map<Long, Long> groupGuesses, Map<Long, Long> groups) {
        Map<Long, Long> out = new HashMap<>();
        groups.forEach((id, group) -> {
            Long guess = groupGuesses.get(group);
            if (guess != null) {
                out.put(id, guess);
            }
        });
        return out;
    }

    /** How many ids share a group with another, and how many of those share it only with ids of their own token. */
    static Quality quality(Map<Long, Long> groups, java.util.function.LongUnaryOperator truth) {
        Map<Long, long[]> members = new HashMap<>();
        Map<Long, Map<Long, Integer>> tokensIn = new HashMap<>();
        groups.forEach((id, g) -> {
            members.computeIfAbsent(g, k -> new long[1])[0]++;
            tokensIn.computeIfAbsent(g, k -> new HashMap<>()).merge(truth.applyAsLong(id), 1, Integer::sum);
        });
        int grouped = 0;
        int right = 0;
        for (Map.Entry<Long, long[]> e : members.entrySet()) {
            if (e.getValue()[0] < 2) {
                continue;
            }
            grouped += (int) e.getValue()[0];
            // The ids of the group's most common token are grouped rightly, if there are two of them.
            int majority = tokensIn.get(e.getKey()).values().stream().max(Integer::compare).orElse(0);
            right += majority >= 2 ? majority : 0;
        }
        return new Quality(groups.size(), grouped, grouped == 0 ? 0 : (double) right / grouped);
    }

    private static long find(Map<Long, Long> parent, long id) {
        Long p = parent.get(id);
        if (p == null) {
            return id;
        }
        long root = id;
        while (parent.get(root) != root) {
            root = parent.get(root);
        }
        // Path compression.
        long cur = id;
        while (cur != root) {
            long next = parent.get(cur);
            parent.put(cur, root);
            cur = next;
        }
        return root;
    }
}
