package dev.eestream.ops.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of measured samples, shared by the benchmarks. */
final class Stats {
    private Stats() {
    }

    static double[] sorted(Collection<Double> samples) {
        double[] out = new double[samples.size()];
        int i = 0;
        for (double v : samples) {
            out[i++] = v;
        }
        Arrays.sort(out);
        return out;
    }

    static double median(Collection<Double> samples) {
        double[] c = sorted(samples);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Durations in nanoseconds as milliseconds, sorted. */
    static double[] sortedMillis(long[] nanos) {
        double[] millis = new double[nanos.length];
        for (int i = 0; i < nanos.length; i++) {
            millis[i] = nanos[i] / 1e6;
        }
        Arrays.sort(millis);
        return millis;
    }

    /** The p-th percentile (nearest rank) of already sorted values. */
    static double percentile(double[] sorted, double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
