package dev.eestream.processor.generation;

/** Pearson's chi-square test of homogeneity for two samples of equal size, as the sampler tests use it. */
final class ChiSquare {
    private ChiSquare() {
    }

    /** The statistic over the bins whose expected count is 5 or more. */
    static double statistic(long[] a, long[] b) {
        double statistic = 0;
        for (int i = 0; i < a.length; i++) {
            double expected = (a[i] + b[i]) / 2.0;
            if (expected >= 5) {
                statistic += Math.pow(a[i] - expected, 2) / expected + Math.pow(b[i] - expected, 2) / expected;
            }
        }
        return statistic;
    }

    /** Bins with an expected count of 5 or more. */
    static int bins(long[] a, long[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) {
            n += (a[i] + b[i]) / 2.0 >= 5 ? 1 : 0;
        }
        return n;
    }

    /** Wilson–Hilferty: the quantile at 0.999 from the normal one (z = 3.0902), close for df of 3 or more. */
    static double quantile999(int df) {
        double h = 2.0 / (9.0 * df);
        return df * Math.pow(1 - h + 3.090232 * Math.sqrt(h), 3);
    }
}
