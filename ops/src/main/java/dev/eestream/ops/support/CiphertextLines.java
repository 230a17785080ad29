package dev.eestream.ops.support;

import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * Bulk encryption as a stream: one text per input line in, one JSON array of ciphertext ids per output line out, in
 * order, so line i of the output belongs to line i of the input (an empty line encrypts as the empty text does: the
 * special tokens alone). Only one line is held at a time, so memory grows with the longest line, never with the file;
 * each output line is written whole, and output is flushed whenever the input has nothing more ready, so a pipe sees
 * results as they come.
 */
public final class CiphertextLines {
    private final PrivateTokenizer tokenizer;
    private final PrintWriter out;

    public CiphertextLines(PrivateTokenizer tokenizer, PrintWriter out) {
        this.tokenizer = tokenizer;
        this.out = out;
    }

    /** Ciphertext ids as one JSON array, e.g. {@code [17380,42,13442]}. */
    public static String json(long[] ids) {
        StringBuilder s = new StringBuilder(ids.length * 6 + 2).append('[');
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                s.append(',');
            }
            s.append(ids[i]);
        }
        return s.append(']').toString();
    }

    /**
     * Encrypts every line of {@code in}. A line that cannot be read or encrypted stops the run with an error naming it;
     * the lines before it are written.
     *
     * @return the number of lines encrypted
     */
    public long encryptAll(Utf8Lines in) throws IOException {
        try {
            return encryptLines(in);
        } finally {
            out.flush(); // what was encrypted before an error reaches the output, whole lines only
        }
    }

    private long encryptLines(Utf8Lines in) throws IOException {
        long done = 0;
        while (true) {
            String text;
            try {
                text = in.next();
            } catch (EeException e) {
                throw new EeException(e.getMessage() + " (" + done + " lines were encrypted)", e);
            } catch (IOException e) {
                throw new EeException("cannot read line " + (done + 1) + ": " + e.getMessage() + " (" + done
                        + " lines were encrypted)", e);
            }
            if (text == null) {
                break;
            }
            String encrypted;
            try {
                encrypted = json(tokenizer.encrypt(text));
            } catch (RuntimeException e) {
                throw new EeException("cannot encrypt line " + in.number() + ": " + e.getMessage() + " (" + done
                        + " lines were encrypted)", e);
            }
            out.write(encrypted);
            out.write('\n');
            done++;
            if (!in.ready()) {
                flush(done);
            }
        }
        flush(done);
        return done;
    }

    private void flush(long lines) {
        out.flush();
        if (out.checkError()) {
            throw new EeException("cannot write the output (closed after " + lines + " lines?)");
        }
    }
}
