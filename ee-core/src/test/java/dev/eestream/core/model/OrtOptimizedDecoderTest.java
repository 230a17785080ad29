package dev.eestream.core.model;

import static dev.eestream.core.model.onnx.OnnxAttributes.intAttr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tiny decoders as ONNX Runtime's own optimizer leaves them (EXTENDED level: FusedMatMul for the scaled QKᵀ,
 * BiasGelu or QuickGelu, SimplifiedLayerNormalization), encrypted for generate: EE greedy generation decrypts to the
 * plaintext tokens and EE logits, un-permuted, equal the plaintext ones step by step. Also a Llama whose vocabulary
 * head is a 4-bit MatMulNBits, as model builders quantize it: π moves whole rows of its blocks, exactly.
 */
class OrtOptimizedDecoderTest {
    private static final int PROMPTS = 112;
    private static final int NEW_TOKENS = 8;
    private static final int BATCH = 16;
    private static final int BLOCK = 16;
    private final EeKey key = EeKey.generate();

    private static ModelProto source(String family) {
        return switch (family) {
            case "llama-tied" -> TinyDecoders.llama(3, true, null);
            case "llama" -> TinyDecoders.llama(3, false, null);
            case "llama-4bit-head" -> withNBitsHead(TinyDecoders.llama(3, false, null));
            default -> TinyDecoders.gpt2(3);
        };
    }

    @Test
    void ortFusesTheTinyDecoders() throws Exception {
        Set<String> gpt2 = OrtOptimizer.opTypes(OrtOptimizer.extended(TinyDecoders.gpt2(3), Map.of()));
        assertTrue(gpt2.containsAll(List.of("com.microsoft:FusedMatMul", "com.microsoft:BiasGelu")), gpt2.toString());
        Set<String> llama = OrtOptimizer.opTypes(OrtOptimizer.extended(source("llama-4bit-head"), Map.of()));
        assertTrue(llama.containsAll(List.of("com.microsoft:FusedMatMul", "com.microsoft:QuickGelu", "SimplifiedLayerNormalization",
                "com.microsoft:MatMulNBits")), llama.toString());
        System.out.println("ORT EXTENDED on the tiny decoders: gpt2 " + gpt2 + "; llama with a 4-bit head " + llama);
    }

    @ParameterizedTest(name = "{0}, hidden permutation {1}")
    @CsvSource({"gpt2, false", "gpt2, true", "llama-tied, false", "llama, true", "llama-4bit-head, false"})
    void eeGenerationOnTheOptimizedDecoderMatchesPlaintext(String family, boolean hidden) throws Exception {
        ModelProto optimized = OrtOptimizer.extended(source(family), Map.of());
        ModelTransformer.Result ee = transform(optimized, key, hidden);
        ModelTransformer.Result plain = transform(optimized, null, false);
        Permutation pi = key.vocabPermutation(TinyDecoders.VOCAB);
        OutputDecryptor decryptor = new OutputDecryptor(key);
        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(PROMPTS, TinyDecoders.VOCAB, 1, 20, 31);
        List<long[]> encrypted = TinyTransformerEquivalenceTest.encrypt(prompts, pi);
        double worst = 0;
        int steps = 0;
        try (DecoderSession eeSession = DecoderSession.open(ee.modelBytes(), ee.manifest());
             DecoderSession plainSession = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            List<Generation> expected = new ArrayList<>();
            for (int from = 0; from < PROMPTS; from += BATCH) {
                List<long[]> chunk = prompts.subList(from, Math.min(PROMPTS, from + BATCH));
                expected.addAll(plainSession.greedy(chunk, NEW_TOKENS, Set.of()));
                List<Generation> got = eeSession.greedy(encrypted.subList(from, from + chunk.size()), NEW_TOKENS, Set.of());
                for (int i = 0; i < got.size(); i++) {
                    assertArrayEquals(expected.get(from + i).ids(), decryptor.tokenIds(got.get(i).ids(), TinyDecoders.VOCAB),
                            family + " prompt " + (from + i));
                }
            }
            LogitSteps.Outcome logits = LogitSteps.compare(plainSession, eeSession, prompts, encrypted, expected, decryptor, pi,
                    hidden);
            worst = logits.worst();
            steps = logits.steps();
        }
        System.out.printf("generate on ORT-optimized %s, ρ %s: %d prompts x %d tokens equal in batches of %d; %d logit steps %s, "
                + "max relative difference %.3g%n", family, hidden ? "on" : "off", PROMPTS, NEW_TOKENS, BATCH, steps,
                hidden ? "compared" : "bit-identical", worst);
        assertEquals(PROMPTS * NEW_TOKENS, steps);
        assertTrue(worst <= 1e-5, "max relative difference " + worst);
    }

