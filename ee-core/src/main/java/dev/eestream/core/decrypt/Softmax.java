package dev.eestream.core.decrypt;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fine-tuned classifier's probabilities from its logits. Computed in double and shifted by the
 * largest logit, so no exponential overflows whatever the logits' scale.
 */
public final class Softmax {
    private Softmax() {
    }

    /** Probabilities by label, in the order of {@code logitsByLabel}; they sum to 1. */
    public static Map<String, Float> probabilities(Map<String, Float> logitsByLabel) {
        double largest = Double.NEGATIVE_INFINITY;
        for (float logit : logitsByLabel.values()) {
            largest = Math.max(largest, logit);
        }
        double total = 0;
        for (float logit : logitsByLabel.values()) {
            total += Math.exp(logit - largest);
        }
        Map<String, Float> out = new LinkedHashMap<>();
        for (Map.Entry<String, Float> entry : logitsByLabel.entrySet()) {
            out.put(entry.getKey(), (float) (Math.exp(entry.getValue() - largest) / total));
        }
        return out;
    }
}
