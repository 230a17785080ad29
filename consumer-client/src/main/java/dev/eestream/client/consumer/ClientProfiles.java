package dev.eestream.client.consumer;

import dev.eestream.core.model.ClientProfile;
import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Finds client profiles ({@code <model-dir>.client.json}, written by encrypt-model). */
public final class ClientProfiles {
    private ClientProfiles() {
    }

    /** Every profile in {@code directory}, by model id. */
    public static Map<String, ClientProfile> inDirectory(Path directory) throws IOException {
        Map<String, ClientProfile> out = new HashMap<>();
        if (!Files.isDirectory(directory)) {
            return out;
        }
        try (Stream<Path> files = Files.list(directory)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".client.json")).toList()) {
                ClientProfile p = ClientProfile.read(f);
                out.put(p.modelId(), p);
            }
        }
        return out;
    }

    /** The profiles named, plus those in the directories named, by model id. */
    public static Map<String, ClientProfile> load(List<Path> files, List<Path> directories) throws IOException {
        Map<String, ClientProfile> out = new HashMap<>();
        for (Path d : directories) {
            out.putAll(inDirectory(d));
        }
        for (Path f : files) {
            ClientProfile p = ClientProfile.read(f);
            out.put(p.modelId(), p);
        }
        return out;
    }

    /** The profile of {@code modelId}: the file given, else {@code <directory>/<modelId>.client.json}. */
    public static ClientProfile forModel(String modelId, Path file, Path directory) throws IOException {
        Path f = file != null ? file : directory.resolve(modelId + ".client.json");
        if (!Files.exists(f)) {
            throw EeException.fixedBy("profile", "no client profile for model '" + modelId + "' at " + f
                    + " (encrypting a model writes its profile beside the model directory)");
        }
        ClientProfile p = ClientProfile.read(f);
        if (!p.modelId().equals(modelId)) {
            throw new EeException("client profile " + f + " is for model '" + p.modelId() + "', not '" + modelId + "'");
        }
        return p;
    }
}
