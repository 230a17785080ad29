package dev.eestream.client.consumer;

import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.tokenizer.IncrementalDetokenizer;
import dev.eestream.core.tokenizer.TokenDecoder;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Puts one generation back together from its response records: takes them in chunk order (holding any that
 * arrive early, dropping repeats), decrypts each chunk's ciphertext ids (π⁻¹, and a homophone to its token), hands the text they complete
 * to a listener as it arrives, and builds the {@link DecryptedResult.Generation} once the final record and
 * every chunk before it are in. One per request; not thread-safe.
 */
public final class GenerationAssembler {
    private final String requestId;
    private final CipherVocabulary vocab;
    private final TokenDecoder decoder;
    private final Set<Long> plainStopIds;
    private final Consumer<String> onTextDelta;
    private final long sentAtNanos;
    private final IncrementalDetokenizer detokenizer;
    private final TreeMap<Integer, InferenceResponse> early = new TreeMap<>();
    private final StringBuilder text = new StringBuilder();
    private long[] ids = new long[16];
    private int size;
    private int nextChunk;
    private long firstTokensNanos = -1;
    private DecryptedResult.Generation result;

    /**
     * @param vocab        the key's map between tokens and the model's ciphertext ids
     * @param decoder      plaintext ids to text, special tokens skipped
     * @param plainStopIds the stop ids sent with the request, in plaintext: a final one is left out of the text
     * @param onTextDelta  receives text as it completes; null when nobody listens
     * @param sentAtNanos  {@link System#nanoTime()} when the request was sent
     */
    public GenerationAssembler(String requestId, CipherVocabulary vocab, TokenDecoder decoder, Set<Long> plainStopIds,
            Consumer<String> onTextDelta, long sentAtNanos) {
        this.requestId = requestId;
        this.vocab = vocab;
        this.decoder = decoder;
        this.plainStopIds = Set.copyOf(plainStopIds);
        this.onTextDelta = onTextDelta;
        this.sentAtNanos = sentAtNanos;
        this.detokenizer = new IncrementalDetokenizer(decoder);
    }

    /**
     * Takes one record of this request.
     *
     * @return whether the generation is complete; then {@link #result()} holds it
     * @throws GenerationFailedException the processor answered ERROR or EXPIRED
     * @throws UnusableResponseException   a record with ciphertext ids outside the vocabulary
     * @throws EeException                  a record that cannot belong to this generation
     */
    public boolean accept(InferenceResponse r) {
        if (!requestId.equals(r.getRequestId())) {
            throw new EeException("record of request " + r.getRequestId() + " given to the generation of " + requestId);
        }
        if (r.getStatus() != ResponseStatus.OK) {
            throw new GenerationFailedException(requestId, String.valueOf(r.getError()));
        }
        if (result != null || r.getChunk() < nextChunk) {
            return result != null; // a repeat: read_committed never sends one, but a restarted reader might
        }
        early.put(r.getChunk(), r);
        while (result == null && !early.isEmpty() && early.firstKey() == nextChunk) {
            take(early.pollFirstEntry().getValue());
            nextChunk++;
        }
        return result != null;
    }

    /** The generation, once {@link #accept} returned true. */
    public DecryptedResult.Generation result() {
        if (result == null) {
            throw new IllegalStateException("generation " + requestId + " is not complete");
        }
        return result;
    }

    private void take(InferenceResponse r) {
        if (r.getTokenIds() != null && !r.getTokenIds().isEmpty() && firstTokensNanos < 0) {
            firstTokensNanos = System.nanoTime();
        }
        if (r.getTokenIds() != null) {
            for (long c : r.getTokenIds()) {
                if (c < 0 || c >= vocab.size()) {
                    throw new UnusableResponseException(BadRecordKind.UNDECRYPTABLE, "generation " + requestId
                            + " returned ciphertext id " + c + ", outside the vocabulary [0, " + vocab.size() + ")");
                }
                long plain = vocab.decrypt((int) c);
                append(plain);
                // The processor stops at the first stop id, so a stop id is always the last one: never text.
                if (!plainStopIds.contains(plain)) {
                    emit(detokenizer.push(plain));
                }
            }
        }
        if (r.getFinalChunk()) {
            emit(detokenizer.finish());
            long now = System.nanoTime();
            Map<String, String> attributes = r.getAttributes();
            DecryptedResult.Timings timings = new DecryptedResult.Timings(r.getCreatedAt().toEpochMilli(),
                    r.getRespondedAt().toEpochMilli(), r.getQueuedMs(), r.getInferenceMs(), r.getBatchSize());
            result = new DecryptedResult.Generation(requestId, r.getModelId(), text.toString(), Arrays.copyOf(ids, size),
                    r.getFinishReason() == null ? null : r.getFinishReason().name(), r.getPromptTokens(), r.getGeneratedTokens(),
                    attributes, timings, millisSinceSent(firstTokensNanos < 0 ? now : firstTokensNanos), millisSinceSent(now));
        }
    }

    private void append(long plain) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = plain;
    }

    private void emit(String delta) {
        if (delta.isEmpty()) {
            return;
        }
        text.append(delta);
        if (onTextDelta != null) {
            onTextDelta.accept(delta);
        }
    }

    private long millisSinceSent(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos - sentAtNanos);
    }

    /** The processor answered a generation with ERROR, or EXPIRED (its deadline passed before it started). */
    public static final class GenerationFailedException extends RuntimeException {
        private final String requestId;
        private final String reason;

        public GenerationFailedException(String requestId, String reason) {
            super("request " + requestId + " failed: " + reason);
            this.requestId = requestId;
            this.reason = reason;
        }

        public String requestId() {
            return requestId;
        }

        public String reason() {
            return reason;
        }
    }
}
