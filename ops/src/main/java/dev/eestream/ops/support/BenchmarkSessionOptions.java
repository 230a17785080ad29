package dev.eestream.ops.support;

import dev.eestream.runtime.session.Device;
import dev.eestream.runtime.session.SessionSettings;
import picocli.CommandLine.Option;

/** How the side-by-side benchmarks run their ONNX Runtime sessions, and whether EE is replaced by an A/A control. */
public final class BenchmarkSessionOptions {
    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "ONNX Runtime intra-op threads, 0 for its default (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--spinning", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = "Let idle ONNX Runtime threads spin-wait (default: off, as the processor runs).")
    boolean spinning;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "cpu or cuda (needs the -Pgpu build; falls back to the CPU with a warning) (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--control", description = "A/A control: compare plaintext against a second plaintext session, "
            + "to see the harness's own bias and noise.")
    boolean control;

    public SessionSettings sessionSettings() {
        return SessionSettings.builder().intraOpThreads(threads).spinning(spinning).device(Device.parse(device)).build();
    }

    public boolean control() {
        return control;
    }
}
