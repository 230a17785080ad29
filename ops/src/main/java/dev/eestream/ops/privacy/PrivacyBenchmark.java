package dev.eestream.ops.privacy;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.LengthPadding;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ClassifierKind;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.LongUnaryOperator;

/**
 * The privacy benchmark: what each party recovers, measured by running the attacks of {@link WeightMatching}
 * (the processor's operator holding the public base weights), {@link FrequencyAnalysis} (a reader of the request
 * topic, no weights) and {@link FreeLeaks} (anyone on the topic) against one key, and printed as a table.
 */
public final class PrivacyBenchmark {
    private static final long[] BUDGETS = {1_000, 10_000, 100_000, 1_000_000};
    private static final long SHUFFLE_SEED = 20_261_130L;

    /**
     * What to attack.
     *
     * @param homophones   the homophone budgets to measure (1: none), each against the same traffic
     * @param proportional whether homophones are allotted by token frequency (else the same number for every token)
     * @param lengthBuckets the request lengths clients pad to, for the length attacks; null to skip them
     * @param labels       the labels of the zero-shot classifier made for the label attack (ignored with a user's model)
     * @param userModel    a user's EE model to attack instead of those made here, encrypted with {@code key}; or null
     * @param solverBudgets the traffic sizes (tokens) the homophonic-cipher solver runs at; empty to skip it
     */
    public record Setup(EeKey key, ModelProto base, TokenizerJson tokenizer, List<String> traffic, List<String> reference,
            String trafficName, String referenceName, List<Integer> homophones, boolean proportional,
            List<Integer> lengthBuckets, List<String> labels, UserModel userModel, List<Long> solverBudgets) {
        public Setup {
            homophones = List.copyOf(homophones);
            solverBudgets = List.copyOf(solverBudgets);
        }
    }

    /** A user's EE model (encrypt-model's output) with its client profile, which scores the attacks. */
    public record UserModel(String name, ModelProto model, ModelManifest manifest, ClientProfile profile) {
    }

    /** Grouping thresholds tried; the best is reported, as an attacker who could tell would pick it. */
    private static final double[] GROUPING_THRESHOLDS = {0.2, 0.35};
    /** The grouping attack runs at this many tokens (the targets' budget): it takes minutes. */
    private static final long GROUPING_BUDGET = 1_000_000;
    /** Merge rounds: groups can at most double per round, and the commonest tokens have hundreds of ids. */
    private static final int GROUPING_ROUNDS = 8;

    /** The solver's candidates: the attacker's commonest tokens (the rest are one class); its cost grows with them. */
    private static final int SOLVER_CANDIDATES = 4000;
    private static final int SOLVER_SWEEPS = 30;
    /** The solver seeded with known plaintext: the attacker knows every KNOWN_EVERY-th request (at KNOWN_BUDGET tokens). */
    private static final int KNOWN_EVERY = 100;
    private static final long KNOWN_BUDGET = 100_000;

    private final PrintWriter out;

    public PrivacyBenchmark(PrintWriter out) {
        this.out = out;
    }

