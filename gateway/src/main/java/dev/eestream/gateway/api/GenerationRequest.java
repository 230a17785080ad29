package dev.eestream.gateway.api;

import dev.eestream.client.producer.GenerationOptions;
import java.util.List;

/**
 * The decoding fields that {@code /v1/chat/completions} and {@code /v1/completions} share, read and checked:
 * {@code max_tokens} / {@code max_completion_tokens}, {@code temperature}, {@code top_p}, {@code seed},
 * {@code stop}, {@code stream} and {@code stream_options.include_usage}. Fields that would change the answer in
 * ways the gateway cannot honour ({@code n} > 1, logprobs, penalties, logit bias) are a 400, never ignored.
 *
 * @param options      what the processor is asked for
 * @param stream       answer as Server-Sent Events
 * @param includeUsage with {@code stream}, a last chunk with the token counts
 */
public record GenerationRequest(GenerationOptions options, boolean stream, boolean includeUsage) {
    /** OpenAI's default temperature: sampling, not greedy. {@code "temperature": 0} asks for the plaintext argmax. */
    public static final double DEFAULT_TEMPERATURE = 1.0;

    /**
     * @param defaultMaxTokens tokens to allow when the request sets none (OpenAI: up to the context length)
     */
    public static GenerationRequest read(RequestBody body, int defaultMaxTokens) {
        long n = body.optionalInteger("n").orElse(1L);
        if (n != 1) {
            throw OpenAiException.unsupported("n", "'n' other than 1 (several choices per request)");
        }
        body.refuse("logprobs", "'logprobs'");
        body.refuse("top_logprobs", "'top_logprobs'");
        body.refuse("logit_bias", "'logit_bias'");
        refuseNonZero(body, "frequency_penalty");
        refuseNonZero(body, "presence_penalty");

        GenerationOptions.Builder b = GenerationOptions.builder();
        long maxTokens = body.optionalInteger("max_completion_tokens").or(() -> body.optionalInteger("max_tokens"))
                .orElse((long) defaultMaxTokens);
        if (maxTokens < 1 || maxTokens > Integer.MAX_VALUE) {
            throw OpenAiException.invalid(body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens",
                    "the most tokens to generate must be at least 1, got " + maxTokens);
        }
        b.maxNewTokens((int) maxTokens);
        double temperature = body.optionalNumber("temperature").orElse(DEFAULT_TEMPERATURE);
        if (!(temperature >= 0 && temperature <= 2)) {
            throw OpenAiException.invalid("temperature", "'temperature' must be between 0 and 2, got " + temperature);
        }
        b.temperature((float) temperature);
        double topP = body.optionalNumber("top_p").orElse(1.0);
        if (!(topP > 0 && topP <= 1)) {
            throw OpenAiException.invalid("top_p", "'top_p' must be in (0, 1], got " + topP);
        }
        b.topP((float) topP);
        body.optionalInteger("seed").ifPresent(b::seed);
        for (String stop : stops(body)) {
            if (stop.isEmpty()) {
                throw OpenAiException.invalid("stop", "a stop sequence must not be empty");
            }
            b.stopString(stop);
        }
        boolean stream = body.optionalBoolean("stream").orElse(false);
        boolean includeUsage = false;
        if (body.optionalObject("stream_options").isPresent()) {
            if (!stream) {
                throw OpenAiException.invalid("stream_options", "'stream_options' is only allowed with \"stream\": true");
            }
            includeUsage = body.optionalObject("stream_options").get().optionalBoolean("include_usage").orElse(false);
        }
        b.stream(stream);
        return new GenerationRequest(b.build(), stream, includeUsage);
    }

    private static List<String> stops(RequestBody body) {
        if (!body.has("stop")) {
            return List.of();
        }
        List<String> stops = body.stringOrStrings("stop");
        if (stops.size() > 4) {
            throw OpenAiException.invalid("stop", "at most 4 stop sequences, got " + stops.size());
        }
        return stops;
    }

    private static void refuseNonZero(RequestBody body, String name) {
        if (body.optionalNumber(name).orElse(0.0) != 0.0) {
            throw OpenAiException.unsupported(name, "'" + name + "' other than 0");
        }
    }
}
