package dev.eestream.ops.support;

import dev.eestream.runtime.EeException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Lines of UTF-8 text from a byte stream, each decoded on its own. A {@link java.io.BufferedReader} decodes a whole
 * buffer ahead of the line it returns, so bytes that are not UTF-8 fail on a line before them; here the error names the
 * line that holds them, and every line before it has been returned. Lines end at {@code \n}, with a {@code \r} before
 * it dropped; a last line without {@code \n} counts.
 */
public final class Utf8Lines implements AutoCloseable {
    private final InputStream in;
    private final String source;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] line = new byte[256];
    private long number;

    /** @param source names the stream in errors */
    public Utf8Lines(InputStream in, String source) {
        this.in = new BufferedInputStream(in, 1 << 16);
        this.source = source;
    }

    /** The next line, or null at the end. */
    public String next() throws IOException {
        int length = 0;
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (length == line.length) {
                line = Arrays.copyOf(line, Math.multiplyExact(length, 2));
            }
            line[length++] = (byte) b;
        }
        if (b < 0 && length == 0) {
            return null;
        }
        number++;
        if (length > 0 && line[length - 1] == '\r') {
            length--;
        }
        try {
            return decoder.decode(ByteBuffer.wrap(line, 0, length)).toString();
        } catch (CharacterCodingException e) {
            throw new EeException(source + " line " + number + " is not UTF-8 text");
        }
    }

    /** The number of the line {@link #next} returned last (1 for the first). */
    public long number() {
        return number;
    }

    /** Whether more input can be read without waiting (a pipe that has nothing yet says no). */
    public boolean ready() throws IOException {
        return in.available() > 0;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
