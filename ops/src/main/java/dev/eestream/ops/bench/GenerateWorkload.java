package dev.eestream.ops.bench;

import dev.eestream.core.key.Permutation;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A mixed-length generation backlog: random prompts of {@code minPrompt..maxPrompt} tokens, each
 * asking for {@code minNew..maxNew} new tokens, as the ciphertext ids of random plaintext ids. Seeded, so both
 * sides of a benchmark run the same requests.
 */
final class GenerateWorkload {
    private final List<long[]> cipherPrompts = new ArrayList<>();
    private final int[] maxNewTokens;

    GenerateWorkload(int requests, int vocabSize, int minPrompt, int maxPrompt, int minNew, int maxNew, Permutation pi, long seed) {
        Random random = new Random(seed);
        maxNewTokens = new int[requests];
        for (int i = 0; i < requests; i++) {
            int length = minPrompt + random.nextInt(maxPrompt - minPrompt + 1);
            long[] cipher = new long[length];
            for (int t = 0; t < length; t++) {
                cipher[t] = pi.apply(random.nextInt(vocabSize));
            }
            cipherPrompts.add(cipher);
            maxNewTokens[i] = minNew + random.nextInt(maxNew - minNew + 1);
        }
    }

    int size() {
        return cipherPrompts.size();
    }

    long[] cipherPrompt(int i) {
        return cipherPrompts.get(i);
    }

    int maxNewTokens(int i) {
        return maxNewTokens[i];
    }

    long promptTokens() {
        return cipherPrompts.stream().mapToLong(p -> p.length).sum();
    }

    long newTokens() {
        long n = 0;
        for (int m : maxNewTokens) {
            n += m;
        }
        return n;
    }
}
