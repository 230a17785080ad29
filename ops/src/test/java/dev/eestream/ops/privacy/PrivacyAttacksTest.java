package dev.eestream.ops.privacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.LengthPadding;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/** The privacy benchmark's attacks on small inputs where the right answer is known. */
class PrivacyAttacksTest {
    private final EeKey key = EeKey.generate();

    @Test
    void weightMatchingRecoversPiAndRhoFromTheBaseModelAndNothingFromAnotherModel() {
        ModelProto base = TinyModels.encoder(7, null);
        ModelTransformer.Result ee = ModelTransformer.transform(base, TransformSpec.builder(Task.EMBED).key(key).build());
        Permutation pi = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        Permutation rho = key.hiddenPermutation(TinyModels.HIDDEN);
        WeightMatching.Outcome outcome = WeightMatching.attack(base, ee.model(), ee.manifest().idsInput(), pi, rho);
        assertEquals(TinyModels.ENCODER_VOCAB, outcome.piRecovered());
        assertEquals(TinyModels.HIDDEN, outcome.rhoRecovered());
        // Public weights of another model (another seed) say nothing about this one.
        WeightMatching.Outcome unrelated = WeightMatching.attack(TinyModels.encoder(8, null), ee.model(),
                ee.manifest().idsInput(), pi, rho);
        assertEquals(0, unrelated.piRecovered());
    }

    /** Without any public weights, the model file alone groups a token's homophones: they share a row. */
    @Test
    void equalRowsGroupEveryTokensHomophonesFromTheModelFileAlone() {
        long[] counts = new long[TinyModels.ENCODER_VOCAB];
        for (int t = 0; t < counts.length; t++) {
            counts[t] = 1 + (t * 7L) % 13;
        }
        Homophones homophones = Homophones.proportional(counts, 4);
        ModelTransformer.Result ee = ModelTransformer.transform(TinyModels.encoder(7, null), TransformSpec.builder(Task.EMBED)
                .key(key).hiddenPermutation(true).homophones(homophones).build());
        CipherVocabulary cipher = key.vocabulary(homophones);
        Map<Long, Long> groups = WeightMatching.equalRows(ee.model(), ee.manifest().idsInput());
        assertEquals(homophones.slotCount(), groups.size());
        for (int t = 0; t < TinyModels.ENCODER_VOCAB; t++) {
            long[] ids = cipher.cipherIdsOf(t);
            for (long id : ids) {
                assertEquals(groups.get(ids[0]), groups.get(id), "token " + t + "'s ids share one group");
            }
        }
        assertEquals(TinyModels.ENCODER_VOCAB, groups.values().stream().distinct().count(), "one group per token");
    }

