package dev.eestream.core.tokenizer;

import java.util.Arrays;

/**
 * Turns a growing list of plaintext token ids into text deltas for streaming, never emitting half a character.
 *
 * <p>A token need not end on a character boundary: byte-level BPE (GPT-2, Llama 3, Qwen) and SentencePiece byte
 * fallback ({@code <0xE2>}) split a multi-byte UTF-8 character over several tokens, and decoding the first of them
 * alone gives U+FFFD. So, as text-generation-inference does, the text is decoded in a window {@code ids[prefix:]}
 * and the part past {@code ids[prefix:read]} is emitted only once it does not end in U+FFFD; then the window moves
 * on. Decoding a window rather than one token keeps what decoders do at a token's start (a SentencePiece leading
 * space, a WordPiece {@code ##}) the same on both sides of the subtraction.
 *
 * <p>The concatenation of all deltas and {@link #finish()} is the decoding of all ids at once, except that a
 * stream cut inside a character keeps the complete characters before it that Hugging Face's ByteFallback decoder
 * would also replace. A text whose last token is itself U+FFFD is held back until the next token or
 * {@link #finish()}. Not thread-safe: one per stream.
 */
public final class IncrementalDetokenizer {
    private final TokenDecoder decoder;
    private long[] ids = new long[16];
    private int size;
    private int prefixOffset;
    private int readOffset;

    public IncrementalDetokenizer(TokenDecoder decoder) {
        this.decoder = decoder;
    }

    /** Adds one generated plaintext id; returns the text it completes, possibly empty. */
    public String push(long id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        String prefixText = decode(prefixOffset, readOffset);
        String text = decode(prefixOffset, size);
        if (text.length() > prefixText.length() && !text.endsWith("\uFFFD")) {
            prefixOffset = readOffset;
            readOffset = size;
            return text.substring(prefixText.length());
        }
        return "";
    }

    /** Ends the stream: the text still held back, where an incomplete character decodes to U+FFFD. */
    public String finish() {
        String prefixText = decode(prefixOffset, readOffset);
        String text = decode(prefixOffset, size);
        // Hugging Face's ByteFallback decoder turns a whole run of byte tokens into U+FFFDs when the run ends
        // inside a character, so the window may no longer start with the text already emitted.
        String rest = text.startsWith(prefixText) ? text.substring(prefixText.length()) : decode(readOffset, size);
        prefixOffset = readOffset = size;
        return rest;
    }

    private String decode(int from, int to) {
        return from == to ? "" : decoder.decode(Arrays.copyOfRange(ids, from, to));
    }
}
