package dev.eestream.ops.privacy;

import dev.eestream.core.key.Permutation;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;

/**
 * The attack of whoever reads the request topic and holds no weights: ciphertext-only frequency analysis with
 * statistics from a public corpus. By rank: the k-th most frequent ciphertext id is guessed to be the k-th most
 * frequent token of the reference corpus. By neighbours: each guess is then replaced, for a few rounds, by the
 * token of nearby rank whose left and right neighbours in the reference corpus best match the guessed neighbours
 * of the ciphertext id (cosine). Scored on the inner tokens ([CLS] and [SEP] excluded) against the true π.
 *
 * <p>Against homophones the plaintext ranks can be the attacker's expected slots instead of tokens (a token with k
 * ids expected k times, each at 1/k of its frequency: {@link #expectedSlots}), and the ids can first be grouped
 * ({@link HomophoneGrouping}); the guesses are then per group.
 */
final class FrequencyAnalysis {
    /** How far in rank a neighbour-context guess may move from the rank guess. */
    private static final int RANK_WINDOW = 40;
    private static final int ROUNDS = 3;
    /** Ids seen fewer times than this keep their rank guess: too little context to judge. */
    private static final int MIN_CONTEXT = 3;
    /** How much better a candidate's neighbour match must be than the current guess's to replace it. */
    private static final double MARGIN = 1.1;

    /**
     * @param tokens      inner tokens observed
     * @param distinct    distinct ciphertext ids among them
     * @param rankShare   share of those tokens whose plaintext the rank attack names correctly
     * @param contextShare the same for the neighbour-context attack
     */
    record Recovery(long tokens, int distinct, double rankShare, double contextShare) {
    }

    private FrequencyAnalysis() {
    }

    /** What the attack guessed for each id it observed: by rank, and after the neighbour rounds. */
    record Guesses(Map<Long, Long> byRank, Map<Long, Long> byNeighbours) {
    }

    /** The attack on requests' first {@code budget} inner tokens. */
    static Recovery attack(List<long[]> cipherRequests, long budget, TokenStatistics reference, Permutation pi) {
        return attack(TokenStatistics.of(cipherRequests, budget), reference, pi);
    }

    /** The attack on what was observed, with statistics from {@code reference}. */
    static Recovery attack(TokenStatistics observed, TokenStatistics reference, Permutation pi) {
        return attack(observed, reference, reference.byFrequency(), c -> pi.invert(Math.toIntExact(c)));
    }

    /**
     * The attack with {@code plainRank} as the plaintext side's ranking (tokens, or expected slots), scored with
     * {@code truth} (ciphertext id → its token).
     */
    static Recovery attack(TokenStatistics observed, TokenStatistics reference, long[] plainRank, LongUnaryOperator truth) {
        Guesses g = guesses(observed, reference, plainRank);
        return new Recovery(observed.tokens(), observed.distinct(), score(observed, g.byRank(), truth),
                score(observed, g.byNeighbours(), truth));
    }

    /**
     * The plaintext ranking an attacker who knows homophones are in use expects: every token t of the reference repeated
     * k_t times (k from the allotment rule applied to the reference's counts), ordered by the frequency f_t/k_t each of
     * t's ids is expected to have.
     */
    static long[] expectedSlots(TokenStatistics reference, int[] slotsPerToken) {
        long[] tokens = reference.byFrequency();
        int total = 0;
        for (long t : tokens) {
            total += slotsPerToken[Math.toIntExact(t)];
        }
        long[][] entries = new long[total][];
        int n = 0;
        for (long t : tokens) {
            int k = slotsPerToken[Math.toIntExact(t)];
            for (int j = 0; j < k; j++) {
                entries[n++] = new long[] {t, reference.count(t), k};
            }
        }
        // By expected frequency f/k, descending; compared as f1·k2 vs f2·k1 to stay exact.
        java.util.Arrays.sort(entries, (a, b) -> {
            int byFrequency = Long.compare(b[1] * a[2], a[1] * b[2]);
            return byFrequency != 0 ? byFrequency : Long.compare(a[0], b[0]);
        });
        long[] out = new long[total];
        for (int i = 0; i < total; i++) {
            out[i] = entries[i][0];
        }
        return out;
    }

    static Guesses guesses(TokenStatistics observed, TokenStatistics reference, long[] plainRank) {
        long[] cipherRank = observed.byFrequency();
        Map<Long, Long> guess = new HashMap<>();
        for (int i = 0; i < cipherRank.length && i < plainRank.length; i++) {
            guess.put(cipherRank[i], plainRank[i]);
        }
        Map<Long, Long> byRank = guess;
        Map<Long, Double> referenceNorms = new HashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            Map<Long, Long> next = new HashMap<>(guess);
            for (int i = 0; i < cipherRank.length; i++) {
                long cipher = cipherRank[i];
                if (observed.count(cipher) < MIN_CONTEXT) {
                    continue;
                }
                Map<Long, Integer> translated = translate(observed.neighbours(cipher), guess);
                Long current = guess.get(cipher);
                // A guess moves only to a candidate whose neighbours match clearly better than the current guess's:
                // where neighbours carry no information (independent tokens) the rank guesses stay.
                double best = current == null ? -1 : MARGIN * dot(translated, reference.neighbours(current))
                        / Math.max(1e-12, referenceNorms.computeIfAbsent(current, key -> norm(reference.neighbours(key))));
                for (int j = Math.max(0, i - RANK_WINDOW); j < Math.min(plainRank.length, i + RANK_WINDOW + 1); j++) {
                    long candidate = plainRank[j];
                    Map<Long, Integer> around = reference.neighbours(candidate);
                    double norm = referenceNorms.computeIfAbsent(candidate, key -> norm(around));
                    double similarity = dot(translated, around) / Math.max(1e-12, norm);
                    if (similarity > best) {
                        best = similarity;
                        next.put(cipher, candidate);
                    }
                }
            }
            guess = next;
        }
        return new Guesses(byRank, guess);
    }

    /** The ciphertext id's neighbours, each replaced by the plaintext currently guessed for it. */
    private static Map<Long, Integer> translate(Map<Long, Integer> neighbours, Map<Long, Long> guess) {
        Map<Long, Integer> out = new HashMap<>();
        neighbours.forEach((key, count) -> {
            Long plain = key >> 1 == TokenStatistics.EDGE ? Long.valueOf(TokenStatistics.EDGE) : guess.get(key >> 1);
            if (plain != null) {
                out.merge(plain * 2 + (key & 1), count, Integer::sum);
            }
        });
        return out;
    }

    private static double dot(Map<Long, Integer> small, Map<Long, Integer> large) {
        if (small.size() > large.size()) {
            return dot(large, small);
        }
        double sum = 0;
        for (Map.Entry<Long, Integer> e : small.entrySet()) {
            Integer other = large.get(e.getKey());
            if (other != null) {
                sum += (double) e.getValue() * other;
            }
        }
        return sum;
    }

    private static double norm(Map<Long, Integer> vector) {
        double sum = 0;
        for (int v : vector.values()) {
            sum += (double) v * v;
        }
        return Math.sqrt(sum);
    }

    /** Share of observed inner tokens whose guessed plaintext is the true one. */
    static double score(TokenStatistics observed, Map<Long, Long> guess, LongUnaryOperator truth) {
        long right = 0;
        for (long cipher : observed.byFrequency()) {
            Long plain = guess.get(cipher);
            if (plain != null && truth.applyAsLong(cipher) == plain) {
                right += observed.count(cipher);
            }
        }
        return observed.tokens() == 0 ? 0 : (double) right / observed.tokens();
    }
}
