package dev.eestream.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GenerationRequestTest {
    private static GenerationRequest read(String json) {
        return GenerationRequest.read(RequestBody.parse(json.getBytes(StandardCharsets.UTF_8)), 77);
    }

    private static OpenAiException refused(String json) {
        return assertThrows(OpenAiException.class, () -> read(json));
    }

    @Test
    void defaultsAreOpenAisWithTheContextAsTheTokenLimit() {
        GenerationRequest r = read("{}");
        assertEquals(77, r.options().maxNewTokens());
        assertEquals(1f, r.options().temperature());
        assertEquals(1f, r.options().topP());
        assertEquals(Optional.empty(), r.options().seed());
        assertFalse(r.stream());
        assertFalse(r.options().stream());
    }

    @Test
    void fieldsBecomeTheProcessorsOptions() {
        GenerationRequest r = read("{\"max_tokens\": 5, \"max_completion_tokens\": 9, \"temperature\": 0, \"top_p\": 0.5,"
                + " \"seed\": 42, \"stop\": [\"a\", \"b\"], \"stream\": true, \"stream_options\": {\"include_usage\": true}, \"n\": 1}");
        assertEquals(9, r.options().maxNewTokens(), "max_completion_tokens wins over the older max_tokens");
        assertEquals(0f, r.options().temperature());
        assertEquals(0.5f, r.options().topP());
        assertEquals(Optional.of(42L), r.options().seed());
        assertEquals(List.of("a", "b"), r.options().stopStrings());
        assertTrue(r.stream() && r.options().stream() && r.includeUsage());
        assertEquals(List.of("x"), read("{\"stop\": \"x\"}").options().stopStrings());
    }

    @Test
    void whatCannotBeHonouredIsA400NamingTheField() {
        assertEquals("n", refused("{\"n\": 2}").param());
        assertEquals("logprobs", refused("{\"logprobs\": true}").param());
        assertEquals("presence_penalty", refused("{\"presence_penalty\": 0.5}").param());
        assertEquals("temperature", refused("{\"temperature\": 2.5}").param());
        assertEquals("top_p", refused("{\"top_p\": 0}").param());
        assertEquals("max_tokens", refused("{\"max_tokens\": 0}").param());
        assertEquals("max_tokens", refused("{\"max_tokens\": 1.5}").param());
        assertEquals("stop", refused("{\"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}").param());
        assertEquals("stream_options", refused("{\"stream_options\": {\"include_usage\": true}}").param());
        assertEquals(400, refused("{\"temperature\": \"hot\"}").status());
        // defaults spelled out are fine
        read("{\"logprobs\": false, \"presence_penalty\": 0, \"logit_bias\": {}}");
    }
}
