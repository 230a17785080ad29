package dev.eestream.ops.bench;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.runtime.session.SessionSettings;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Plaintext against EE all-MiniLM-L6-v2, measured side by side in one process: each round runs both
 * models on the same batch shape, alternating which goes first, and the medians are compared.
 */
public final class EeBenchmark {
    private final Task task;
    private final int minPairs;
    private final double secondsPerPoint;
    private final SessionSettings settings;
    private final boolean control;
    private final int homophones;
    private final PrintWriter out;

    /**
     * @param control compare the plaintext model against a second, identical plaintext session
     *                instead of the EE model: an A/A run that shows the harness's own bias and noise
     */
    public EeBenchmark(Task task, int minPairs, double secondsPerPoint, SessionSettings settings, boolean control,
            PrintWriter out) {
        this(task, minPairs, secondsPerPoint, settings, control, 1, out);
    }

    /**
     * @param homophones above 1, compare the EE model without homophones (first) against the EE model with this many
     *                   ids per token (second), each fed ids as its clients would send them
     */
    public EeBenchmark(Task task, int minPairs, double secondsPerPoint, SessionSettings settings, boolean control,
            int homophones, PrintWriter out) {
        this.homophones = homophones;
        this.task = task;
        this.minPairs = minPairs;
        this.secondsPerPoint = secondsPerPoint;
        this.settings = settings;
        this.control = control;
        this.out = out;
    }

    /** One measured point; {@code ratio} is the median of paired per-run ratios (EE throughput / plaintext). */
    public record Point(int batch, int length, double plainSeqPerSec, double eeSeqPerSec, double ratio, int pairs) {
    }

