package dev.eestream.ops.support;

import dev.eestream.client.producer.GenerationOptions;
import dev.eestream.runtime.EeException;
import picocli.CommandLine.Option;

/** The decoding flags of the commands that generate, turned into {@link GenerationOptions}. */
public final class GenerationFlags {
    @Option(names = "--max-new-tokens", defaultValue = "64", paramLabel = "N", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "0: greedy, the plaintext model's argmax; above 0: sampling (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", defaultValue = "1", paramLabel = "P", description = "Nucleus sampling; 1: off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "Sample among the K most likely tokens; 0: off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the sampler, for repeatable samples (default: the processor derives one).")
    Long seed;

    /** The options, or a one-line error in the flags' own names. */
    public GenerationOptions options(boolean stream) {
        GenerationOptions.Builder b = GenerationOptions.builder().maxNewTokens(maxNewTokens).temperature(temperature).topP(topP)
                .topK(topK).stream(stream);
        if (seed != null) {
            b.seed(seed);
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new EeException(e.getMessage().replace("maxNewTokens", "--max-new-tokens").replace("topP", "--top-p")
                    .replace("topK", "--top-k").replace("temperature", "--temperature"));
        }
    }
}
