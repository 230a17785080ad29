package dev.eestream.ops.privacy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What every reader of the request topic sees without any attack: the special tokens by their fixed positions,
 * every request's exact length, and which requests repeat an earlier one byte for byte (encryption is
 * deterministic: the same text always gives the same ciphertext).
 *
 * @param requests                 requests looked at
 * @param specialsAtFixedPositions share of requests that open with the most common first id and close with the most
 *                                 common last id ([CLS] and [SEP] for a BERT tokenizer)
 * @param repeated                 share of requests equal to an earlier one
 */
record FreeLeaks(int requests, double specialsAtFixedPositions, double repeated) {
    static FreeLeaks of(List<long[]> cipherRequests) {
        long first = mostCommon(cipherRequests, 0);
        long last = mostCommon(cipherRequests, -1);
        int fixed = 0;
        int repeated = 0;
        Set<LongsKey> seen = new HashSet<>();
        for (long[] r : cipherRequests) {
            fixed += r.length > 0 && r[0] == first && r[r.length - 1] == last ? 1 : 0;
            repeated += seen.add(new LongsKey(r)) ? 0 : 1;
        }
        int n = Math.max(1, cipherRequests.size());
        return new FreeLeaks(cipherRequests.size(), (double) fixed / n, (double) repeated / n);
    }

    /** The most common id at {@code position} (-1: the last). */
    private static long mostCommon(List<long[]> requests, int position) {
        Map<Long, Integer> counts = new HashMap<>();
        for (long[] r : requests) {
            if (r.length > 0) {
                counts.merge(r[position < 0 ? r.length - 1 : position], 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(-1L);
    }
}
