package dev.eestream.ops.privacy;

import dev.eestream.core.key.Permutation;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The attack of whoever reads the request topic and holds no weights: ciphertext-only frequency analysis with
 * statistics from a public corpus. By rank: the k-th most frequent ciphertext id is guessed to be the k-th most
 * frequent token of the reference corpus. By neighbours: each guess is then replaced, for a few rounds, by the
 * token of nearby rank whose left and right neighbours in the reference corpus best match the guessed neighbours
 * of the ciphertext id (cosine). Scored on the inner tokens ([CLS] and [SEP] excluded) against the true π.
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

    /** The attack on requests' first {@code budget} inner tokens. */
    static Recovery attack(List<long[]> cipherRequests, long budget, TokenStatistics reference, Permutation pi) {
        return attack(TokenStatistics.of(cipherRequests, budget), reference, pi);
    }

    /** The attack on what was observed, with statistics from {@code reference}. */
    static Recovery attack(TokenStatistics observed, TokenStatistics reference, Permutation pi) {
        long[] cipherRank = observed.byFrequency();
        long[] plainRank = reference.byFrequency();
        Map<Long, Long> guess = new HashMap<>();
        for (int i = 0; i < cipherRank.length && i < plainRank.length; i++) {
            guess.put(cipherRank[i], plainRank[i]);
        }
        double rankShare = score(observed, cipherRank, guess, pi);
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
        return new Recovery(observed.tokens(), observed.distinct(), rankShare, score(observed, cipherRank, guess, pi));
    }

    /** The ciphertext id's neighbours, each replaced by the plaintext currently guessed for it. */
    private static Map<Long, Integer> translate(Map<Long, Integer> neighbours, Map<Long, Long> guess) {
        Map<Long, Integer> out = new HashMap<>();
        neighbours.forEach((key, count) -> {
            Long plain = guess.get(key >> 1);
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
    private static double score(TokenStatistics observed, long[] seen, Map<Long, Long> guess, Permutation pi) {
        long right = 0;
        for (long cipher : seen) {
            Long plain = guess.get(cipher);
            if (plain != null && pi.invert(Math.toIntExact(cipher)) == plain) {
                right += observed.count(cipher);
            }
        }
        return observed.tokens() == 0 ? 0 : (double) right / observed.tokens();
    }
}
