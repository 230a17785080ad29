package dev.eestream.core.model;

import dev.eestream.core.Compare;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.runtime.model.Task;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Decrypted EE outputs against plaintext outputs, counted as pairs run: how many were compared, the largest relative
 * difference, how many were bit-identical or agreed on the top label, and how many raw EE outputs equalled the
 * plaintext ones (none should, once a permutation is applied).
 */
final class OutputTally implements PairedRuns.Each {
    private final Task task;
    private final OutputDecryptor decryptor;
    private final List<String> labels;
    private int compared;
    private double worst;
    private int identical;
    private int sameArgmax;
    private int rawEqual;

    /** @param labels the class labels in plaintext order, for classify; ignored for embed */
    OutputTally(Task task, OutputDecryptor decryptor, List<String> labels) {
        this.task = task;
        this.decryptor = decryptor;
        this.labels = labels;
    }

    @Override
    public void accept(String input, float[] eeOutput, float[] plainOutput) {
        float[] decrypted = task == Task.EMBED ? decryptor.embedding(eeOutput) : inLabelOrder(eeOutput);
        compared++;
        worst = Math.max(worst, Compare.maxRelativeDifference(decrypted, plainOutput));
        identical += Arrays.equals(decrypted, plainOutput) ? 1 : 0;
        sameArgmax += Compare.argmax(decrypted) == Compare.argmax(plainOutput) ? 1 : 0;
        rawEqual += Arrays.equals(eeOutput, plainOutput) ? 1 : 0;
    }

    private float[] inLabelOrder(float[] cipherScores) {
        Map<String, Float> byLabel = decryptor.classScores(cipherScores, labels);
        float[] ordered = new float[labels.size()];
        for (int j = 0; j < ordered.length; j++) {
            ordered[j] = byLabel.get(labels.get(j));
        }
        return ordered;
    }

    int compared() {
        return compared;
    }

    double worst() {
        return worst;
    }

    int identical() {
        return identical;
    }

    int sameArgmax() {
        return sameArgmax;
    }

    int rawEqual() {
        return rawEqual;
    }

    /** E.g. "128 inputs in batches of 16, 128 bit-identical, same label 128, max relative difference 0.00". */
    String summary(String inputs, int batch) {
        return String.format("%d %s in batches of %d, %d bit-identical, same label %d, max relative difference %.3g", compared,
                inputs, batch, identical, sameArgmax, worst);
    }
}
