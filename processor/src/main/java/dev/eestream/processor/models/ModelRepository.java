package dev.eestream.processor.models;

import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.runtime.session.SessionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The EE models a processor serves: one {@link ModelBundle} per model id in a directory, as
 * {@code eestream encrypt-model} writes them: encoders (classify, embed) in a {@link ModelSession},
 * generate models in a {@link DecoderSession}. Rescans the directory so a
 * model added while running is picked up; a model that fails to load is logged and skipped, and the
 * others keep serving. Holds ONNX Runtime sessions: close it.
 */
public final class ModelRepository implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRepository.class);

    private final Path directory;
    private final SessionSettings settings;
    private final Map<String, ModelSession> models = new ConcurrentHashMap<>();
    private final Map<String, DecoderSession> decoders = new ConcurrentHashMap<>();
    private final Map<String, String> failures = new ConcurrentHashMap<>();
    /** Size and time of each model file that failed, so an unchanged broken file is not retried every scan. */
    private final Map<String, String> failedStamps = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scanner;
    private final java.util.List<java.util.function.BiConsumer<ModelManifest, Device>> listeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    private ModelRepository(Path directory, SessionSettings settings, long scanIntervalMs) {
        this.directory = directory;
        this.settings = settings;
        scan();
        if (scanIntervalMs > 0) {
            scanner = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "eestream-model-scanner");
                t.setDaemon(true);
                return t;
            });
            scanner.scheduleWithFixedDelay(this::scanQuietly, scanIntervalMs, scanIntervalMs, TimeUnit.MILLISECONDS);
        } else {
            scanner = null;
        }
    }

    /** Loads every model in {@code directory} now, and rescans every {@code scanIntervalMs} (0: never). */
    public static ModelRepository open(Path directory, SessionSettings settings, long scanIntervalMs) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new IOException("model directory " + directory + " does not exist");
        }
        return new ModelRepository(directory, settings, scanIntervalMs);
    }

    /** Calls {@code listener} with the manifest and device of every model served now and every model loaded later. */
    public void onLoaded(java.util.function.BiConsumer<ModelManifest, Device> listener) {
        listeners.add(listener);
        models.values().forEach(m -> listener.accept(m.manifest(), m.device()));
        decoders.values().forEach(d -> listener.accept(d.manifest(), d.device()));
    }

    /** An encoder model (classify, embed). */
    public Optional<ModelSession> model(String modelId) {
        return Optional.ofNullable(models.get(modelId));
    }

    /** A generate model. */
    public Optional<DecoderSession> decoder(String modelId) {
        return Optional.ofNullable(decoders.get(modelId));
    }

    /** The manifest of a served model of any task. */
    public Optional<ModelManifest> manifest(String modelId) {
        ModelSession m = models.get(modelId);
        if (m != null) {
            return Optional.of(m.manifest());
        }
        return decoder(modelId).map(DecoderSession::manifest);
    }

    /** The device a served model of any task runs on. */
    public Optional<Device> device(String modelId) {
        ModelSession m = models.get(modelId);
        if (m != null) {
            return Optional.of(m.device());
        }
        return decoder(modelId).map(DecoderSession::device);
    }

    public Set<String> modelIds() {
        Set<String> all = new java.util.HashSet<>(models.keySet());
        all.addAll(decoders.keySet());
        return Set.copyOf(all);
    }

    /** Models that failed to load, with the reason. */
    public Map<String, String> failures() {
        return Map.copyOf(failures);
    }

    /** Loads the model directories not loaded yet. */
    public synchronized void scan() {
        try (Stream<Path> dirs = Files.list(directory)) {
            dirs.filter(Files::isDirectory).forEach(this::loadIfNew);
        } catch (IOException e) {
            LOG.warn("cannot list model directory {}: {}", directory, e.getMessage());
        }
    }

    private void scanQuietly() {
        try {
            scan();
        } catch (RuntimeException e) {
            LOG.warn("model scan failed: {}", e.getMessage());
        }
    }

    private void loadIfNew(Path dir) {
        ModelBundle bundle = ModelBundle.at(dir);
        String id = dir.getFileName().toString();
        if (models.containsKey(id) || decoders.containsKey(id) || !bundle.isComplete()) {
            return;
        }
        String stamp = bundle.modelStamp();
        if (stamp.equals(failedStamps.get(id))) {
            return;
        }
        try {
            ModelManifest manifest = bundle.readManifest();
            if (!manifest.modelId().equals(id)) {
                throw new IOException("manifest says model id '" + manifest.modelId() + "' but the directory is '" + id + "'");
            }
            Device device;
            if (manifest.taskKind() == Task.GENERATE) {
                DecoderSession session = DecoderSession.open(bundle.modelFile(), manifest, settings);
                decoders.put(id, session);
                device = session.device();
            } else {
                ModelSession session = ModelSession.open(bundle.modelFile(), manifest, settings);
                models.put(id, session);
                device = session.device();
            }
            listeners.forEach(l -> l.accept(manifest, device));
            failures.remove(id);
            failedStamps.remove(id);
            LOG.info("serving model {} ({}, {} outputs, device {})", id, manifest.task(), manifest.outputWidth(), device.id());
        } catch (IOException | RuntimeException e) {
            failures.put(id, String.valueOf(e.getMessage()));
            failedStamps.put(id, stamp);
            LOG.error("cannot load model {} from {}: {}", id, dir, e.getMessage());
        }
    }

    @Override
    public void close() {
        if (scanner != null) {
            scanner.shutdownNow();
        }
        models.values().forEach(ModelSession::close);
        models.clear();
        decoders.values().forEach(DecoderSession::close);
        decoders.clear();
    }
}