    public void run(Setup setup) throws IOException {
        EeKey key = setup.key();
        out.println("privacy benchmark, key " + key.keyId());

        long started = System.nanoTime();
        ModelTransformer.TokenEmbedding table = ModelTransformer.tokenEmbedding(setup.base(), null);
        Permutation pi = key.vocabPermutation(table.vocabSize());
        Permutation rho = key.hiddenPermutation(table.hiddenSize());
        UserModel user = setup.userModel();
        WeightMatching.Outcome weights;
        LabelRecovery.Outcome labels = null;
        String noRho = "";
        if (user == null) {
            ModelTransformer.Result ee = ModelTransformer.transform(setup.base(), TransformSpec.builder(Task.EMBED).key(key)
                    .build());
            out.printf(Locale.ROOT, "EE model made for the attack (embed, π and ρ) in %.1f s%n",
                    (System.nanoTime() - started) / 1e9);
            weights = WeightMatching.attack(setup.base(), ee.model(), ee.manifest().idsInput(), pi, rho);
            // A zero-shot classifier with ρ: its label embeddings sit in its head, under ρ and σ.
            ModelTransformer.Result classifier = ModelEncryptor.encrypt(setup.base(), setup.tokenizer(), TransformSpec
                    .builder(Task.CLASSIFY).key(key).hiddenPermutation(true).modelId("classify").build(), setup.labels(), x -> { });
            WeightMatching.Outcome its = WeightMatching.attack(setup.base(), classifier.model(),
                    classifier.manifest().idsInput(), pi, rho);
            labels = LabelRecovery.attack(setup.base(), setup.tokenizer(), classifier.model(), table.hiddenSize(),
                    its.eeColumnOf(), byColumn(setup.labels(), key));
        } else {
            out.printf(Locale.ROOT, "attacking %s (%s, %,d ciphertext ids)%n", user.name(), user.manifest().task(),
                    user.manifest().vocabSize());
            CipherVocabulary own = user.profile().vocabulary(key);
            weights = WeightMatching.attack(setup.base(), user.model(), user.manifest().idsInput(), own::decrypt, rho);
            if (weights.rhoRecovered() == 0) {
                // Without ρ the attack finds the identity: score its columns against that.
                int[] found = weights.eeColumnOf();
                int inPlace = (int) java.util.stream.IntStream.range(0, found.length).filter(c -> found[c] == c).count();
                if (inPlace > 0) {
                    weights = new WeightMatching.Outcome(weights.vocab(), weights.piRecovered(), weights.piAmbiguous(),
                            weights.piSeconds(), weights.width(), inPlace, weights.rhoSeconds(), found);
                    noRho = " (the model has no ρ: the columns found are in place)";
                }
            }
            if (user.profile().classifier() == ClassifierKind.ZERO_SHOT) {
                labels = LabelRecovery.attack(setup.base(), setup.tokenizer(), user.model(), table.hiddenSize(),
                        weights.eeColumnOf(), byColumn(user.profile().labels(), key));
            }
        }

        List<long[]> trafficPlain = new ArrayList<>();
        List<long[]> sameDomain = new ArrayList<>();
        List<long[]> clientSample = new ArrayList<>();
        List<long[]> unrelated = new ArrayList<>();
        long[] specials;
        int longest;
        try (PrivateTokenizer tokenizer = PrivateTokenizer.open(setup.tokenizer(), null, table.vocabSize(), null)) {
            specials = tokenizer.encodePlain("");
            longest = tokenizer.maxLength();
            // Texts in a fixed random order, so that the first N tokens are a sample of the whole domain, not of the
            // first files; then by turns: the traffic, same-domain statistics the attacker might find, and the client's
            // own sample of its domain that homophones are allotted by (held out from both).
            List<String> texts = new ArrayList<>(setup.traffic());
            Collections.shuffle(texts, new Random(SHUFFLE_SEED));
            for (int i = 0; i < texts.size(); i++) {
                List<long[]> to = i % 3 == 1 ? trafficPlain : i % 3 == 0 ? sameDomain : clientSample;
                to.add(tokenizer.encodePlain(texts.get(i)));
            }
            for (String text : setup.reference()) {
                unrelated.add(tokenizer.encodePlain(text));
            }
        }
        TokenStatistics unrelatedStats = TokenStatistics.of(unrelated, Long.MAX_VALUE);
        TokenStatistics sameDomainStats = TokenStatistics.of(sameDomain, Long.MAX_VALUE);
        long available = TokenStatistics.of(trafficPlain, Long.MAX_VALUE).tokens();
        out.printf(Locale.ROOT, "traffic: %s, %,d requests, %,d inner tokens; statistics: %s (%,d tokens) and a third of the "
                + "traffic's corpus (%,d tokens); homophones allotted %s%n", setup.trafficName(), trafficPlain.size(), available,
                setup.referenceName(), unrelatedStats.tokens(), sameDomainStats.tokens(),
                user != null ? "as in the model's client profile"
                        : setup.proportional() ? "by the token counts of another third (" + String.format(Locale.ROOT, "%,d",
                                TokenStatistics.of(clientSample, Long.MAX_VALUE).tokens()) + " tokens)" : "evenly");
        out.println();
        out.println("| party | attack | recovered |");
        out.println("|---|---|---|");
        out.printf(Locale.ROOT, "| processor operator with the public base weights | sorted-row matching: π | %,d of %,d "
                + "ciphertext ids named with their token (%.1f %%) in %.2f s; %,d ids match more than one row |%n",
                weights.piRecovered(), weights.vocab(),
                100.0 * weights.piRecovered() / weights.vocab(), weights.piSeconds(), weights.piAmbiguous());
        out.printf(Locale.ROOT, "| | column matching over matched rows: ρ | %d of %d (%.1f %%) in %.3f s more%s |%n",
                weights.rhoRecovered(), weights.width(), 100.0 * weights.rhoRecovered() / weights.width(), weights.rhoSeconds(),
                noRho);
        if (labels != null) {
            out.printf(Locale.ROOT, "| | label names of a zero-shot classifier, and with them σ: each head column matched "
                    + "to the closest of every vocabulary word, embedded by the public model | %s |%n", labels.found()
                    ? String.format(Locale.ROOT, "%d of %d labels named, in %.1f s over %,d words: %s", labels.named(),
                            labels.guesses().size(), labels.seconds(), labels.words(), LabelRecovery.describe(labels))
                    : "no [hidden, labels] constant found");
        }
        long[] clientCounts = counts(clientSample, table.vocabSize());
        boolean weightsWithHomophones = user != null;
        List<Integer> budgets = user == null ? setup.homophones()
                : List.of(Math.max(1, Math.round((float) user.profile().homophones().slotCount() / table.vocabSize())));
        for (int n : budgets) {
            Homophones homophones = user != null ? user.profile().homophones() : n == 1 ? Homophones.none(table.vocabSize())
                    : setup.proportional() ? Homophones.proportional(clientCounts, n) : Homophones.uniform(table.vocabSize(), n);
            CipherVocabulary vocab = key.vocabulary(homophones);
            List<long[]> traffic = new ArrayList<>(trafficPlain.size());
            for (long[] plain : trafficPlain) {
                long[] cipher = new long[plain.length];
                for (int i = 0; i < plain.length; i++) {
                    cipher[i] = vocab.encrypt(Math.toIntExact(plain[i]));
                }
                traffic.add(cipher);
            }
            if (n > 1 && !weightsWithHomophones) {
                weightsWithHomophones = true; // at the first budget only: its memory grows with N
                // Homophones copy rows: each copy still matches its public row.
                ModelTransformer.Result withHomophones = ModelTransformer.transform(setup.base(), TransformSpec
                        .builder(Task.EMBED).key(key).homophones(homophones).build());
                WeightMatching.Outcome w = WeightMatching.attack(setup.base(), withHomophones.model(),
                        withHomophones.manifest().idsInput(), vocab::decrypt, rho);
                out.printf(Locale.ROOT, "| processor operator with the public base weights, %d homophones | sorted-row "
                        + "matching | %,d of %,d ciphertext ids (%.1f %%) named with their token in %.2f s; ρ %d of %d |%n", n,
                        w.piRecovered(), w.vocab(), 100.0 * w.piRecovered() / w.vocab(), w.piSeconds(), w.rhoRecovered(),
                        w.width());
                equalRows(n, WeightMatching.equalRows(withHomophones.model(), withHomophones.manifest().idsInput()),
                        traffic, vocab, unrelatedStats, sameDomainStats, available);
            }
            if (user != null && homophones.slotCount() > homophones.vocabSize()) {
                equalRows(n, WeightMatching.equalRows(user.model(), user.manifest().idsInput()), traffic, vocab, unrelatedStats,
                        sameDomainStats, available);
            }
            measure(n, setup.proportional(), homophones, vocab, traffic, unrelatedStats, sameDomainStats, available,
                    setup.solverBudgets());
            if (setup.lengthBuckets() != null) {
                int[] buckets = LengthPadding.upTo(setup.lengthBuckets().stream().mapToInt(Integer::intValue).toArray(),
                        longest);
                lengths(n, buckets, vocab, trafficPlain, traffic, sameDomain, Math.toIntExact(specials[0]),
                        Math.toIntExact(specials[specials.length - 1]));
            }
        }
        out.println();
        out.println("Shares of tokens are of inner tokens ([CLS] and [SEP] excluded), scored against the true key, which the "
                + "attacks never read. With homophones, 'expected ids' ranks each token k times at 1/k of its frequency, "
                + "k by the allotment rule applied to the attacker's statistics (the attacker knows the rule and N); "
                + "'grouped' first merges ids whose neighbours agree (HomophoneGrouping; the best of thresholds "
                + java.util.Arrays.toString(GROUPING_THRESHOLDS) + ", as chosen with hindsight), then attacks the groups "
                + "as tokens.");
        out.flush();
    }

