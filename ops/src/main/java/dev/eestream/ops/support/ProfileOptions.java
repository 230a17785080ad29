package dev.eestream.ops.support;

import dev.eestream.client.consumer.ClientProfiles;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where a decrypting command finds the client profiles (labels, task) of the models it meets. */
public final class ProfileOptions {
    @Option(names = "--models", defaultValue = "models", paramLabel = "DIR",
            description = "Directory with the models' client profiles (*.client.json) (default: ${DEFAULT-VALUE}).")
    Path models;

    @Option(names = "--profile", paramLabel = "FILE", description = "A client profile (repeatable), besides those in --models.")
    List<Path> profiles = new ArrayList<>();

    /** The profiles by model id; none found is an error, since nothing could be decrypted. */
    public Map<String, ClientProfile> load() throws IOException {
        Map<String, ClientProfile> known = ClientProfiles.load(profiles, List.of(models));
        if (known.isEmpty()) {
            throw new EeException("no client profiles found in " + models + " (or given with --profile): cannot decrypt");
        }
        return known;
    }
}
