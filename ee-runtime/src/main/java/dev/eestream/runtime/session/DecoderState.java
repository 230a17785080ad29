package dev.eestream.runtime.session;

/**
 * One sequence's progress through a decoder: how many tokens it has fed, its KV cache (per layer,
 * keys and values [kv heads, length, head size]) and the logits at its last position, which choose
 * its next token. Immutable: a step makes a new state, so a state can be kept, shared or dropped.
 */
public final class DecoderState {
    private final int length;
    private final float[][] keys;
    private final float[][] values;
    private final float[] nextLogits;

    /** Takes ownership of the arrays: only {@link DecoderSession} builds states. */
    DecoderState(int length, float[][] keys, float[][] values, float[] nextLogits) {
        this.length = length;
        this.keys = keys;
        this.values = values;
        this.nextLogits = nextLogits;
    }

    /** The tokens fed so far (prompt and generated): the length of the KV cache. */
    public int length() {
        return length;
    }

    /** The logits for the token after the last one fed, over the model's (ciphertext) vocabulary. */
    public float[] nextLogits() {
        return nextLogits.clone();
    }

    /** The id with the largest logit (the first of equal ones): greedy decoding's choice. */
    public long argmax() {
        int best = 0;
        for (int i = 1; i < nextLogits.length; i++) {
            if (nextLogits[i] > nextLogits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Layer {@code layer}'s keys, [kv heads, length, head size], not copied: callers only read it. */
    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }
}