    private void measure(int n, boolean proportional, Homophones homophones, CipherVocabulary vocab, List<long[]> traffic,
            TokenStatistics unrelatedStats, TokenStatistics sameDomainStats, long available, List<Long> solverBudgets) {
        String who = n == 1 ? "request-topic reader, no weights" : "request-topic reader, " + n + " homophones per token ("
                + String.format(Locale.ROOT, "%,d", homophones.slotCount()) + " ids)";
        LongUnaryOperator truth = c -> vocab.decrypt(Math.toIntExact(c));
        long[] unrelatedRank = unrelatedStats.byFrequency();
        long[] sameRank = sameDomainStats.byFrequency();
        long[] expectedIds = null;
        long[] unrelatedExpectedIds = null;
        int maxGroup = n;
        if (n > 1) {
            Homophones attackerGuess = attackerGuess(sameDomainStats, homophones.vocabSize(), n, proportional);
            expectedIds = FrequencyAnalysis.expectedSlots(sameDomainStats, attackerGuess.counts());
            unrelatedExpectedIds = FrequencyAnalysis.expectedSlots(unrelatedStats,
                    attackerGuess(unrelatedStats, homophones.vocabSize(), n, proportional).counts());
            // Groups may grow as large as the attacker expects the commonest token's ids to be.
            maxGroup = java.util.Arrays.stream(attackerGuess.counts()).max().orElse(n);
        }
        // With homophones, also all the traffic there is: grouping gets better with more observations per id.
        long[] budgets = n > 1 && available > BUDGETS[BUDGETS.length - 1]
                ? java.util.stream.LongStream.concat(java.util.Arrays.stream(BUDGETS), java.util.stream.LongStream.of(available))
                        .toArray() : BUDGETS;
        for (long budget : budgets) {
            if (budget > available) {
                out.printf(Locale.ROOT, "| %s | frequency analysis at %,d tokens | not run: the traffic holds %,d |%n", who,
                        budget, available);
                continue;
            }
            long started = System.nanoTime();
            TokenStatistics observed = TokenStatistics.of(traffic, budget);
            FrequencyAnalysis.Recovery other = FrequencyAnalysis.attack(observed, unrelatedStats, unrelatedRank, truth);
            FrequencyAnalysis.Recovery same = FrequencyAnalysis.attack(observed, sameDomainStats, sameRank, truth);
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | frequency analysis at %,d tokens (%,d "
                    + "distinct ids) | by rank %.1f %%, by neighbours %.1f %% (unrelated statistics); by rank %.1f %%, by "
                    + "neighbours %.1f %% (same-domain statistics)", who, other.tokens(), other.distinct(),
                    100 * other.rankShare(), 100 * other.contextShare(), 100 * same.rankShare(), 100 * same.contextShare()));
            if (expectedIds != null) {
                FrequencyAnalysis.Recovery aware = FrequencyAnalysis.attack(observed, sameDomainStats, expectedIds, truth);
                row.append(String.format(Locale.ROOT, "; expected ids: by rank %.1f %%, by neighbours %.1f %%",
                        100 * aware.rankShare(), 100 * aware.contextShare()));
                if (budget == GROUPING_BUDGET) {
                    row.append(grouped(traffic, budget, observed, sameDomainStats, truth, maxGroup));
                }
            }
            out.println(row.append(String.format(Locale.ROOT, " (%.0f s) |", (System.nanoTime() - started) / 1e9)));
            out.flush();
        }
        for (long budget : solverBudgets) {
            if (budget > available) {
                out.printf(Locale.ROOT, "| %s | homophonic-cipher solver at %,d tokens | not run: the traffic holds %,d |%n", who,
                        budget, available);
                continue;
            }
            solver(who, traffic, budget, TokenStatistics.of(traffic, budget), sameDomainStats,
                    expectedIds != null ? expectedIds : sameRank, unrelatedStats,
                    unrelatedExpectedIds != null ? unrelatedExpectedIds : unrelatedRank, truth);
        }
        FreeLeaks leaks = FreeLeaks.of(traffic);
        out.printf(Locale.ROOT, "| anyone reading the topic%s | for free | the most common first and last ids open and "
                + "close %.1f %% of requests; every request's exact length; %.1f %% of requests repeat an earlier one byte "
                + "for byte (%.1f %% repeat one in plaintext) |%n", n == 1 ? "" : ", " + n + " homophones",
                100 * leaks.specialsAtFixedPositions(), 100 * leaks.repeated(),
                100 * FreeLeaks.of(decrypted(traffic, truth)).repeated());
        out.flush();
    }

    /**
     * The processor's operator without the public weights, reading the topic too: the model file groups each token's
     * ids (equal rows), which undoes the homophones; then the groups are attacked as tokens.
     */
    private void equalRows(int n, Map<Long, Long> groups, List<long[]> traffic, CipherVocabulary vocab,
            TokenStatistics unrelatedStats, TokenStatistics sameDomainStats, long available) {
        long started = System.nanoTime();
        long budget = Math.min(GROUPING_BUDGET, available);
        LongUnaryOperator truth = c -> vocab.decrypt(Math.toIntExact(c));
        TokenStatistics observed = TokenStatistics.of(traffic, budget);
        HomophoneGrouping.Quality q = HomophoneGrouping.quality(groups, truth);
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| processor operator without the public weights, "
                + "reading the request topic, %d homophones | ids grouped by equal rows of the model's token table, then "
                + "frequency analysis of the groups at %,d tokens | %,d of %,d ids grouped, %.1f %% of them rightly, into "
                + "%,d groups", n, observed.tokens(), q.grouped(), q.ids(), 100 * q.pure(),
                groups.values().stream().distinct().count()));
        for (TokenStatistics stats : List.of(unrelatedStats, sameDomainStats)) {
            GroupRecovery r = attackGroups(traffic, budget, observed, groups, stats, truth);
            row.append(String.format(Locale.ROOT, "; by rank %.1f %%, by neighbours %.1f %% (%s statistics)", 100 * r.rank(),
                    100 * r.context(), stats == unrelatedStats ? "unrelated" : "same-domain"));
        }
        out.println(row.append(String.format(Locale.ROOT, " (%.0f s) |", (System.nanoTime() - started) / 1e9)));
        out.flush();
    }

    /** The true label of each output column: label j stands in column σ(j). */
    private static List<String> byColumn(List<String> labels, EeKey key) {
        Permutation sigma = key.labelPermutation(labels.size());
        String[] out = new String[labels.size()];
        for (int j = 0; j < labels.size(); j++) {
            out[sigma.apply(j)] = labels.get(j);
        }
        return List.of(out);
    }

    /** Length buckets: what readers of the topic still learn of request lengths, and what the padding costs in ids. */
    private void lengths(int n, int[] buckets, CipherVocabulary vocab, List<long[]> plain, List<long[]> traffic,
            List<long[]> sameDomain, int start, int end) {
        LengthPadding padding = new LengthPadding(vocab, buckets, start, end);
        List<long[]> padded = new ArrayList<>(traffic.size());
        int[] real = new int[traffic.size()];
        int[] visible = new int[traffic.size()];
        long sentIds = 0;
        long realIds = 0;
        for (int i = 0; i < traffic.size(); i++) {
            try {
                padded.add(padding.pad(plain.get(i), traffic.get(i)));
            } catch (dev.eestream.runtime.EeException e) {
                padded.add(traffic.get(i)); // a text holding [SEP] itself: a client would refuse it; here it goes unpadded
            }
            real[i] = traffic.get(i).length;
            visible[i] = padded.get(i).length;
            realIds += real[i];
            sentIds += visible[i];
        }
        Map<Integer, Integer> mode = LengthAttacks.modeByBucket(sameDomain, buckets);
        LengthAttacks.Outcome sizes = LengthAttacks.sizesOnly(padded, real, mode);
        LengthAttacks.Outcome presence = LengthAttacks.endByPresence(padded, real, mode);
        LengthAttacks.Outcome late = null;
        String lateSetting = "";
        for (int window : new int[] {1, 2, 4}) {
            for (int minCount : new int[] {5, 20, 100}) {
                LengthAttacks.Outcome o = LengthAttacks.endByLateness(padded, real, mode, window, minCount);
                if (late == null || o.exact() > late.exact()) {
                    late = o;
                    lateSetting = "first " + window + " position(s) after [CLS], seen " + minCount + "+ times";
                }
            }
        }
        long distinctReal = java.util.Arrays.stream(real).distinct().count();
        long distinctVisible = java.util.Arrays.stream(visible).distinct().count();
        out.printf(Locale.ROOT, "| anyone reading the topic%s, requests padded to %s | request lengths | %d lengths seen "
                + "instead of %d; %.2f bits of length entropy left of %.2f; named exactly (within 2 tokens) for %.1f %% "
                + "(%.1f %%) by sizes alone, %.1f %% (%.1f %%) taking the ids in the most requests for [SEP], %.1f %% (%.1f %%) "
                + "taking ids never early for [SEP] (best setting: %s); the topic carries %.2f× the ids |%n",
                n == 1 ? "" : ", " + n + " homophones", java.util.Arrays.toString(buckets), distinctVisible, distinctReal,
                LengthAttacks.entropyBits(real, visible), LengthAttacks.entropyBits(real, new int[real.length]),
                100 * sizes.exact(), 100 * sizes.within2(), 100 * presence.exact(), 100 * presence.within2(),
                100 * late.exact(), 100 * late.within2(), lateSetting, (double) sentIds / realIds);
        out.flush();
    }

    /** The homophone counts an attacker who knows N and the allotment rule expects, from its own statistics. */
    private static Homophones attackerGuess(TokenStatistics stats, int vocab, int n, boolean proportional) {
        if (!proportional) {
            return Homophones.uniform(vocab, n);
        }
        long[] counts = new long[vocab];
        for (long t : stats.byFrequency()) {
            counts[Math.toIntExact(t)] = stats.count(t);
        }
        return Homophones.proportional(counts, n);
    }

    /**
     * The homophonic-cipher solver ({@link HomophoneSolver}): with the same-domain statistics, started from the
     * neighbour attack's guesses; with those and the ids of the requests whose plaintext the attacker knows (every
     * {@link #KNOWN_EVERY}th); and at the targets' budget with the unrelated statistics.
     */
    private void solver(String who, List<long[]> traffic, long budget, TokenStatistics observed, TokenStatistics sameDomain,
            long[] sameRank, TokenStatistics unrelated, long[] unrelatedRank, LongUnaryOperator truth) {
        HomophoneSolver.Settings settings = new HomophoneSolver.Settings(SOLVER_CANDIDATES, SOLVER_SWEEPS, 1, SHUFFLE_SEED);
        Map<Long, Long> start = FrequencyAnalysis.guesses(observed, sameDomain, sameRank).byNeighbours();
        HomophoneSolver.Outcome blind = HomophoneSolver.solve(traffic, budget, sameDomain, start, settings);
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | homophonic-cipher solver at %,d tokens (%,d "
                + "candidates, %d sweeps) | same-domain statistics (candidates: %.1f %% of the tokens), from the neighbour "
                + "guesses: %.1f %% (%.0f s)", who, observed.tokens(), SOLVER_CANDIDATES, SOLVER_SWEEPS,
                100 * coverage(observed, sameDomain, truth), 100 * FrequencyAnalysis.score(observed, blind.guess(), truth),
                blind.seconds()));
        if (budget == KNOWN_BUDGET) {
            Map<Long, Long> known = new java.util.HashMap<>();
            long seen = 0;
            int requests = 0;
            for (int i = 0; i < traffic.size() && seen < budget; i++) {
                long[] r = traffic.get(i);
                seen += r.length - 2;
                requests++;
                if (i % KNOWN_EVERY == 0) {
                    for (int j = 1; j < r.length - 1; j++) {
                        known.put(r[j], truth.applyAsLong(r[j]));
                    }
                }
            }
            Map<Long, Long> seeded = new java.util.HashMap<>(start);
            seeded.putAll(known);
            HomophoneSolver.Outcome withKnown = HomophoneSolver.solve(traffic, budget, sameDomain, seeded, settings);
            row.append(String.format(Locale.ROOT, "; knowing the plaintext of 1 in %d requests (%,d of %,d, which name %.1f %% "
                    + "of the tokens by themselves): %.1f %% (%.0f s)", KNOWN_EVERY, (requests + KNOWN_EVERY - 1) / KNOWN_EVERY,
                    requests, 100 * FrequencyAnalysis.score(observed, known, truth),
                    100 * FrequencyAnalysis.score(observed, withKnown.guess(), truth), withKnown.seconds()));
        }
        if (budget == GROUPING_BUDGET) {
            HomophoneSolver.Outcome other = HomophoneSolver.solve(traffic, budget, unrelated,
                    FrequencyAnalysis.guesses(observed, unrelated, unrelatedRank).byNeighbours(), settings);
            row.append(String.format(Locale.ROOT, "; unrelated statistics (candidates: %.1f %% of the tokens): %.1f %% (%.0f s)",
                    100 * coverage(observed, unrelated, truth), 100 * FrequencyAnalysis.score(observed, other.guess(), truth),
                    other.seconds()));
        }
        out.println(row.append(" |"));
        out.flush();
    }

    /** The solver's ceiling: the share of observed tokens among its candidates, the statistics' commonest tokens. */
    private static double coverage(TokenStatistics observed, TokenStatistics stats, LongUnaryOperator truth) {
        long[] ranked = stats.byFrequency();
        java.util.Set<Long> candidates = new java.util.HashSet<>();
        for (int i = 0; i < Math.min(SOLVER_CANDIDATES, ranked.length); i++) {
            candidates.add(ranked[i]);
        }
        long covered = 0;
        for (long c : observed.byFrequency()) {
            covered += candidates.contains(truth.applyAsLong(c)) ? observed.count(c) : 0;
        }
        return observed.tokens() == 0 ? 0 : (double) covered / observed.tokens();
    }

    /** The grouping attack at the best threshold: ", grouped (…): by rank …, by neighbours …". */
    private String grouped(List<long[]> traffic, long budget, TokenStatistics observed, TokenStatistics reference,
            LongUnaryOperator truth, int maxGroup) {
        double bestRank = 0;
        double bestContext = -1;
        String detail = "";
        for (double threshold : GROUPING_THRESHOLDS) {
            Map<Long, Long> groups = HomophoneGrouping.group(observed, 3, threshold, maxGroup, GROUPING_ROUNDS);
            GroupRecovery r = attackGroups(traffic, budget, observed, groups, reference, truth);
            if (Math.max(r.rank(), r.context()) > Math.max(bestRank, bestContext)) {
                bestRank = r.rank();
                bestContext = r.context();
                HomophoneGrouping.Quality q = HomophoneGrouping.quality(groups, truth);
                detail = String.format(Locale.ROOT, "threshold %.2f, groups of up to %d: %,d of %,d ids grouped, %.0f %% of "
                        + "them rightly", threshold, maxGroup, q.grouped(), q.ids(), 100 * q.pure());
            }
        }
        return String.format(Locale.ROOT, "; grouped (%s): by rank %.1f %%, by neighbours %.1f %%", detail, 100 * bestRank,
                100 * bestContext);
    }

    /** Shares of the observed tokens named by rank and by neighbours when groups of ids are attacked as tokens. */
    private record GroupRecovery(double rank, double context) {
    }

    private static GroupRecovery attackGroups(List<long[]> traffic, long budget, TokenStatistics observed,
            Map<Long, Long> groups, TokenStatistics stats, LongUnaryOperator truth) {
        TokenStatistics groupStats = TokenStatistics.of(HomophoneGrouping.relabel(traffic, groups), budget);
        FrequencyAnalysis.Guesses g = FrequencyAnalysis.guesses(groupStats, stats, stats.byFrequency());
        return new GroupRecovery(FrequencyAnalysis.score(observed, HomophoneGrouping.perId(g.byRank(), groups), truth),
                FrequencyAnalysis.score(observed, HomophoneGrouping.perId(g.byNeighbours(), groups), truth));
    }

    private static List<long[]> decrypted(List<long[]> traffic, LongUnaryOperator truth) {
        List<long[]> out = new ArrayList<>(traffic.size());
        for (long[] r : traffic) {
            out.add(java.util.Arrays.stream(r).map(truth).toArray());
        }
        return out;
    }

    private static long[] counts(List<long[]> requests, int vocab) {
        long[] counts = new long[vocab];
        for (long[] r : requests) {
            for (long t : r) {
                counts[Math.toIntExact(t)]++;
            }
        }
        return counts;
    }
}