    /** The labels of a zero-shot classifier with ρ, named from its file and the public weights alone. */
    @Test
    void labelRecoveryNamesAZeroShotClassifiersLabels() throws Exception {
        ModelProto base = TinyModels.encoder(7, null);
        TokenizerJson tokenizer = SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB);
        List<String> labels = List.of("w12", "w30", "w7", "w41");
        ModelTransformer.Result classifier = ModelEncryptor.encrypt(base, tokenizer, TransformSpec.builder(Task.CLASSIFY)
                .key(key).hiddenPermutation(true).modelId("c").build(), labels, s -> { });
        WeightMatching.Outcome weights = WeightMatching.attack(base, classifier.model(), classifier.manifest().idsInput(),
                key.vocabPermutation(TinyModels.ENCODER_VOCAB), key.hiddenPermutation(TinyModels.HIDDEN));
        assertEquals(TinyModels.HIDDEN, weights.rhoRecovered());
        Permutation sigma = key.labelPermutation(labels.size());
        String[] byColumn = new String[labels.size()];
        for (int j = 0; j < labels.size(); j++) {
            byColumn[sigma.apply(j)] = labels.get(j);
        }
        LabelRecovery.Outcome named = LabelRecovery.attack(base, tokenizer, classifier.model(), TinyModels.HIDDEN,
                weights.eeColumnOf(), List.of(byColumn));
        assertTrue(named.found());
        assertEquals(List.of(byColumn), named.guesses(), "each column named with its label, so σ too");
        assertEquals(labels.size(), named.named());
        assertTrue(named.cosines().stream().allMatch(c -> c > 0.9999f), named.cosines().toString());
    }

    @Test
    void frequencyAnalysisNeedsStatisticsLikeTheTraffic() {
        Permutation pi = key.vocabPermutation(1000);
        List<long[]> traffic = encrypt(zipfRequests(3000, 1000, 1), pi);
        TokenStatistics sameSource = TokenStatistics.of(zipfRequests(3000, 1000, 2), Long.MAX_VALUE);
        TokenStatistics uniform = TokenStatistics.of(uniformRequests(3000, 1000, 3), Long.MAX_VALUE);
        FrequencyAnalysis.Recovery informed = FrequencyAnalysis.attack(traffic, 50_000, sameSource, pi);
        FrequencyAnalysis.Recovery blind = FrequencyAnalysis.attack(traffic, 50_000, uniform, pi);
        assertTrue(informed.tokens() >= 50_000, informed.toString());
        assertTrue(informed.rankShare() > 0.3, "rank attack with the traffic's own statistics: " + informed);
        assertTrue(informed.contextShare() >= informed.rankShare() - 0.05, "neighbours do not undo the rank guesses: " + informed);
        assertTrue(blind.rankShare() < 0.05, "rank attack with unrelated statistics: " + blind);
    }

    @Test
    void homophonesFlattenTheRanksAndOnlyAGroupingOfTheirIdsWouldUndoThem() {
        int vocab = 1000;
        List<long[]> plain = zipfRequests(3000, vocab, 1);
        TokenStatistics sameSource = TokenStatistics.of(zipfRequests(3000, vocab, 2), Long.MAX_VALUE);
        // The client allots by its own held-out sample; the attacker applies the same rule to its statistics.
        Homophones homophones = Homophones.proportional(counts(zipfRequests(3000, vocab, 4), vocab), 4);
        CipherVocabulary cipher = key.vocabulary(homophones);
        List<long[]> traffic = encrypt(plain, cipher);
        TokenStatistics observed = TokenStatistics.of(traffic, 50_000);
        LongUnaryOperator truth = c -> cipher.decrypt(Math.toIntExact(c));

        FrequencyAnalysis.Recovery naive = FrequencyAnalysis.attack(observed, sameSource, sameSource.byFrequency(), truth);
        long[] referenceCounts = new long[vocab];
        for (long t : sameSource.byFrequency()) {
            referenceCounts[(int) t] = sameSource.count(t);
        }
        FrequencyAnalysis.Recovery aware = FrequencyAnalysis.attack(observed, sameSource, FrequencyAnalysis.expectedSlots(
                sameSource, Homophones.proportional(referenceCounts, 4).counts()), truth);
        // Grouped by the truth: what a perfect grouping attack would reach, the traffic without homophones.
        Map<Long, Long> perfect = new HashMap<>();
        java.util.Arrays.stream(observed.byFrequency()).forEach(c -> perfect.put(c, cipher.encryptFirst((int) truth.applyAsLong(c))));
        TokenStatistics grouped = TokenStatistics.of(HomophoneGrouping.relabel(traffic, perfect), 50_000);
        FrequencyAnalysis.Guesses g = FrequencyAnalysis.guesses(grouped, sameSource, sameSource.byFrequency());
        double perfectShare = FrequencyAnalysis.score(observed, HomophoneGrouping.perId(g.byRank(), perfect), truth);
        System.out.printf("homophones on a Zipf source: rank %.1f %%, expected ids %.1f %%, perfectly grouped %.1f %%%n",
                100 * naive.rankShare(), 100 * aware.rankShare(), 100 * perfectShare);
        assertTrue(naive.rankShare() < 0.05 && aware.rankShare() < 0.1, naive + " " + aware);
        assertTrue(perfectShare > 0.3, "grouping the ids perfectly gives the rank attack back: " + perfectShare);
    }

    @Test
    void theSolverBreaksHomophonesThatKeepFrequenciesAndThoseThatDoNotOnceSomeIdsAreKnown() {
        int vocab = 200;
        TokenStatistics reference = TokenStatistics.of(markovRequests(8000, vocab, 8), Long.MAX_VALUE);
        long[] referenceCounts = new long[vocab];
        for (long t : reference.byFrequency()) {
            referenceCounts[(int) t] = reference.count(t);
        }
        List<long[]> plain = markovRequests(600, vocab, 9);
        long[] clientCounts = counts(markovRequests(3000, vocab, 7), vocab);

        // Uniform homophones keep each token's frequency in its ids: ranks give the solver a start. How far it gets
        // varies with the random key (over 40 keys: 92-98 %, 6-38 points above neighbours; in two CI runs one key each
        // gave 89 %), so the median of five keys is asserted.
        List<Solved> uniform = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            uniform.add(solve(EeKey.generate(), plain, reference, Homophones.uniform(vocab, 4), Homophones.uniform(vocab, 4),
                    0));
        }
        double medianSolver = median(uniform.stream().mapToDouble(Solved::solver).toArray());
        double medianGain = median(uniform.stream().mapToDouble(u -> u.solver() - u.neighbours()).toArray());
        assertTrue(medianSolver > 0.9 && medianGain > 0.05, "the solver recovers what rank and neighbours do not, "
                + "median of five keys " + medianSolver + " (" + medianGain + " above neighbours): " + uniform);

        // Proportional homophones flatten them; ids whose token the attacker knows (from known plaintext) are a start.
        Homophones proportional = Homophones.proportional(clientCounts, 4);
        Homophones expected = Homophones.proportional(referenceCounts, 4);
        Solved blind = solve(key, plain, reference, proportional, expected, 0);
        Solved seeded = solve(key, plain, reference, proportional, expected, 0.2);
        // Started from those ranks alone the solver sometimes finds the key and sometimes not, by the random key: printed.
        assertTrue(blind.rank() < 0.15, "proportional homophones leave ranks little: " + blind);
        assertTrue(seeded.solver() > 0.9, "a fifth of the ids known gives the solver the rest: " + seeded);
    }

    /** Shares of tokens recovered by rank (expected ids), by neighbours and by the solver started from the rank guesses. */
    private record Solved(double rank, double neighbours, double solver, double seconds) {
    }

    /** The middle value of an odd number of values. */
    private static double median(double[] values) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * The attacks on {@code plain} encrypted under {@code key} with {@code homophones}, a share {@code known} of the ids
     * given to the solver.
     */
    private static Solved solve(EeKey key, List<long[]> plain, TokenStatistics reference, Homophones homophones,
            Homophones expected, double known) {
        CipherVocabulary cipher = key.vocabulary(homophones);
        LongUnaryOperator truth = c -> cipher.decrypt(Math.toIntExact(c));
        List<long[]> traffic = encrypt(plain, cipher);
        TokenStatistics observed = TokenStatistics.of(traffic, Long.MAX_VALUE);
        FrequencyAnalysis.Guesses g = FrequencyAnalysis.guesses(observed, reference, FrequencyAnalysis.expectedSlots(reference,
                expected.counts()));
        Map<Long, Long> start = new HashMap<>(g.byRank());
        Random r = new Random(3);
        for (long c : observed.byFrequency()) {
            if (r.nextDouble() < known) {
                start.put(c, truth.applyAsLong(c));
            }
        }
        HomophoneSolver.Outcome o = HomophoneSolver.solve(traffic, Long.MAX_VALUE, reference, start,
                new HomophoneSolver.Settings(homophones.vocabSize(), 30, 1, 1));
        Solved s = new Solved(FrequencyAnalysis.score(observed, g.byRank(), truth), FrequencyAnalysis.score(observed,
                g.byNeighbours(), truth), FrequencyAnalysis.score(observed, o.guess(), truth), o.seconds());
        System.out.printf("solver on a Markov source, %,d tokens, %,d ids, %.0f %% of them known: by rank %.1f %%, by neighbours "
                + "%.1f %%, solver %.1f %% in %.1f s%n", observed.tokens(), homophones.slotCount(), 100 * known, 100 * s.rank(),
                100 * s.neighbours(), 100 * s.solver(), s.seconds());
        return s;
    }

    @Test
    void groupingFindsHomophonesWhereNeighboursTellThem() {
        // Each token is followed by one of two fixed successors: homophones of a token share their neighbours.
        int vocab = 60;
        Random r = new Random(5);
        List<long[]> plain = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            long[] ids = new long[12];
            ids[0] = 0;
            ids[11] = vocab - 1;
            ids[1] = 1 + r.nextInt(vocab - 2);
            for (int j = 2; j < 11; j++) {
                ids[j] = 1 + (ids[j - 1] * (r.nextBoolean() ? 7 : 13)) % (vocab - 2);
            }
            plain.add(ids);
        }
        CipherVocabulary cipher = key.vocabulary(Homophones.uniform(vocab, 3));
        TokenStatistics observed = TokenStatistics.of(encrypt(plain, cipher), Long.MAX_VALUE);
        Map<Long, Long> groups = HomophoneGrouping.group(observed, 3, 0.5, 3, 3);
        HomophoneGrouping.Quality q = HomophoneGrouping.quality(groups, c -> cipher.decrypt(Math.toIntExact(c)));
        System.out.printf("grouping where neighbours tell: %d of %d ids grouped, %.0f %% rightly%n", q.grouped(), q.ids(),
                100 * q.pure());
        assertTrue(q.grouped() > 0.8 * q.ids() && q.pure() > 0.9, q.toString());
    }

    @Test
    void freeLeaksCountSpecialPositionsAndRepeats() {
        List<long[]> requests = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            requests.add(new long[] {101, 5 + i % 7, 6, 102});
        }
        FreeLeaks leaks = FreeLeaks.of(requests);
        assertEquals(1.0, leaks.specialsAtFixedPositions());
        assertEquals(0.3, leaks.repeated(), 1e-9, "requests 7, 8 and 9 repeat 0, 1 and 2");
    }

    /**
     * Length buckets hide lengths from an observer of sizes, not from whoever finds the end token's ids: without
     * homophones [SEP] is one id in every request, and the attack taking the ids in the most requests for it names
     * every length. With homophones it has as many ids as [CLS], each in few requests.
     */
    @Test
    void lengthBucketsHideLengthsFromSizesAndWithHomophonesFromThePresenceAttack() {
        int vocab = 1000;
        List<long[]> plain = zipfRequests(3000, vocab, 1);
        List<long[]> statistics = zipfRequests(3000, vocab, 2);
        int[] buckets = {16, 32, 64};
        int[] real = plain.stream().mapToInt(r -> r.length).toArray();
        Map<Integer, Integer> mode = LengthAttacks.modeByBucket(statistics, buckets);
        double[] exact = new double[3];
        for (int n : new int[] {1, 4}) {
            Homophones h = n == 1 ? Homophones.none(vocab) : Homophones.proportional(counts(zipfRequests(3000, vocab, 4), vocab), n);
            CipherVocabulary cipher = key.vocabulary(h);
            LengthPadding padding = new LengthPadding(cipher, buckets, 0, vocab - 1);
            List<long[]> traffic = encrypt(plain, cipher);
            List<long[]> padded = new ArrayList<>();
            for (int i = 0; i < plain.size(); i++) {
                padded.add(padding.pad(plain.get(i), traffic.get(i)));
            }
            assertTrue(padded.stream().allMatch(r -> r.length == 16 || r.length == 32 || r.length == 64));
            LengthAttacks.Outcome sizes = LengthAttacks.sizesOnly(padded, real, mode);
            LengthAttacks.Outcome presence = LengthAttacks.endByPresence(padded, real, mode);
            System.out.printf("length buckets on a Zipf source, %d homophone(s): sizes %.1f %% exact, presence %.1f %%, "
                    + "%d ids of [SEP]%n", n, 100 * sizes.exact(), 100 * presence.exact(), h.count(vocab - 1));
            assertTrue(sizes.exact() < 0.2, "lengths 10-40 in 3 buckets: " + sizes);
            exact[n == 1 ? 0 : 1] = presence.exact();
        }
        assertEquals(1.0, exact[0], 1e-9, "without homophones [SEP] gives every length away");
        assertTrue(exact[1] < 0.5, "with homophones the presence attack misses most: " + exact[1]);
        int[] all = new int[real.length];
        assertTrue(LengthAttacks.entropyBits(real, all) > 4.5, "31 lengths, about evenly: about 5 bits");
    }

    /** Requests of 10-40 ids drawn from a Zipf law over [1, vocab), framed by 0 … vocab-1 as [CLS] … [SEP]. */
    private static List<long[]> zipfRequests(int count, int vocab, long seed) {
        double[] cumulative = zipfCumulative(vocab);
        return framedRequests(count, vocab, seed, (r, ids, j) -> zipf(r, cumulative));
    }

    /** How a synthetic source draws the inner token at position {@code j}, the tokens before it already in place. */
    private interface InnerToken {
        int draw(Random r, long[] ids, int j);
    }

    /** Requests of 10-40 ids, framed by 0 … vocab-1 as [CLS] … [SEP], their inner tokens drawn by {@code inner}. */
    private static List<long[]> framedRequests(int count, int vocab, long seed, InnerToken inner) {
        Random r = new Random(seed);
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long[] ids = new long[10 + r.nextInt(31)];
            ids[0] = 0;
            ids[ids.length - 1] = vocab - 1;
            for (int j = 1; j < ids.length - 1; j++) {
                ids[j] = inner.draw(r, ids, j);
            }
            out.add(ids);
        }
        return out;
    }

    /**
     * Requests of 10-40 ids framed by 0 … vocab-1, like text: the first inner token from a Zipf law over [1, vocab), each
     * next one with probability 0.8 one of four fixed successors of the one before it (the same in every corpus of
     * this vocabulary, themselves drawn by the Zipf law, the first most often), else from the Zipf law.
     */
    private static List<long[]> markovRequests(int count, int vocab, long seed) {
        double[] cumulative = zipfCumulative(vocab);
        Random fixed = new Random(vocab);
        int[][] successors = new int[vocab][4];
        for (int[] row : successors) {
            for (int j = 0; j < row.length; j++) {
                row[j] = zipf(fixed, cumulative);
            }
        }
        return framedRequests(count, vocab, seed, (r, ids, j) -> j > 1 && r.nextDouble() < 0.8
                ? successors[(int) ids[j - 1]][Math.min(3, (int) (-Math.log(r.nextDouble())))] : zipf(r, cumulative));
    }

    /** Running sums of 1/k for k in [1, vocab-1): the last entry is the total. */
    private static double[] zipfCumulative(int vocab) {
        double[] cumulative = new double[vocab - 1];
        double sum = 0;
        for (int k = 1; k < vocab - 1; k++) {
            sum += 1.0 / k;
            cumulative[k] = sum;
        }
        return cumulative;
    }

    /** A draw from the Zipf law over [1, vocab) of {@link #zipfCumulative}. */
    private static int zipf(Random r, double[] cumulative) {
        double u = r.nextDouble() * cumulative[cumulative.length - 1];
        int k = 1;
        while (cumulative[k] < u) {
            k++;
        }
        return k;
    }

    private static List<long[]> uniformRequests(int count, int vocab, long seed) {
        Random r = new Random(seed);
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long[] ids = new long[25];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = 1 + r.nextInt(vocab - 2);
            }
            out.add(ids);
        }
        return out;
    }

    private static long[] counts(List<long[]> requests, int vocab) {
        long[] counts = new long[vocab];
        for (long[] r : requests) {
            for (long t : r) {
                counts[(int) t]++;
            }
        }
        return counts;
    }

    private static List<long[]> encrypt(List<long[]> plain, CipherVocabulary vocab) {
        List<long[]> out = new ArrayList<>();
        for (long[] ids : plain) {
            out.add(java.util.Arrays.stream(ids).map(t -> vocab.encrypt(Math.toIntExact(t))).toArray());
        }
        return out;
    }

    private static List<long[]> encrypt(List<long[]> plain, Permutation pi) {
        List<long[]> out = new ArrayList<>();
        for (long[] ids : plain) {
            long[] c = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                c[i] = pi.apply(Math.toIntExact(ids[i]));
            }
            out.add(c);
        }
        return out;
    }
}
