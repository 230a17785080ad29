package dev.eestream.core.key;

import java.util.Arrays;

/**
 * An immutable permutation of {@code [0, n)}. The convention used everywhere in eestream:
 * a permuted vector {@code v'} holds the original element {@code k} at position {@code apply(k)},
 * i.e. {@code v'[apply(k)] = v[k]}; decryption reads {@code v[k] = v'[apply(k)]}.
 */
public final class Permutation {
    private final int[] forward;
    private volatile int[] inverse;

    private Permutation(int[] forward) {
        this.forward = forward;
    }

    /** Wraps a copy of {@code forward}, checking that it is a permutation of {@code [0, n)}. */
    public static Permutation of(int[] forward) {
        int[] copy = forward.clone();
        boolean[] seen = new boolean[copy.length];
        for (int value : copy) {
            if (value < 0 || value >= copy.length || seen[value]) {
                throw new IllegalArgumentException("not a permutation of [0, " + copy.length + ")");
            }
            seen[value] = true;
        }
        return new Permutation(copy);
    }

    public static Permutation identity(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return new Permutation(ids);
    }

    /** Trusted constructor for arrays built by {@link KeyedDrbg}, which are permutations by construction. */
    static Permutation trusted(int[] forward) {
        return new Permutation(forward);
    }

    public int size() {
        return forward.length;
    }

    public int apply(int k) {
        return forward[k];
    }

    public int invert(int c) {
        return inverseTable()[c];
    }

    public boolean isIdentity() {
        for (int i = 0; i < forward.length; i++) {
            if (forward[i] != i) {
                return false;
            }
        }
        return true;
    }

    public int[] toArray() {
        return forward.clone();
    }

    public Permutation inverse() {
        return new Permutation(inverseTable().clone());
    }

    private int[] inverseTable() {
        int[] inv = inverse;
        if (inv == null) {
            inv = new int[forward.length];
            for (int i = 0; i < forward.length; i++) {
                inv[forward[i]] = i;
            }
            inverse = inv;
        }
        return inv;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Permutation p && Arrays.equals(forward, p.forward);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(forward);
    }

    @Override
    public String toString() {
        // The table itself is secret material: never print it.
        return "Permutation[size=" + forward.length + "]";
    }
}
