package dev.eestream.runtime.model;

/**
 * The input and output names of a decoder in the Hugging Face optimum {@code text-generation-with-past}
 * layout, shared by the transform (which checks a model has them) and the decode loop (which feeds them).
 */
public final class KvCacheNames {
    public static final String POSITION_IDS = "position_ids";
    public static final String LOGITS = "logits";
    private static final String PAST = "past_key_values.";
    private static final String PRESENT = "present.";

    private KvCacheNames() {
    }

    /** {@code past_key_values.{layer}.key} or {@code .value}: [batch, kv heads, past, head size]. */
    public static String past(int layer, boolean key) {
        return PAST + layer + (key ? ".key" : ".value");
    }

    /** {@code present.{layer}.key} or {@code .value}: [batch, kv heads, past + seq, head size]. */
    public static String present(int layer, boolean key) {
        return PRESENT + layer + (key ? ".key" : ".value");
    }

    public static boolean isPast(String name) {
        return name.startsWith(PAST);
    }

    public static boolean isPresent(String name) {
        return name.startsWith(PRESENT);
    }
}
