package dev.eestream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.eestream.runtime.TinyBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * device=cuda: where CUDA cannot run (the CPU build; or the GPU build, {@code -Pgpu}, on a machine
 * without an NVIDIA device) the CPU runs the model and the device label says so. On a machine with a
 * GPU and the GPU build, the CUDA provider runs it and gives the CPU's answers within float error.
 */
class CudaFallbackTest {
    @Test
    void cudaRunsWhereItCanAndOtherwiseTheCpuRunsAndSaysSo() {
        List<long[]> input = List.of(new long[] {1, 2, 3, 4});
        boolean cudaBuild = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        boolean gpuDevice = Files.exists(Path.of("/dev/nvidia0"));
        try (ModelSession cuda = ModelSession.open(TinyBundle.modelBytes(), TinyBundle.manifest(),
                     SessionSettings.builder().device(Device.CUDA).build());
             ModelSession cpu = ModelSession.open(TinyBundle.modelBytes(), TinyBundle.manifest())) {
            System.out.printf("device=cuda with %s ONNX Runtime build, %s NVIDIA device: runs on %s%n",
                    cudaBuild ? "the CUDA" : "the CPU", gpuDevice ? "an" : "no", cuda.device());
            if (!cudaBuild || !gpuDevice) {
                assertEquals(Device.CPU, cuda.device(), "the device label must say what actually runs");
                assertArrayEquals(cpu.run(input)[0], cuda.run(input)[0], 0f);
            } else {
                assertEquals(Device.CUDA, cuda.device(), "the CUDA build on a GPU machine runs on the GPU");
                assertArrayEquals(cpu.run(input)[0], cuda.run(input)[0], 1e-4f);
            }
        }
    }
}