    public List<Point> run(int[] batchSizes, int[] lengths) throws Exception {
        EeKey key = EeKey.generate();
        TokenizerJson tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        List<String> labels = List.of("finance", "sports", "technology", "health", "politics");
        long t0 = System.nanoTime();
        ModelProto source;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        long t1 = System.nanoTime();
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(task).key(key).modelId("ee").build(), task == Task.CLASSIFY ? labels : null, s -> { });
        byte[] eeBytes = ee.modelBytes();
        long t2 = System.nanoTime();
        // With homophones the baseline is the EE model without them, the same key: what homophones cost.
        ModelTransformer.Result plain = ModelEncryptor.encrypt(source, tokenizer, homophones > 1
                ? TransformSpec.builder(task).key(key).modelId("ee-1").build() : TransformSpec.builder(task).modelId("plain").build(),
                task == Task.CLASSIFY ? labels : null, s -> { });
        if (homophones > 1) {
            ee = ModelEncryptor.encrypt(source, tokenizer, TransformSpec.builder(task).key(key).modelId("ee")
                    .homophones(Homophones.uniform(tokenizer.vocabSize(), homophones)).build(),
                    task == Task.CLASSIFY ? labels : null, s -> { });
            eeBytes = ee.modelBytes();
        }
        out.printf("model all-MiniLM-L6-v2, task %s, hidden permutation %s; read %.2f s, EE transform + serialise %.2f s "
                + "(%.1f MB)%n", task.id(), ee.hiddenPermutation() ? "on" : "off", (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                eeBytes.length / 1e6);
        out.printf("per point: >= %d pairs and >= %.0f s of single runs, %s and %s alternating; ONNX Runtime on %s, "
                + "intra-op threads %s, spinning %s%n", minPairs, secondsPerPoint, homophones > 1 ? "EE" : "plaintext",
                control ? "a second plaintext session (A/A control)" : homophones > 1 ? "EE with homophones" : "EE",
                settings.device().id(), settings.intraOpThreads() == 0 ? "default" : Integer.toString(settings.intraOpThreads()),
                settings.spinning() ? "on" : "off");
        String first = homophones > 1 ? "EE" : "plaintext";
        String second = control ? "plaintext#2" : homophones > 1 ? "EE+h" + homophones : "EE";
        if (homophones > 1) {
            out.printf("homophones: %d ids per token (%,d ids; model %.1f MB against %.1f MB without)%n", homophones,
                    ee.manifest().vocabSize(), eeBytes.length / 1e6, plain.modelBytes().length / 1e6);
        }
        out.printf("%6s %6s %16s %16s %14s %6s%n", "batch", "length", first + " seq/s", second + " seq/s",
                second + "/" + first, "pairs");
        out.flush();
        Permutation pi = key.vocabPermutation(tokenizer.vocabSize());
        CipherVocabulary withHomophones = homophones > 1 ? key.vocabulary(Homophones.uniform(tokenizer.vocabSize(), homophones)) : null;
        List<Point> points = new ArrayList<>();
        try (ModelSession plainSession = ModelSession.open(plain.modelBytes(), plain.manifest(), settings);
             ModelSession eeSession = control ? ModelSession.open(plain.modelBytes(), plain.manifest(), settings)
                     : ModelSession.open(eeBytes, ee.manifest(), settings)) {
            if (eeSession.device() != settings.device()) {
                out.printf("%s is not available: both sessions run on %s%n", settings.device().id(), eeSession.device().id());
            }
            Random random = new Random(1);
            for (int length : lengths) {
                for (int batch : batchSizes) {
                    List<long[]> clear = new ArrayList<>();
                    List<long[]> cipher = new ArrayList<>();
                    for (int b = 0; b < batch; b++) {
                        long[] ids = new long[length];
                        ids[0] = 101;
                        ids[length - 1] = 102;
                        for (int i = 1; i < length - 1; i++) {
                            ids[i] = 1000 + random.nextInt(29000);
                        }
                        long[] c = new long[length];
                        for (int i = 0; i < length; i++) {
                            c[i] = control ? ids[i] : withHomophones != null ? withHomophones.encrypt((int) ids[i])
                                    : pi.apply((int) ids[i]);
                        }
                        if (withHomophones != null) {
                            ids = Arrays.stream(ids).map(t -> pi.apply((int) t)).toArray();
                        }
                        clear.add(ids);
                        cipher.add(c);
                    }
                    Point p = measure(plainSession, clear, eeSession, cipher, batch, length);
                    points.add(p);
                    out.printf("%6d %6d %16.1f %16.1f %14.3f %6d%n", batch, length, p.plainSeqPerSec(), p.eeSeqPerSec(),
                            p.ratio(), p.pairs());
                    out.flush();
                }
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
        out.printf((control ? "A/A control" : second + "/" + first) + " throughput ratio: geometric mean %.3f, range %.3f–%.3f over %d points%n",
                Math.exp(logSum / points.size()), min, max, points.size());
        out.flush();
        return points;
    }

    /**
     * Alternates single runs of the two sessions (A B, then B A, …) until both the pair count and
     * the time budget are reached; throughput comes from each side's median run time, the ratio from
     * the median of the per-pair ratios, which cancels the machine's drift between pairs.
     */
    private Point measure(ModelSession plain, List<long[]> clear, ModelSession ee, List<long[]> cipher, int batch, int length) {
        for (int i = 0; i < 3; i++) {
            plain.run(clear);
            ee.run(cipher);
        }
        List<Double> plainTimes = new ArrayList<>();
        List<Double> eeTimes = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        long deadline = System.nanoTime() + (long) (secondsPerPoint * 1e9);
        for (int pair = 0; pair < minPairs || System.nanoTime() < deadline; pair++) {
            double tp;
            double te;
            if (pair % 2 == 0) {
                tp = time(plain, clear);
                te = time(ee, cipher);
            } else {
                te = time(ee, cipher);
                tp = time(plain, clear);
            }
            plainTimes.add(tp);
            eeTimes.add(te);
            ratios.add(tp / te);
        }
        return new Point(batch, length, batch / (Stats.median(plainTimes) / 1e9), batch / (Stats.median(eeTimes) / 1e9),
                Stats.median(ratios), ratios.size());
    }

    private static double time(ModelSession s, List<long[]> batch) {
        long t = System.nanoTime();
        s.run(batch);
        return System.nanoTime() - t;
    }
}