    @Test
    void theHiddenPermutationIsRefusedAtA4BitHeadNamingTheNode() throws Exception {
        ModelProto optimized = OrtOptimizer.extended(source("llama-4bit-head"), Map.of());
        UnsupportedModelException refused = assertThrows(UnsupportedModelException.class, () -> transform(optimized, key, true));
        assertEquals("lm_head_4bit", refused.nodeName(), refused.getMessage());
        assertTrue(refused.getMessage().contains("quantization blocks lie along the contracted axis"), refused.getMessage());
    }

    private static ModelTransformer.Result transform(ModelProto source, EeKey key, boolean hidden) {
        return ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).key(key).hiddenPermutation(hidden)
                .maxSequenceLength(TinyDecoders.CONTEXT).modelId("ort-decoder").build());
    }

    /**
     * The decoder with its vocabulary head MatMul replaced by MatMulNBits holding the same weights quantized to 4 bits
     * (asymmetric, blocks of 16 along the input axis, a scale and a zero point per output row and block).
     */
    static ModelProto withNBitsHead(ModelProto model) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        String logitsInput = g.getNodeList().stream().filter(n -> n.getOutput(0).equals(KvCacheNames.LOGITS)).findFirst()
                .orElseThrow().getInput(0);
        int index = -1;
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (g.getNode(i).getOutput(0).equals(logitsInput)) {
                index = i;
            }
        }
        NodeProto head = g.getNode(index);
        assertEquals("MatMul", head.getOpType());
        TensorProto weight = g.getInitializerList().stream().filter(t -> t.getName().equals(head.getInput(1))).findFirst().orElseThrow();
        long[] dims = OnnxTensors.dims(weight);
        int k = (int) dims[0];
        int n = (int) dims[1];
        float[] w = new float[k * n];
        ByteBuffer.wrap(OnnxTensors.rawBytes(weight)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(w);
        int blocks = k / BLOCK;
        byte[] packed = new byte[n * blocks * BLOCK / 2];
        float[] scales = new float[n * blocks];
        byte[] zeroPoints = new byte[n * ((blocks + 1) / 2)];
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                float min = 0;
                float max = 0;
                for (int r = b * BLOCK; r < (b + 1) * BLOCK; r++) {
                    min = Math.min(min, w[r * n + col]);
                    max = Math.max(max, w[r * n + col]);
                }
                float scale = (max - min) / 15f;
                int zero = Math.round(-min / scale);
                scales[col * blocks + b] = scale;
                zeroPoints[col * ((blocks + 1) / 2) + b / 2] |= (byte) (zero << (4 * (b % 2)));
                for (int j = 0; j < BLOCK; j++) {
                    int q = Math.max(0, Math.min(15, Math.round(w[(b * BLOCK + j) * n + col] / scale) + zero));
                    packed[(col * blocks + b) * BLOCK / 2 + j / 2] |= (byte) (q << (4 * (j % 2)));
                }
            }
        }
        g.removeInitializer(g.getInitializerList().indexOf(weight));
        g.addInitializer(TensorProto.newBuilder().setName("lm_head_q4").setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(n).addDims(blocks).addDims(BLOCK / 2).setRawData(ByteString.copyFrom(packed)));
        g.addInitializer(OnnxTensors.floatTensor("lm_head_scales", new long[] {scales.length}, scales));
        g.addInitializer(TensorProto.newBuilder().setName("lm_head_zero_points").setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(zeroPoints.length).setRawData(ByteString.copyFrom(zeroPoints)));
        g.setNode(index, NodeProto.newBuilder().setName("lm_head_4bit").setDomain("com.microsoft").setOpType("MatMulNBits")
                .addInput(head.getInput(0)).addInput("lm_head_q4").addInput("lm_head_scales").addInput("lm_head_zero_points")
                .addOutput(head.getOutput(0)).addAttribute(intAttr("K", k)).addAttribute(intAttr("N", n))
                .addAttribute(intAttr("bits", 4)).addAttribute(intAttr("block_size", BLOCK)));
        return model.toBuilder().setGraph(g).addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .build();
    }
}
