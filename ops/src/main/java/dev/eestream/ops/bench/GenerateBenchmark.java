package dev.eestream.ops.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.DecoderState;
import dev.eestream.runtime.session.Generation;
import dev.eestream.runtime.session.SessionSettings;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Plaintext against EE greedy decoding of a synthetic decoder, measured side by side in one
 * process: each round generates the same batch with both models, alternating which goes first, and
 * compares decode throughput (new tokens per second) and time to first token (the prefill).
 */
public final class GenerateBenchmark {
    private final GeneratePlan plan;
    private final SessionSettings settings;
    private final PrintWriter out;

    public GenerateBenchmark(GeneratePlan plan, SessionSettings settings, PrintWriter out) {
        this.plan = plan;
        this.settings = settings;
        this.out = out;
    }

    /**
     * One measured point. Throughput counts generated tokens over the whole generation, prefill
     * included; {@code ratio} is the median of paired per-run ratios (EE throughput / plaintext).
     */
    public record Point(int batch, double plainTokensPerSec, double eeTokensPerSec, double ratio, double plainFirstTokenMs,
            double eeFirstTokenMs, int pairs) {
    }

    /** One timed generation: time to the first token (prefill and its argmax) and to the last. */
    private record Timing(double firstTokenNanos, double totalNanos) {
    }

