package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec.Family;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The processor's generation tests run a tiny EE decoder kept as a resource of ee-runtime's tests
 * (the processor's build must not reach the transformer). This test regenerates it with a fixed key
 * and checks the resources are exactly that: the EE bundle, the same decoder transformed without a
 * key (the plaintext reference), and the key's vocabulary permutation π as a JSON array, which the
 * tests need to compare EE tokens with plaintext ones. After a deliberate change to the synthetic
 * decoders or the transform, rewrite them with {@code -Deestream.rewrite.tiny.bundle=true}.
 */
class TinyDecoderBundleResourceTest {
    private static final Path RESOURCES = Path.of("..", "ee-runtime/src/test/resources/dev/eestream/runtime");
    private static final Path EE = RESOURCES.resolve("tiny-decoder");
    private static final Path PLAIN = RESOURCES.resolve("tiny-decoder-plain");
    private static final Path PI = RESOURCES.resolve("tiny-decoder-pi.json");
    static final int VOCAB = 64;
    static final int CONTEXT = 48;

    static SyntheticDecoderSpec spec() {
        return SyntheticDecoderSpec.builder(Family.LLAMA).vocabSize(VOCAB).hiddenSize(32).layers(2).heads(4).kvHeads(2)
                .contextLength(CONTEXT).seed(11).build();
    }

    @Test
    void theServerSideTinyDecoderBundlesAreTheSyntheticDecoderTransformed() throws Exception {
        byte[] secret = new byte[EeKey.SECRET_BYTES];
        Arrays.fill(secret, (byte) 11);
        EeKey key = EeKey.fromSecret(secret);
        ModelProto source = SyntheticDecoders.build(spec());
        ModelTransformer.Result ee = ModelTransformer.transform(source,
                TransformSpec.builder(Task.GENERATE).key(key).modelId("tiny-decoder").build());
        ModelTransformer.Result plain = ModelTransformer.transform(source,
                TransformSpec.builder(Task.GENERATE).modelId("tiny-decoder-plain").build());
        Permutation pi = key.vocabPermutation(VOCAB);
        String piJson = IntStream.range(0, VOCAB).mapToObj(t -> Integer.toString(pi.apply(t)))
                .collect(Collectors.joining(",", "[", "]\n"));
        if (Boolean.getBoolean("eestream.rewrite.tiny.bundle")) {
            ModelBundle.at(EE).write(ee.modelBytes(), ee.manifest(), true);
            ModelBundle.at(PLAIN).write(plain.modelBytes(), plain.manifest(), true);
            Files.writeString(PI, piJson, StandardCharsets.UTF_8);
        }
        // Each encryption draws its own random encryption id: everything else must be as committed.
        String committedId = ModelBundle.at(EE).readManifest().encryptionId();
        assertTrue(committedId != null && committedId.matches("[0-9a-f]{32}"), "committed encryption id " + committedId);
        assertEquals(ee.manifest().withEncryptionId(committedId), ModelBundle.at(EE).readManifest());
        assertArrayEquals(ee.modelBytes(), ModelBundle.at(EE).readModel());
        assertEquals(plain.manifest(), ModelBundle.at(PLAIN).readManifest());
        assertArrayEquals(plain.modelBytes(), ModelBundle.at(PLAIN).readModel());
        assertEquals(piJson, Files.readString(PI, StandardCharsets.UTF_8));
        assertEquals(VOCAB, ee.manifest().vocabSize());
        assertEquals(CONTEXT, ee.manifest().maxSequenceLength());
        assertEquals(Task.GENERATE.id(), ee.manifest().task());
    }

    /** The processor's tests compare generated tokens: a decoder that repeats one token would prove little. */
    @Test
    void theTinyDecoderGeneratesVariedTokens() throws Exception {
        ModelBundle plain = ModelBundle.at(PLAIN);
        Set<Long> distinct = new HashSet<>();
        try (DecoderSession session = DecoderSession.open(plain.readModel(), plain.readManifest())) {
            List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(12, VOCAB, 1, 20, 5);
            for (Generation g : session.greedy(prompts, 16, Set.of())) {
                Arrays.stream(g.ids()).forEach(distinct::add);
            }
        }
        assertTrue(distinct.size() >= 12, "the tiny decoder generates only " + distinct);
    }
}
