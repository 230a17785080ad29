package dev.eestream.runtime.session;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.eestream.runtime.EeException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates ONNX Runtime sessions as {@link SessionSettings} say, for every kind of session eestream runs. */
final class OrtSessions {
    private static final Logger LOG = LoggerFactory.getLogger(OrtSessions.class);

    /** A created session and the device it actually runs on. */
    record Opened(OrtEnvironment env, OrtSession session, Device device) {
    }

    private OrtSessions() {
    }

    /**
     * With {@link Device#CUDA} requested but unavailable, falls back to the CPU with a warning;
     * {@link Opened#device()} says which one runs.
     */
    static Opened open(byte[] model, String modelId, SessionSettings settings) {
        return open((env, options) -> env.createSession(model, options), modelId, settings);
    }

    /** Opens a model file; ONNX Runtime reads its external data (if any) from the file's directory. */
    static Opened open(Path modelFile, String modelId, SessionSettings settings) {
        if (!Files.isRegularFile(modelFile)) {
            throw new EeException("model " + modelId + ": " + modelFile + " does not exist");
        }
        return open((env, options) -> env.createSession(modelFile.toString(), options), modelId, settings);
    }

    private interface Creator {
        OrtSession create(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    private static Opened open(Creator creator, String modelId, SessionSettings settings) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Device requested = settings.device();
        Device device = requested;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (settings.intraOpThreads() > 0) {
                options.setIntraOpNumThreads(settings.intraOpThreads());
            }
            options.addConfigEntry("session.intra_op.allow_spinning", settings.spinning() ? "1" : "0");
            if (requested == Device.CUDA) {
                try {
                    options.addCUDA(0);
                } catch (OrtException | RuntimeException e) {
                    LOG.warn("CUDA was requested for model {} but is not available ({}); running on the CPU",
                            modelId, e.getMessage());
                    device = Device.CPU;
                }
            }
            return new Opened(env, creator.create(env, options), device);
        } catch (OrtException e) {
            throw new EeException("ONNX Runtime cannot load model " + modelId + ": " + e.getMessage(), e);
        }
    }
}
