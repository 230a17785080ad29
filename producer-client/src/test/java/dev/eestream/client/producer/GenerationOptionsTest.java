package dev.eestream.client.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.EeException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Generation options and the prompt/stop ids a generation is sent with. */
class GenerationOptionsTest {
    private static final ClientProfile.Generation WITH_BOS = new ClientProfile.Generation("<s>", "</s>", 1L, 2L, List.of(2L), true, null);

    @Test
    void defaultsAreGreedySixtyFourTokensUnstreamed() {
        GenerationOptions d = GenerationOptions.defaults();
        assertEquals(64, d.maxNewTokens());
        assertEquals(0f, d.temperature());
        assertEquals(1f, d.topP());
        assertEquals(0, d.topK());
        assertEquals(Optional.empty(), d.seed());
        assertEquals(List.of(), d.stopStrings());
        assertEquals(false, d.stream());
        GenerationOptions o = GenerationOptions.builder().maxNewTokens(5).temperature(0.7f).topP(0.9f).topK(40).seed(3)
                .stopString("\n").stopTokenId(7).stream(true).build();
        assertEquals(o, o.toBuilder().build());
        assertEquals(Optional.of(3L), o.seed());
        assertEquals(List.of(7L), o.stopTokenIds());
    }

    @Test
    void refusesWhatTheProcessorWouldRefuse() {
        assertRefused("maxNewTokens must be at least 1", GenerationOptions.builder().maxNewTokens(0));
        assertRefused("temperature must be 0", GenerationOptions.builder().temperature(-0.1f));
        assertRefused("temperature must be 0", GenerationOptions.builder().temperature(Float.NaN));
        assertRefused("temperature must be 0", GenerationOptions.builder().temperature(Float.POSITIVE_INFINITY));
        assertRefused("topP must be in (0, 1]", GenerationOptions.builder().topP(0f));
        assertRefused("topP must be in (0, 1]", GenerationOptions.builder().topP(1.5f));
        assertRefused("topK must be 0", GenerationOptions.builder().topK(-1));
        assertRefused("stop string must not be empty", GenerationOptions.builder().stopString(""));
        assertRefused("not negative", GenerationOptions.builder().stopTokenId(-4));
    }

    private static void assertRefused(String why, GenerationOptions.Builder b) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void bosIsPrependedOnlyWhenAskedForAndMissing() {
        assertArrayEquals(new long[] {1, 5, 6}, PromptIds.prompt(new long[] {5, 6}, WITH_BOS));
        assertArrayEquals(new long[] {1, 5, 6}, PromptIds.prompt(new long[] {1, 5, 6}, WITH_BOS), "the tokenizer put it there");
        ClientProfile.Generation noAdd = new ClientProfile.Generation("<s>", "</s>", 1L, 2L, List.of(2L), null, null);
        assertArrayEquals(new long[] {5, 6}, PromptIds.prompt(new long[] {5, 6}, noAdd));
        assertArrayEquals(new long[] {5, 6}, PromptIds.prompt(new long[] {5, 6}, null));
    }

    @Test
    void anEmptyPromptIsTheBosAloneOrAClearError() {
        assertArrayEquals(new long[] {1}, PromptIds.prompt(new long[0], WITH_BOS));
        ClientProfile.Generation noAdd = new ClientProfile.Generation("<s>", null, 1L, null, List.of(), false, null);
        assertArrayEquals(new long[] {1}, PromptIds.prompt(new long[0], noAdd));
        ClientProfile.Generation noBos = new ClientProfile.Generation(null, "</s>", null, 2L, List.of(2L), null, null);
        EeException e = assertThrows(EeException.class, () -> PromptIds.prompt(new long[0], noBos));
        assertTrue(e.getMessage().contains("no BOS token"), e.getMessage());
        assertThrows(EeException.class, () -> PromptIds.prompt(new long[0], null));
    }

    @Test
    void stopStringsMustBeOneTokenAndStopIdsInTheVocabulary() {
        assertEquals(9L, PromptIds.stopStringId("x", new long[] {9}, WITH_BOS));
        assertEquals(9L, PromptIds.stopStringId("x", new long[] {1, 9, 2}, WITH_BOS), "the BOS and EOS around every text");
        EeException e = assertThrows(EeException.class, () -> PromptIds.stopStringId("x y", new long[] {9, 10}, WITH_BOS));
        assertTrue(e.getMessage().contains("is 2 tokens"), e.getMessage());
        assertEquals(List.of(2L, 7L), List.copyOf(PromptIds.stops(WITH_BOS, List.of(7L, 2L), 10)));
        e = assertThrows(EeException.class, () -> PromptIds.stops(WITH_BOS, List.of(10L), 10));
        assertTrue(e.getMessage().contains("outside the vocabulary [0, 10)"), e.getMessage());
    }
}
