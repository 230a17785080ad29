package dev.eestream.ops.privacy;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The known strong attack on homophonic substitution, as used on the Zodiac ciphers: a search over the key (which
 * token each ciphertext id stands for) for the one under which the decrypted traffic is most likely, by a bigram
 * language model of the attacker's statistics and the homophonic channel. Simulated annealing with Gibbs moves: each
 * sweep visits every id in random order and draws its token from
 * <pre>  P(t) ∝ exp(( Σ_occurrences [log P(t | left) + log P(right | t)] + Δ channel ) / τ)</pre>
 * where left and right are the current guesses for the id's neighbours (or the request's edge), and the channel term
 * is the change in Σ_t −N_t·log n_t (N_t occurrences and n_t ids guessed for t: the client draws each of t's ids
 * alike, so a token's ids share its frequency). τ falls from 1 to 0 over the sweeps; the last sweeps take the best.
 *
 * <p>The attacker's candidates are the {@code candidates} most frequent tokens of its statistics and one class for
 * all others (an id guessed as that class counts as not recovered). The bigram model is interpolated with the
 * unigram one (Witten–Bell), its edge state is the request's [CLS] or [SEP], which anyone spots by position.
 */
final class HomophoneSolver {
    /**
     * How the search runs.
     *
     * @param candidates the most frequent tokens of the statistics the ids are decrypted to; the rest are one class
     * @param sweeps     passes over all ids; τ falls linearly from {@code temperature} to 0 over all but the last two
     * @param temperature τ of the first sweep (0: every sweep takes the best token, from the start guesses on)
     * @param seed       the random source of the visiting order and the draws
     */
    record Settings(int candidates, int sweeps, double temperature, long seed) {
        Settings {
            if (candidates < 2 || sweeps < 3) {
                throw new IllegalArgumentException("candidates ≥ 2 and sweeps ≥ 3: " + candidates + ", " + sweeps);
            }
        }
    }

    /** The key found (ciphertext id → token; ids guessed as the class of rare tokens are absent) and how long it took. */
    record Outcome(Map<Long, Long> guess, double seconds) {
    }

    private HomophoneSolver() {
    }

    /**
     * Solves the first {@code budget} inner tokens of {@code traffic} (whole requests), starting from {@code start}
     * (ciphertext id → token, e.g. a rank attack's guesses; ids without a start guess, or guessed as a token outside
     * the candidates, start in the rare class).
     */
    static Outcome solve(List<long[]> traffic, long budget, TokenStatistics reference, Map<Long, Long> start,
            Settings settings) {
        long began = System.nanoTime();
        long[] tokens = reference.byFrequency();
        int k = Math.min(settings.candidates(), tokens.length);
        int rare = k;
        int edge = k + 1;
        int states = k + 2;
        Map<Long, Integer> stateOf = new HashMap<>();
        for (int i = 0; i < k; i++) {
            stateOf.put(tokens[i], i);
        }
        float[][] model = bigrams(reference, tokens, stateOf, states, rare, edge);
        float[] forward = model[0];
        float[] backward = model[1];

        // The traffic as dense id indices; each inner token's neighbours, -1 for the request's edge.
        Map<Long, Integer> dense = new HashMap<>();
        int total = 0;
        for (long[] r : traffic) {
            if (total >= budget) {
                break;
            }
            total += Math.max(0, r.length - 2);
        }
        int[] seq = new int[total];
        boolean[] first = new boolean[total];
        boolean[] last = new boolean[total];
        int n = 0;
        for (long[] r : traffic) {
            if (n >= total) {
                break;
            }
            for (int i = 1; i < r.length - 1; i++) {
                seq[n] = dense.computeIfAbsent(r[i], key -> dense.size());
                first[n] = i == 1;
                last[n] = i == r.length - 2;
                n++;
            }
        }
        int ids = dense.size();
        long[] idOf = new long[ids];
        dense.forEach((id, d) -> idOf[d] = id);
        int[][] occurrences = occurrences(seq, ids);

        int[] x = new int[ids];
        long[] tokenCount = new long[k + 1];
        int[] idCount = new int[k + 1];
        for (int d = 0; d < ids; d++) {
            Long guess = start.get(idOf[d]);
            Integer s = guess == null ? null : stateOf.get(guess);
            x[d] = s == null ? rare : s;
            tokenCount[x[d]] += occurrences[d].length;
            idCount[x[d]]++;
        }

        Random random = new Random(settings.seed());
        int[] order = new int[ids];
        for (int d = 0; d < ids; d++) {
            order[d] = d;
        }
        float[] score = new float[k + 1];
        int[] leftCount = new int[states];
        int[] rightCount = new int[states];
        int[] touched = new int[2 * states];
        double[] weight = new double[k + 1];
        int annealed = settings.sweeps() - 2;
        for (int sweep = 0; sweep < settings.sweeps(); sweep++) {
            double tau = sweep < annealed ? settings.temperature() * (1.0 - (double) sweep / annealed) : 0;
            shuffle(order, random);
            for (int d : order) {
                int[] at = occurrences[d];
                int m = at.length;
                tokenCount[x[d]] -= m;
                idCount[x[d]]--;
                Arrays.fill(score, 0f);
                // Occurrences grouped by neighbour state: a common id has far fewer distinct neighbours than occurrences.
                int distinct = 0;
                for (int p : at) {
                    int left = first[p] ? edge : x[seq[p - 1]];
                    int right = last[p] ? edge : x[seq[p + 1]];
                    if (leftCount[left]++ == 0) {
                        touched[distinct++] = left;
                    }
                    if (rightCount[right]++ == 0) {
                        touched[distinct++] = states + right;
                    }
                }
                for (int i = 0; i < distinct; i++) {
                    int state = touched[i];
                    boolean isLeft = state < states;
                    int s = isLeft ? state : state - states;
                    float c = isLeft ? leftCount[s] : rightCount[s];
                    float[] table = isLeft ? forward : backward;
                    int offset = s * states;
                    for (int t = 0; t <= k; t++) {
                        score[t] += c * table[offset + t];
                    }
                    if (isLeft) {
                        leftCount[s] = 0;
                    } else {
                        rightCount[s] = 0;
                    }
                }
                int best = 0;
                double top = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= k; t++) {
                    double s = score[t] + channelGain(tokenCount[t], idCount[t], m);
                    weight[t] = s;
                    if (s > top) {
                        top = s;
                        best = t;
                    }
                }
                int chosen = best;
                if (tau > 0) {
                    double sum = 0;
                    for (int t = 0; t <= k; t++) {
                        double z = (weight[t] - top) / tau;
                        weight[t] = z < -40 ? 0 : Math.exp(z); // below e^-40 of the best: never drawn, and exp is dear
                        sum += weight[t];
                    }
                    double u = random.nextDouble() * sum;
                    for (int t = 0; t <= k; t++) {
                        u -= weight[t];
                        if (u <= 0) {
                            chosen = t;
                            break;
                        }
                    }
                }
                x[d] = chosen;
                tokenCount[chosen] += m;
                idCount[chosen]++;
            }
        }
        Map<Long, Long> guess = new HashMap<>();
        for (int d = 0; d < ids; d++) {
            if (x[d] != rare) {
                guess.put(idOf[d], tokens[x[d]]);
            }
        }
        return new Outcome(guess, (System.nanoTime() - began) / 1e9);
    }

    /** The change in Σ −N·log n when an id seen {@code m} times joins a token guessed {@code count} times over {@code idsNow} ids. */
    private static double channelGain(long count, int idsNow, int m) {
        double before = idsNow == 0 ? 0 : -count * Math.log(idsNow);
        return -(count + m) * Math.log(idsNow + 1) - before;
    }

    /**
     * log P(b | a) as {@code [0][a·states + b]} and as {@code [1][b'·states + a]} = log P(b' | a) (for a fixed right
     * neighbour b', over the candidates a), Witten–Bell interpolated with the unigram model of successors.
     */
    private static float[][] bigrams(TokenStatistics reference, long[] tokens, Map<Long, Integer> stateOf, int states,
            int rare, int edge) {
        double[][] counts = new double[states][states];
        for (long t : tokens) {
            int a = stateOf.getOrDefault(t, rare);
            reference.neighbours(t).forEach((key, count) -> {
                long neighbour = key >> 1;
                int b = neighbour == TokenStatistics.EDGE ? edge : stateOf.getOrDefault(neighbour, rare);
                if ((key & 1) == 1) {
                    counts[a][b] += count;
                } else if (neighbour == TokenStatistics.EDGE) {
                    counts[edge][a] += count; // a request's first inner token follows the edge
                }
            });
        }
        double[] unigram = new double[states];
        double all = 0;
        for (int a = 0; a < states; a++) {
            for (int b = 0; b < states; b++) {
                unigram[b] += counts[a][b];
                all += counts[a][b];
            }
        }
        for (int b = 0; b < states; b++) {
            unigram[b] = (unigram[b] + 1) / (all + states);
        }
        float[] forward = new float[states * states];
        float[] backward = new float[states * states];
        for (int a = 0; a < states; a++) {
            double seen = 0;
            int types = 0;
            for (int b = 0; b < states; b++) {
                seen += counts[a][b];
                types += counts[a][b] > 0 ? 1 : 0;
            }
            for (int b = 0; b < states; b++) {
                double p = seen == 0 ? unigram[b] : (counts[a][b] + types * unigram[b]) / (seen + types);
                float log = (float) Math.log(p);
                forward[a * states + b] = log;
                backward[b * states + a] = log;
            }
        }
        return new float[][] {forward, backward};
    }

    private static int[][] occurrences(int[] seq, int ids) {
        int[] count = new int[ids];
        for (int d : seq) {
            count[d]++;
        }
        int[][] out = new int[ids][];
        for (int d = 0; d < ids; d++) {
            out[d] = new int[count[d]];
        }
        int[] filled = new int[ids];
        for (int p = 0; p < seq.length; p++) {
            out[seq[p]][filled[seq[p]]++] = p;
        }
        return out;
    }

    private static void shuffle(int[] a, Random random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