    public List<Point> run(int[] batchSizes) {
        SyntheticDecoderSpec spec = plan.model();
        EeKey key = EeKey.generate();
        long t0 = System.nanoTime();
        ModelProto source = SyntheticDecoders.build(spec);
        long t1 = System.nanoTime();
        ModelTransformer.Result ee = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).key(key)
                .hiddenPermutation(plan.hiddenPermutation()).modelId("ee").build());
        byte[] eeBytes = ee.modelBytes();
        long t2 = System.nanoTime();
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        out.println(spec.describe());
        out.printf("hidden permutation %s; build %.2f s, EE transform + serialise %.2f s (%.1f MB)%n",
                ee.hiddenPermutation() ? "on" : "off", (t1 - t0) / 1e9, (t2 - t1) / 1e9, eeBytes.length / 1e6);
        out.printf("per point: greedy generation of %d new tokens after prompts of %d random tokens; >= %d pairs and >= %.0f s "
                + "of single runs, plaintext and %s alternating; ONNX Runtime on %s, intra-op threads %s, spinning %s%n",
                plan.newTokens(), plan.promptLength(), plan.minPairs(), plan.secondsPerPoint(),
                plan.control() ? "a second plaintext session (A/A control)" : "EE", settings.device().id(),
                settings.intraOpThreads() == 0 ? "default" : Integer.toString(settings.intraOpThreads()), settings.spinning() ? "on" : "off");
        out.flush();
        String second = plan.control() ? "plaintext#2" : "EE";
        Permutation pi = plan.control() ? Permutation.identity(spec.vocabSize()) : key.vocabPermutation(spec.vocabSize());
        List<Point> points = new ArrayList<>();
        try (DecoderSession plainSession = DecoderSession.open(plain.modelBytes(), plain.manifest(), settings);
             DecoderSession eeSession = plan.control() ? DecoderSession.open(plain.modelBytes(), plain.manifest(), settings)
                     : DecoderSession.open(eeBytes, ee.manifest(), settings)) {
            if (eeSession.device() != settings.device()) {
                out.printf("%s is not available: both sessions run on %s%n", settings.device().id(), eeSession.device().id());
            }
            Random random = new Random(1);
            List<List<long[]>> clear = new ArrayList<>();
            List<List<long[]>> cipher = new ArrayList<>();
            List<long[][]> expected = new ArrayList<>();
            for (int batch : batchSizes) {
                List<long[]> c = new ArrayList<>();
                List<long[]> e = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    long[] ids = random.longs(plan.promptLength(), 0, spec.vocabSize()).toArray();
                    c.add(ids);
                    e.add(Arrays.stream(ids).map(id -> pi.apply((int) id)).toArray());
                }
                clear.add(c);
                cipher.add(e);
                expected.add(checkEqual(plainSession, c, eeSession, e, pi, key, second));
            }
            out.printf("%6s %18s %18s %22s %20s %20s %6s%n", "batch", "plaintext tok/s", second + " tok/s", second + "/plaintext",
                    "plaintext TTFT ms", second + " TTFT ms", "pairs");
            out.flush();
            for (int i = 0; i < batchSizes.length; i++) {
                points.add(measure(plainSession, clear.get(i), eeSession, cipher.get(i), expected.get(i), batchSizes[i]));
            }
        }
        double logSum = 0;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (Point p : points) {
            logSum += Math.log(p.ratio());
            min = Math.min(min, p.ratio());
            max = Math.max(max, p.ratio());
        }
        out.printf((plan.control() ? "A/A control" : "EE/plaintext") + " decode throughput ratio: geometric mean %.3f, "
                + "range %.3f–%.3f over %d points%n", Math.exp(logSum / points.size()), min, max, points.size());
        out.flush();
        return points;
    }

    /**
     * Generates the batch once with each model through {@link DecoderSession#greedy(List, int, Set)}
     * and refuses to go on unless the second side's ids, decrypted with π⁻¹, are the plaintext ids:
     * a benchmark of a wrong model is worthless. Returns the plaintext ids, which every timed run
     * must reproduce.
     */
    private long[][] checkEqual(DecoderSession plain, List<long[]> clear, DecoderSession ee, List<long[]> cipher, Permutation pi,
            EeKey key, String second) {
        List<Generation> want = plain.greedy(clear, plan.newTokens(), Set.of());
        List<Generation> got = ee.greedy(cipher, plan.newTokens(), Set.of());
        OutputDecryptor decryptor = new OutputDecryptor(key);
        long[][] expected = new long[clear.size()][];
        long distinct = 0;
        for (int i = 0; i < clear.size(); i++) {
            long[] ids = want.get(i).ids();
            long[] decrypted = plan.control() ? got.get(i).ids() : decryptor.tokenIds(got.get(i).ids(), pi.size());
            if (!Arrays.equals(ids, decrypted)) {
                throw new EeException(second + " greedy tokens differ from plaintext in sequence " + i + " of batch " + clear.size()
                        + ": plaintext " + Arrays.toString(ids) + ", " + second + " decrypted " + Arrays.toString(decrypted)
                        + "; not benchmarking a model that computes something else");
            }
            expected[i] = ids;
            distinct += Arrays.stream(ids).distinct().count();
        }
        out.printf("batch %d: %s greedy tokens%s equal plaintext greedy tokens: %d sequences x %d tokens (%.1f distinct per "
                + "sequence)%n", clear.size(), second, plan.control() ? "" : " decrypted with π⁻¹", clear.size(), plan.newTokens(),
                (double) distinct / clear.size());
        out.flush();
        return expected;
    }

    /**
     * Alternates single generations of the two sessions (A B, then B A, …) until both the pair
     * count and the time budget are reached; throughput and time to first token come from each
     * side's median, the ratio from the median of the per-pair ratios, which cancels the machine's
     * drift between pairs.
     */
    private Point measure(DecoderSession plain, List<long[]> clear, DecoderSession ee, List<long[]> cipher, long[][] expected,
            int batch) {
        // One untimed run each, which also shows the timed loop generates what greedy() generated.
        long[][] plainIds = new long[batch][plan.newTokens()];
        long[][] eeIds = new long[batch][plan.newTokens()];
        generate(plain, clear, plainIds);
        generate(ee, cipher, eeIds);
        if (!Arrays.deepEquals(expected, plainIds)) {
            throw new IllegalStateException("the timed generation loop does not reproduce DecoderSession.greedy");
        }
        List<Double> plainTotals = new ArrayList<>();
        List<Double> eeTotals = new ArrayList<>();
        List<Double> plainFirst = new ArrayList<>();
        List<Double> eeFirst = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        long deadline = System.nanoTime() + (long) (plan.secondsPerPoint() * 1e9);
        for (int pair = 0; pair < plan.minPairs() || System.nanoTime() < deadline; pair++) {
            Timing tp;
            Timing te;
            if (pair % 2 == 0) {
                tp = generate(plain, clear, plainIds);
                te = generate(ee, cipher, eeIds);
            } else {
                te = generate(ee, cipher, eeIds);
                tp = generate(plain, clear, plainIds);
            }
            plainTotals.add(tp.totalNanos());
            eeTotals.add(te.totalNanos());
            plainFirst.add(tp.firstTokenNanos());
            eeFirst.add(te.firstTokenNanos());
            ratios.add(tp.totalNanos() / te.totalNanos());
        }
        double tokens = (double) batch * plan.newTokens();
        Point p = new Point(batch, tokens / (Stats.median(plainTotals) / 1e9), tokens / (Stats.median(eeTotals) / 1e9),
                Stats.median(ratios), Stats.median(plainFirst) / 1e6, Stats.median(eeFirst) / 1e6, ratios.size());
        out.printf("%6d %18.1f %18.1f %22.3f %20.1f %20.1f %6d%n", p.batch(), p.plainTokensPerSec(), p.eeTokensPerSec(), p.ratio(),
                p.plainFirstTokenMs(), p.eeFirstTokenMs(), p.pairs());
        out.flush();
        return p;
    }

    /**
     * Greedy decoding without stop ids, as {@link DecoderSession#greedy(List, int, Set)} does it for
     * prompts that fit the context, with a clock read after the prefill; writes the ids into {@code ids}.
     */
    private Timing generate(DecoderSession session, List<long[]> prompts, long[][] ids) {
        long start = System.nanoTime();
        List<DecoderState> states = session.prefill(prompts);
        double first = 0;
        for (int t = 0; t < plan.newTokens(); t++) {
            long[] next = new long[states.size()];
            for (int b = 0; b < next.length; b++) {
                next[b] = states.get(b).argmax();
                ids[b][t] = next[b];
            }
            if (t == 0) {
                first = System.nanoTime() - start;
            }
            if (t + 1 < plan.newTokens()) {
                states = session.step(states, next);
            }
        }
        return new Timing(first, System.nanoTime() - start);
    }
}
