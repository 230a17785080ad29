package dev.eestream.client.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.tokenizer.TokenDecoder;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import org.junit.jupiter.api.Test;

/** Chunk assembly without a broker: order, repeats, decryption, stop tokens, text deltas and failures. */
class GenerationAssemblerTest {
    private static final int VOCAB = 50;
    private static final long STOP = 2;
    /** With homophones: each token arrives as any of its three ids, drawn afresh. */
    private final CipherVocabulary pi = EeKey.generate().vocabulary(Homophones.uniform(VOCAB, 3));

    /** Plaintext id t is the word "w{t}"; words are joined by spaces; id 1 is a special token and skipped. */
    private static final TokenDecoder WORDS = ids -> {
        StringJoiner j = new StringJoiner(" ");
        for (long id : ids) {
            if (id != 1) {
                j.add(id == STOP ? "</s>" : "w" + id);
            }
        }
        return j.toString();
    };

    private InferenceResponse record(int chunk, boolean last, long... plain) {
        List<Long> cipher = new ArrayList<>();
        for (long t : plain) {
            cipher.add(pi.encrypt((int) t));
        }
        return raw("r", chunk, last, cipher);
    }

    private static InferenceResponse raw(String requestId, int chunk, boolean last, List<Long> cipher) {
        InferenceResponse.Builder b = InferenceResponse.newBuilder().setRequestId(requestId).setModelId("m").setStatus(ResponseStatus.OK)
                .setTokenIds(cipher).setChunk(chunk).setFinalChunk(last).setCreatedAt(Instant.ofEpochMilli(1))
                .setRespondedAt(Instant.ofEpochMilli(9)).setPromptTokens(4).setGeneratedTokens(6);
        if (last) {
            b.setFinishReason(FinishReason.STOP);
        }
        return b.build();
    }

    private GenerationAssembler assembler(List<String> deltas) {
        return new GenerationAssembler("r", pi, WORDS, Set.of(STOP), deltas::add, System.nanoTime());
    }

    @Test
    void chunksOutOfOrderAndRepeatedAreTakenOnceInOrderAndTheFinalStopIsNotText() {
        List<String> deltas = new ArrayList<>();
        GenerationAssembler a = assembler(deltas);
        assertFalse(a.accept(record(1, false, 7, 8)), "chunk 1 waits for chunk 0");
        assertTrue(deltas.isEmpty(), "no text before chunk 0");
        assertFalse(a.accept(record(0, false, 5, 1, 6)));
        assertEquals(List.of("w5", " w6", " w7", " w8"), deltas);
        assertFalse(a.accept(record(0, false, 5, 1, 6)), "a repeat changes nothing");
        assertTrue(a.accept(record(2, true, 9, STOP)));
        DecryptedResult.Generation g = a.result();
        assertEquals("w5 w6 w7 w8 w9", g.text());
        assertEquals(g.text(), String.join("", deltas));
        assertArrayEquals(new long[] {5, 1, 6, 7, 8, 9, STOP}, g.tokenIds(), "plaintext ids, the stop id included");
        assertEquals("STOP", g.finishReason());
        assertEquals(List.of(4, 6), List.of(g.promptTokens(), g.generatedTokens()));
        assertEquals(8, g.timings().respondedAtMillis() - g.timings().createdAtMillis());
    }

    @Test
    void oneUnstreamedRecordIsTheWholeGeneration() {
        List<String> deltas = new ArrayList<>();
        GenerationAssembler a = assembler(deltas);
        assertTrue(a.accept(record(0, true, 3, 4, 5)));
        assertEquals("w3 w4 w5", a.result().text());
        assertEquals("w3 w4 w5", String.join("", deltas));
    }

    @Test
    void aFinalRecordBeforeItsChunksCompletesOnlyWhenTheyArrive() {
        GenerationAssembler a = assembler(new ArrayList<>());
        assertFalse(a.accept(record(1, true, 4)));
        assertThrows(IllegalStateException.class, a::result);
        assertTrue(a.accept(record(0, false, 3)));
        assertEquals("w3 w4", a.result().text());
    }

    @Test
    void anErrorRecordFailsWithTheProcessorsReason() {
        GenerationAssembler a = assembler(new ArrayList<>());
        InferenceResponse error = InferenceResponse.newBuilder().setRequestId("r").setModelId("m").setStatus(ResponseStatus.ERROR)
                .setError("prompt of 64 tokens leaves no room to generate").setFinishReason(FinishReason.ERROR).build();
        GenerationAssembler.GenerationFailedException e = assertThrows(GenerationAssembler.GenerationFailedException.class,
                () -> a.accept(error));
        assertEquals("prompt of 64 tokens leaves no room to generate", e.reason());
    }

    @Test
    void anExpiredRequestFailsAndAGenerationCutAtItsDeadlineKeepsItsText() {
        InferenceResponse expired = InferenceResponse.newBuilder().setRequestId("r").setModelId("m").setStatus(ResponseStatus.EXPIRED)
                .setError("its deadline passed 20 ms before it could start").setFinishReason(FinishReason.DEADLINE).build();
        GenerationAssembler.GenerationFailedException e = assertThrows(GenerationAssembler.GenerationFailedException.class,
                () -> assembler(new ArrayList<>()).accept(expired));
        assertEquals("its deadline passed 20 ms before it could start", e.reason());

        GenerationAssembler a = assembler(new ArrayList<>());
        assertFalse(a.accept(record(0, false, 3, 4)));
        InferenceResponse cut = record(1, true, 5);
        cut.setFinishReason(FinishReason.DEADLINE);
        assertTrue(a.accept(cut));
        assertEquals("w3 w4 w5", a.result().text());
        assertEquals("DEADLINE", a.result().finishReason());
    }

    @Test
    void refusesIdsOutsideTheVocabularyAndOtherRequestsRecords() {
        GenerationAssembler a = assembler(new ArrayList<>());
        UnusableResponseException outside = assertThrows(UnusableResponseException.class,
                () -> a.accept(raw("r", 0, true, List.of((long) pi.size()))));
        assertEquals(BadRecordKind.UNDECRYPTABLE, outside.kind(), "a reply the client fails with a typed error, not garbage");
        InferenceResponse other = raw("q", 0, true, List.of(3L));
        assertThrows(EeException.class, () -> assembler(new ArrayList<>()).accept(other));
    }
}
