package dev.eestream.core.tokenizer;

import dev.eestream.runtime.EeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * How often each token id occurs in a text corpus, one text per line, special tokens included (as requests carry
 * them): what homophones are allotted by, so that a frequent token gets more ciphertext ids. Read on the trusted
 * side only.
 *
 * @param counts per plaintext token id
 * @param texts  lines read (blank lines skipped)
 */
public record TokenFrequencies(long[] counts, long texts) {
    public long tokens() {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    /** Counts the tokens of every non-blank line of {@code corpus} with the plaintext tokenizer. */
    public static TokenFrequencies of(TokenizerJson tokenizer, Path corpus) throws IOException {
        long[] counts = new long[tokenizer.vocabSize()];
        long texts = 0;
        try (PrivateTokenizer plain = PrivateTokenizer.open(tokenizer, null, null, null);
             BufferedReader in = Files.newBufferedReader(corpus, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                for (long id : plain.encodePlain(line)) {
                    counts[Math.toIntExact(id)]++;
                }
                texts++;
            }
        } catch (NoSuchFileException e) {
            throw new EeException("corpus " + corpus + " does not exist");
        } catch (CharacterCodingException e) {
            throw new EeException("corpus " + corpus + " is not UTF-8 text");
        }
        if (texts == 0) {
            throw new EeException("corpus " + corpus + " holds no text");
        }
        return new TokenFrequencies(counts, texts);
    }
}
