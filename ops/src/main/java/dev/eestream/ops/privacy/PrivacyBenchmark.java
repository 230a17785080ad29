package dev.eestream.ops.privacy;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The privacy benchmark: what each party recovers, measured by running the attacks of {@link WeightMatching}
 * (the processor's operator holding the public base weights), {@link FrequencyAnalysis} (a reader of the request
 * topic, no weights) and {@link FreeLeaks} (anyone on the topic) against one key, and printed as a table.
 */
public final class PrivacyBenchmark {
    private static final long[] BUDGETS = {1_000, 10_000, 100_000, 1_000_000};
    private static final long SHUFFLE_SEED = 20_261_130L;

    /** What to attack. */
    public record Setup(EeKey key, ModelProto base, TokenizerJson tokenizer, List<String> traffic, List<String> reference,
            String trafficName, String referenceName) {
    }

    private final PrintWriter out;

    public PrivacyBenchmark(PrintWriter out) {
        this.out = out;
    }

    public void run(Setup setup) throws IOException {
        EeKey key = setup.key();
        out.println("privacy benchmark, key " + key.keyId());

        long started = System.nanoTime();
        ModelTransformer.Result ee = ModelTransformer.transform(setup.base(), TransformSpec.builder(Task.EMBED).key(key).build());
        ModelTransformer.TokenEmbedding table = ModelTransformer.tokenEmbedding(setup.base(), null);
        Permutation pi = key.vocabPermutation(table.vocabSize());
        Permutation rho = key.hiddenPermutation(ee.manifest().hiddenSize());
        out.printf(Locale.ROOT, "EE model made for the attack (embed, π and ρ) in %.1f s%n", (System.nanoTime() - started) / 1e9);
        WeightMatching.Outcome weights = WeightMatching.attack(setup.base(), ee.model(), ee.manifest().idsInput(), pi, rho);

        List<long[]> traffic = new ArrayList<>();
        List<long[]> sameDomain = new ArrayList<>();
        List<long[]> unrelated = new ArrayList<>();
        try (PrivateTokenizer tokenizer = PrivateTokenizer.open(setup.tokenizer(), key, table.vocabSize(), null)) {
            // Texts in a fixed random order, so that the first N tokens are a sample of the whole domain, not of the
            // first files; then alternately traffic and same-domain statistics the attacker might find.
            List<String> texts = new ArrayList<>(setup.traffic());
            Collections.shuffle(texts, new Random(SHUFFLE_SEED));
            for (int i = 0; i < texts.size(); i++) {
                if (i % 2 == 1) {
                    traffic.add(tokenizer.encrypt(texts.get(i)));
                } else {
                    sameDomain.add(tokenizer.encodePlain(texts.get(i)));
                }
            }
            for (String text : setup.reference()) {
                unrelated.add(tokenizer.encodePlain(text));
            }
        }
        TokenStatistics unrelatedStats = TokenStatistics.of(unrelated, Long.MAX_VALUE);
        TokenStatistics sameDomainStats = TokenStatistics.of(sameDomain, Long.MAX_VALUE);
        long available = TokenStatistics.of(traffic, Long.MAX_VALUE).tokens();
        out.printf(Locale.ROOT, "traffic: %s, %,d requests, %,d inner tokens; statistics: %s (%,d tokens) and the other "
                + "half of the traffic's corpus (%,d tokens)%n", setup.trafficName(), traffic.size(), available,
                setup.referenceName(), unrelatedStats.tokens(), sameDomainStats.tokens());
        out.println();
        out.println("| party | attack | recovered |");
        out.println("|---|---|---|");
        out.printf(Locale.ROOT, "| processor operator with the public base weights | sorted-row matching: π | %,d of %,d "
                + "token ids (%.1f %%) in %.2f s; %,d ids match more than one row |%n", weights.piRecovered(), weights.vocab(),
                100.0 * weights.piRecovered() / weights.vocab(), weights.piSeconds(), weights.piAmbiguous());
        out.printf(Locale.ROOT, "| | column matching over matched rows: ρ | %d of %d (%.1f %%) in %.3f s more |%n",
                weights.rhoRecovered(), weights.width(), 100.0 * weights.rhoRecovered() / weights.width(), weights.rhoSeconds());
        for (long budget : BUDGETS) {
            if (budget > available) {
                out.printf(Locale.ROOT, "| request-topic reader, no weights | frequency analysis at %,d tokens | not run: "
                        + "the traffic holds %,d |%n", budget, available);
                continue;
            }
            TokenStatistics observed = TokenStatistics.of(traffic, budget);
            FrequencyAnalysis.Recovery other = FrequencyAnalysis.attack(observed, unrelatedStats, pi);
            FrequencyAnalysis.Recovery same = FrequencyAnalysis.attack(observed, sameDomainStats, pi);
            out.printf(Locale.ROOT, "| request-topic reader, no weights | frequency analysis at %,d tokens (%,d distinct ids) "
                    + "| by rank %.1f %%, by neighbours %.1f %% (unrelated statistics); by rank %.1f %%, by neighbours %.1f %% "
                    + "(same-domain statistics) |%n", other.tokens(), other.distinct(), 100 * other.rankShare(),
                    100 * other.contextShare(), 100 * same.rankShare(), 100 * same.contextShare());
            out.flush();
        }
        FreeLeaks leaks = FreeLeaks.of(traffic);
        out.printf(Locale.ROOT, "| anyone reading the topic | for free | special tokens at fixed positions in %.1f %% of "
                + "requests; every request's exact length; %.1f %% of requests repeat an earlier one byte for byte |%n",
                100 * leaks.specialsAtFixedPositions(), 100 * leaks.repeated());
        out.println();
        out.println("Shares of tokens are of inner tokens ([CLS] and [SEP] excluded), scored against the true key, which the "
                + "attacks never read.");
        out.flush();
    }
}
