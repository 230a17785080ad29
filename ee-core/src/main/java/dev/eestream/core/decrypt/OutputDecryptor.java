package dev.eestream.core.decrypt;

import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.runtime.EeException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns ciphertext outputs back into plaintext, on the trusted side: class scores through σ⁻¹,
 * embeddings through ρ⁻¹, vocabulary logits and generated ids through π⁻¹. Thread-safe; each
 * permutation is derived once per size.
 */
public final class OutputDecryptor {
    private final EeKey key;
    private final Map<String, Permutation> cache = new ConcurrentHashMap<>();

    public OutputDecryptor(EeKey key) {
        this.key = key;
    }

    private Permutation permutation(PermutationKind kind, int size) {
        return cache.computeIfAbsent(kind + "/" + size, k -> key.permutation(kind, size));
    }

    /** {@code s[j] = s'[σ(j)]}: scores by label, in label order. */
    public Map<String, Float> classScores(float[] cipherScores, List<String> labels) {
        if (cipherScores.length != labels.size()) {
            throw new EeException("got " + cipherScores.length + " scores for " + labels.size() + " labels");
        }
        Permutation sigma = permutation(PermutationKind.LABELS, labels.size());
        Map<String, Float> out = new LinkedHashMap<>();
        for (int j = 0; j < labels.size(); j++) {
            out.put(labels.get(j), cipherScores[sigma.apply(j)]);
        }
        return out;
    }

    /** {@code v[k] = v'[ρ(k)]}: the embedding in the plaintext basis. */
    public float[] embedding(float[] cipherEmbedding) {
        return unpermute(cipherEmbedding, permutation(PermutationKind.HIDDEN, cipherEmbedding.length));
    }

    /** {@code l[t] = l'[π(t)]}: logits over plaintext token ids. */
    public float[] vocabLogits(float[] cipherLogits) {
        return unpermute(cipherLogits, permutation(PermutationKind.VOCAB, cipherLogits.length));
    }

    /** Plaintext ids of ciphertext ids through the key's map of a model's vocabulary (π⁻¹, and homophones to tokens). */
    public static long[] tokenIds(long[] cipherIds, CipherVocabulary vocab) {
        long[] out = new long[cipherIds.length];
        for (int i = 0; i < out.length; i++) {
            if (cipherIds[i] < 0 || cipherIds[i] >= vocab.size()) {
                throw new EeException("ciphertext id " + cipherIds[i] + " is outside the vocabulary [0, " + vocab.size() + ")");
            }
            out[i] = vocab.decrypt((int) cipherIds[i]);
        }
        return out;
    }

    /** {@code t = π⁻¹(c)}: plaintext ids of ciphertext ids from a vocabulary of {@code vocabSize}. */
    public long[] tokenIds(long[] cipherIds, int vocabSize) {
        Permutation pi = permutation(PermutationKind.VOCAB, vocabSize);
        long[] out = new long[cipherIds.length];
        for (int i = 0; i < out.length; i++) {
            if (cipherIds[i] < 0 || cipherIds[i] >= vocabSize) {
                throw new EeException("ciphertext id " + cipherIds[i] + " is outside the vocabulary [0, " + vocabSize + ")");
            }
            out[i] = pi.invert((int) cipherIds[i]);
        }
        return out;
    }

    private static float[] unpermute(float[] v, Permutation p) {
        float[] out = new float[v.length];
        for (int k = 0; k < v.length; k++) {
            out[k] = v[p.apply(k)];
        }
        return out;
    }
}
