package dev.eestream.core.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.eestream.core.model.Task;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** device=cuda where CUDA is not available (the CPU build, or no GPU): the CPU runs it, and says so. */
class CudaFallbackTest {
    @Test
    void cudaRequestedWithoutCudaFallsBackToTheCpu() {
        assumeTrue(!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
                "this machine has the CUDA provider: the fallback path does not apply");
        ModelTransformer.Result r = ModelTransformer.transform(TinyModels.encoder(1, null), TransformSpec.builder(Task.EMBED).build());
        List<long[]> input = List.of(new long[] {1, 2, 3, 4});
        try (ModelSession cuda = ModelSession.open(r.modelBytes(), r.manifest(),
                     SessionSettings.builder().device(Device.CUDA).build());
             ModelSession cpu = ModelSession.open(r.modelBytes(), r.manifest())) {
            assertEquals(Device.CPU, cuda.device(), "the device label must say what actually runs");
            assertArrayEquals(cpu.run(input)[0], cuda.run(input)[0], 0f);
        }
    }
}
