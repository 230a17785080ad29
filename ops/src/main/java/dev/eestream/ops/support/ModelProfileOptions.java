package dev.eestream.ops.support;

import dev.eestream.client.consumer.ClientProfiles;
import dev.eestream.core.model.ClientProfile;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The one model a client command talks to, and where its client profile is. */
public final class ModelProfileOptions {
    @Option(names = "--model-id", required = true, paramLabel = "ID", description = "The EE model to use.")
    String modelId;

    @Option(names = "--profile", paramLabel = "FILE", description = "The model's client profile (default: MODELS/ID.client.json).")
    Path profile;

    @Option(names = "--models", defaultValue = "models", paramLabel = "DIR",
            description = "Where to look for ID.client.json (default: ${DEFAULT-VALUE}).")
    Path models;

    public String modelId() {
        return modelId;
    }

    public ClientProfile load() throws IOException {
        return ClientProfiles.forModel(modelId, profile, models);
    }
}
