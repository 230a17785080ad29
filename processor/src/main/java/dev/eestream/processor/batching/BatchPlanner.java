package dev.eestream.processor.batching;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Cuts one flush into inference batches: sorted by length so neighbours pad little, then cut
 * greedily so that each batch holds at most {@code maxBatchSize} items and costs at most
 * {@code maxBatchTokens} padded tokens (count × longest). An item longer than the budget goes alone.
 */
public final class BatchPlanner {
    private BatchPlanner() {
    }

    public static <T> List<List<T>> plan(List<T> flush, ToIntFunction<T> length, BatchPolicy policy) {
        List<T> sorted = new ArrayList<>(flush);
        sorted.sort(Comparator.comparingInt(length));
        List<List<T>> batches = new ArrayList<>();
        List<T> current = new ArrayList<>();
        for (T item : sorted) {
            int longest = length.applyAsInt(item); // sorted ascending: the newest item is the longest
            boolean full = current.size() >= policy.maxBatchSize()
                    || (long) (current.size() + 1) * longest > policy.maxBatchTokens();
            if (!current.isEmpty() && full) {
                batches.add(current);
                current = new ArrayList<>();
            }
            current.add(item);
        }
        if (!current.isEmpty()) {
            batches.add(current);
        }
        return batches;
    }

    /** Padded tokens of a batch: what the model actually computes over. */
    public static <T> long paddedTokens(List<T> batch, ToIntFunction<T> length) {
        return (long) batch.size() * batch.stream().mapToInt(length).max().orElse(0);
    }
}
