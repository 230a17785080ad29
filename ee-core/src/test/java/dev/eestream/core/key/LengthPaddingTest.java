package dev.eestream.core.key;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.model.BundledModel;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Padding to length buckets: the lengths, a request kept whole in front, and filler drawn as the homophones weigh tokens. */
class LengthPaddingTest {
    private final EeKey key = EeKey.generate();

    @Test
    void requestsArePaddedToTheirBucketAndKeptWholeInFront() {
        CipherVocabulary vocab = key.vocabulary(Homophones.of(new int[] {1, 2, 3, 1, 4, 2}));
        LengthPadding padding = new LengthPadding(vocab, new int[] {4, 8}, 0, 3, new Random(5));
        long[] plain = {0, 2, 4, 3};
        for (int[] lengths : new int[][] {{2, 4}, {4, 4}, {5, 8}, {8, 8}, {9, 9}}) {
            long[] p = new long[lengths[0]];
            Arrays.fill(p, 2);
            p[0] = 0;
            p[p.length - 1] = 3;
            long[] cipher = encrypt(vocab, p);
            long[] out = padding.pad(p, cipher);
            assertEquals(lengths[1], out.length, lengths[0] + " tokens");
            assertArrayEquals(cipher, Arrays.copyOf(out, cipher.length), "the request itself comes first, unchanged");
        }
        assertEquals(8, padding.pad(plain, encrypt(vocab, new long[] {0, 2, 2, 2, 2, 4, 3})).length);
    }

    @Test
    void aRequestMustEndWithTheEndTokenAndHoldItNowhereElse() {
        CipherVocabulary vocab = key.vocabulary(Homophones.none(6));
        LengthPadding padding = new LengthPadding(vocab, new int[] {8}, 0, 3, new Random(5));
        long[] inside = {0, 2, 3, 4, 3};
        EeException e = assertThrows(EeException.class, () -> padding.pad(inside, encrypt(vocab, inside)));
        assertTrue(e.getMessage().contains("at position 2"), e.getMessage());
        long[] noEnd = {0, 2, 4};
        assertThrows(EeException.class, () -> padding.pad(noEnd, encrypt(vocab, noEnd)));
    }

    /**
     * With homophones a token is filler with weight (its ids − 1), which proportional allotment makes its corpus
     * frequency; the start token never. Chi-square of 150,000 seeded draws against the weights.
     */
    @Test
    void fillerTokensFollowTheHomophoneWeightsAndNeverTheStartToken() {
        int[] counts = {7, 5, 3, 1, 2, 9};
        LengthPadding padding = new LengthPadding(key.vocabulary(Homophones.of(counts)), new int[] {8}, 0, 3, new Random(11));
        long[] seen = new long[counts.length];
        int draws = 150_000;
        for (int i = 0; i < draws; i++) {
            seen[padding.fillerToken()]++;
        }
        assertEquals(0, seen[0], "the start token is never filler");
        assertEquals(0, seen[3], "a token with one id has no weight");
        double[] weights = {0, 4, 2, 0, 1, 8};
        double chiSquare = 0;
        for (int t = 0; t < counts.length; t++) {
            if (weights[t] > 0) {
                double expected = draws * weights[t] / 15;
                chiSquare += (seen[t] - expected) * (seen[t] - expected) / expected;
            }
        }
        // 3 degrees of freedom: 16.27 at p = 0.001. Drawing every weighted token alike would give about 114,000.
        assertTrue(chiSquare < 16.27, "chi-square " + chiSquare + " for " + Arrays.toString(seen));

        LengthPadding plain = new LengthPadding(key.vocabulary(Homophones.none(6)), new int[] {8}, 0, 3, new Random(11));
        long[] uniform = new long[6];
        for (int i = 0; i < 60_000; i++) {
            uniform[plain.fillerToken()]++;
        }
        assertEquals(0, uniform[0]);
        for (int t = 1; t < 6; t++) {
            assertTrue(Math.abs(uniform[t] - 12_000) < 600, "without homophones every other token alike: " + Arrays.toString(uniform));
        }
    }

    /** Through the private tokenizer, as a client with a profile uses it: padded to a bucket, decrypted without filler. */
    @Test
    void thePrivateTokenizerPadsAndDecryptsWithoutTheFiller() throws Exception {
        TokenizerJson json = BundledModel.ALL_MINILM_L6_V2.tokenizer();
        try (PrivateTokenizer tok = PrivateTokenizer.open(json, key, null, 64, null, new int[] {16, 32, 128})) {
            String text = "Private inference over Kafka.";
            long[] plain = tok.encodePlain(text);
            long[] padded = tok.encrypt(text);
            assertEquals(16, padded.length);
            assertArrayEquals(tok.encryptIds(plain), Arrays.copyOf(padded, plain.length));
            assertEquals("private inference over kafka.", tok.decrypt(padded));
            assertEquals(32, tok.encrypt("word ".repeat(20)).length);
            assertEquals(64, tok.encrypt("word ".repeat(40)).length, "past the last bucket under the maximum: the maximum");
            assertEquals(64, tok.encrypt("word ".repeat(400)).length, "truncated to the maximum");
            EeException e = assertThrows(EeException.class, () -> tok.encrypt("one [SEP] two"));
            assertTrue(e.getMessage().contains("end token"), e.getMessage());
            long cls = tok.vocabulary().encryptFirst(101);
            for (int i = 0; i < 50; i++) {
                long[] again = tok.encrypt(text);
                for (int j = 1; j < again.length; j++) {
                    assertTrue(again[j] != cls, "[CLS] stands only first");
                }
            }
        }
    }

    private static long[] encrypt(CipherVocabulary vocab, long[] plain) {
        long[] out = new long[plain.length];
        for (int i = 0; i < plain.length; i++) {
            out[i] = vocab.encrypt((int) plain[i]);
        }
        return out;
    }
}
