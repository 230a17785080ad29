package dev.eestream.core.model.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec.Family;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Defaults and checks of the spec, and that the built decoder has the sizes the spec names. */
class SyntheticDecoderSpecTest {
    @Test
    void theBenchmarkSizeAndTheFamilyDefaults() {
        SyntheticDecoderSpec llama = SyntheticDecoderSpec.builder(Family.LLAMA).build();
        assertEquals(32000, llama.vocabSize());
        assertEquals(512, llama.hiddenSize());
        assertEquals(4, llama.layers());
        assertEquals(8, llama.heads());
        assertEquals(4, llama.kvHeads());
        assertEquals(64, llama.headSize());
        assertEquals(1536, llama.intermediateSize());
        assertEquals(512, llama.contextLength());
        assertFalse(llama.tiedHead());
        SyntheticDecoderSpec gpt2 = SyntheticDecoderSpec.builder(Family.GPT2).build();
        assertEquals(8, gpt2.kvHeads());
        assertEquals(2048, gpt2.intermediateSize());
        assertTrue(gpt2.tiedHead());
        assertTrue(llama.describe().contains("random weights"), llama.describe());
        assertEquals(Family.GPT2, Family.parse("GPT2"));
    }

    @Test
    void shapesThatCannotBeBuiltAreRefusedWithTheReason() {
        assertRefused("multiple of the heads", SyntheticDecoderSpec.builder(Family.LLAMA).hiddenSize(500));
        assertRefused("multiple of the KV heads", SyntheticDecoderSpec.builder(Family.LLAMA).kvHeads(3));
        assertRefused("even head size", SyntheticDecoderSpec.builder(Family.LLAMA).hiddenSize(24).heads(8));
        assertRefused("no grouped-query attention", SyntheticDecoderSpec.builder(Family.GPT2).kvHeads(4));
        assertRefused("tied", SyntheticDecoderSpec.builder(Family.GPT2).tiedHead(false));
        assertRefused("positive", SyntheticDecoderSpec.builder(Family.LLAMA).layers(0));
        assertThrows(EeException.class, () -> Family.parse("bert"));
    }

    private static void assertRefused(String why, SyntheticDecoderSpec.Builder b) {
        EeException e = assertThrows(EeException.class, b::build);
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void theSameSpecGivesTheSameModelAndAnotherSeedOtherWeights() {
        SyntheticDecoderSpec.Builder b = SyntheticDecoderSpec.builder(Family.LLAMA).vocabSize(64).hiddenSize(16).layers(1)
                .heads(2).contextLength(16);
        assertArrayEquals(SyntheticDecoders.build(b.build()).toByteArray(), SyntheticDecoders.build(b.build()).toByteArray());
        assertFalse(Arrays.equals(SyntheticDecoders.build(b.build()).toByteArray(),
                SyntheticDecoders.build(b.seed(2).build()).toByteArray()));
    }

    @Test
    void theTransformReadsTheSpecsSizesFromTheBuiltGraph() {
        for (Family family : Family.values()) {
            SyntheticDecoderSpec spec = SyntheticDecoderSpec.builder(family).vocabSize(200).hiddenSize(48).layers(3).heads(6)
                    .contextLength(40).build();
            ModelProto model = SyntheticDecoders.build(spec);
            ModelManifest m = ModelTransformer.transform(model, TransformSpec.builder(Task.GENERATE).modelId("s").build()).manifest();
            assertEquals(spec.layers(), m.layerCount(), family.id());
            assertEquals(spec.kvHeads(), m.kvHeads(), family.id());
            assertEquals(spec.headSize(), m.headSize(), family.id());
            assertEquals(spec.contextLength(), m.maxSequenceLength(), family.id());
            assertEquals(spec.vocabSize(), m.outputWidth(), family.id());
            long weights = model.getGraph().getInitializerList().stream()
                    .filter(t -> t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getDimsCount() == 2
                            && !t.getName().endsWith("_cached"))
                    .mapToLong(t -> t.getDims(0) * t.getDims(1)).sum();
            assertEquals(spec.parameterCount(), weights, family.id() + ": parameters are the 2-D weights");
        }
    }
}
