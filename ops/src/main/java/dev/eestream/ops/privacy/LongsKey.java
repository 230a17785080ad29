package dev.eestream.ops.privacy;

import java.util.Arrays;

/** A long[] (a request's ids, a table row's bit patterns) compared by content, as a map or set key. */
record LongsKey(long[] values) {
    static LongsKey sorted(long[] values) {
        long[] copy = values.clone();
        Arrays.sort(copy);
        return new LongsKey(copy);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LongsKey key && Arrays.equals(values, key.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return values.length + " values";
    }
}
