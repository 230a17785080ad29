package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.onnx.OpaqueNames;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec.Family;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.Task;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The EE model of the real all-MiniLM-L6-v2 names nothing of its source model and marks no permuted axis: every node,
 * initializer and intermediate tensor has an opaque name, only the graph inputs and the task output keep theirs, and
 * no doc string, value info or metadata survives; a decoder keeps its KV-cache names. Renaming alone changes no output,
 * bit for bit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelHygieneTest {
    private static final Pattern OPAQUE = Pattern.compile("[nt][0-9]+");
    private static final Set<String> GRAPH_PORTS = Set.of("input_ids", "attention_mask", "token_type_ids", "embedding", "scores");

    private ModelProto source;
    private TokenizerJson tokenizer;
    private final EeKey key = EeKey.generate();

    @BeforeAll
    void load() throws Exception {
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            source = ModelTransformer.read(in, "bundled");
        }
        tokenizer = BundledModel.ALL_MINILM_L6_V2.tokenizer();
    }

    @Test
    void anEmbedModelKeepsNoSourceNameAndNoPermutationMarker() throws Exception {
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.EMBED).key(key).modelId("emb").build(), null, s -> { });
        assertTrue(ee.manifest().hiddenPermutation());
        assertClean(source, ee.model(), GRAPH_PORTS, "MiniLM embed");
    }

    @Test
    void aZeroShotClassifyModelKeepsNoSourceNameAndNoPermutationMarker() throws Exception {
        ModelTransformer.Result ee = ModelEncryptor.encrypt(source, tokenizer,
                TransformSpec.builder(Task.CLASSIFY).key(key).hiddenPermutation(true).modelId("cls").build(),
                List.of("sports", "finance"), s -> { });
        assertClean(source, ee.model(), GRAPH_PORTS, "MiniLM classify");
    }

    /** The pass on the untransformed model: every output of the source, bit-identical, from the renamed graph. */
    @Test
    void renamingChangesNoOutput() throws Exception {
        ModelProto renamed = OpaqueNames.scrub(source);
        Set<String> left = namesOf(renamed);
        left.retainAll(sourceNames(source));
        assertEquals(ports(renamed), left, "only the graph's inputs and outputs keep their names");
        try (PrivateTokenizer plain = PrivateTokenizer.open(tokenizer, null, null, null)) {
            for (String text : List.of("Private inference over Kafka.", "The quick brown fox jumps over the lazy dog.", "a")) {
                long[] ids = plain.encodePlain(text);
                Map<String, float[]> before = run(source, ids);
                Map<String, float[]> after = run(renamed, ids);
                assertEquals(before.keySet(), after.keySet());
                assertFalse(before.isEmpty());
                for (String output : before.keySet()) {
                    assertArrayEquals(before.get(output), after.get(output), 0f, text + ": " + output);
                }
            }
        }
    }

    /** A decoder keeps the names of its KV cache, which the processor feeds and reads by name, and nothing else. */
    @Test
    void aDecoderKeepsItsCacheNamesAndNothingElse() {
        ModelProto decoder = SyntheticDecoders.build(SyntheticDecoderSpec.builder(Family.LLAMA).vocabSize(64).hiddenSize(32)
                .layers(2).heads(4).kvHeads(2).contextLength(48).seed(11).build());
        ModelTransformer.Result ee = ModelTransformer.transform(decoder,
                TransformSpec.builder(Task.GENERATE).key(key).modelId("decoder").build());
        Set<String> cache = new HashSet<>(List.of("input_ids", "attention_mask", KvCacheNames.POSITION_IDS, KvCacheNames.LOGITS));
        for (int layer = 0; layer < 2; layer++) {
            for (boolean isKey : new boolean[] {true, false}) {
                cache.add(KvCacheNames.past(layer, isKey));
                cache.add(KvCacheNames.present(layer, isKey));
            }
        }
        assertEquals(cache, ports(ee.model()));
        assertClean(decoder, ee.model(), cache, "decoder generate");
    }

    private static void assertClean(ModelProto source, ModelProto ee, Set<String> allowedPorts, String task) {
        Set<String> ports = ports(ee);
        assertTrue(allowedPorts.containsAll(ports), "graph inputs and outputs: " + ports);

        Set<String> sourceNames = sourceNames(source);
        Set<String> eeNames = namesOf(ee);
        Set<String> surviving = new TreeSet<>(sourceNames);
        surviving.retainAll(eeNames);
        surviving.removeAll(ports);
        assertEquals(Set.of(), surviving, task + ": source names left in the EE model");
        for (String name : eeNames) {
            assertTrue(ports.contains(name) || OPAQUE.matcher(name).matches(), task + ": name '" + name + "' is not opaque");
        }
        System.out.printf("%s: %d names in the source model, %d in the EE model, %d of the source's survive (%s)%n",
                task, sourceNames.size(), eeNames.size(), eeNames.stream().filter(sourceNames::contains).count(),
                new TreeSet<>(ports));

        assertEquals("", ee.getDocString());
        assertEquals(0, ee.getMetadataPropsCount());
        assertEquals(OpaqueNames.PRODUCER, ee.getProducerName());
        assertEquals("", ee.getProducerVersion());
        assertEquals(source.getIrVersion(), ee.getIrVersion());
        assertEquals(source.getOpsetImportList(), ee.getOpsetImportList());
        GraphProto g = ee.getGraph();
        assertEquals("", g.getDocString());
        assertEquals(0, g.getValueInfoCount());
        assertFalse(g.getName().contains("torch") || g.getName().contains("graph"), g.getName());
        for (NodeProto n : g.getNodeList()) {
            assertEquals("", n.getDocString(), n.getName());
            for (AttributeProto a : n.getAttributeList()) {
                assertEquals("", a.getDocString(), n.getName());
                assertEquals("", a.getT().getName(), n.getName());
            }
        }
        int previous = -1;
        for (TensorProto t : g.getInitializerList()) {
            assertEquals("", t.getDocString(), t.getName());
            // Listed in the order the nodes first read them, so the transform's permuted copies do not stand out at the end.
            int number = Integer.parseInt(t.getName().substring(1));
            assertTrue(number > previous, t.getName() + " after t" + previous);
            previous = number;
        }
        for (ValueInfoProto v : g.getInputList()) {
            assertEquals("", v.getDocString());
        }
    }

    /** Every name the source model uses: initializers, nodes, the tensors nodes write and read, inputs and outputs. */
    private static Set<String> sourceNames(ModelProto source) {
        Set<String> names = namesOf(source);
        source.getGraph().getValueInfoList().forEach(v -> names.add(v.getName()));
        names.remove("");
        return names;
    }

    private static Set<String> namesOf(ModelProto model) {
        Set<String> names = new HashSet<>();
        GraphProto g = model.getGraph();
        g.getInitializerList().forEach(t -> names.add(t.getName()));
        g.getInputList().forEach(v -> names.add(v.getName()));
        g.getOutputList().forEach(v -> names.add(v.getName()));
        for (NodeProto n : g.getNodeList()) {
            names.add(n.getName());
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
        }
        names.remove("");
        return names;
    }

    private static Set<String> ports(ModelProto model) {
        Set<String> ports = new HashSet<>();
        model.getGraph().getInputList().forEach(in -> ports.add(in.getName()));
        model.getGraph().getOutputList().forEach(out -> ports.add(out.getName()));
        return ports;
    }

    /** Runs a model on one sequence (mask of ones, token types 0); every float output, flattened. */
    private static Map<String, float[]> run(ModelProto model, long[] ids) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {1, ids.length};
        long[] ones = new long[ids.length];
        java.util.Arrays.fill(ones, 1);
        try (OrtSession session = env.createSession(model.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor idTensor = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(ids), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(ones), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(new long[ids.length]), shape)) {
            Map<String, OnnxTensor> feed = new HashMap<>();
            feed.put("input_ids", idTensor);
            feed.put("attention_mask", mask);
            if (session.getInputNames().contains("token_type_ids")) {
                feed.put("token_type_ids", types);
            }
            Map<String, float[]> out = new HashMap<>();
            try (OrtSession.Result r = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    FloatBuffer values = ((OnnxTensor) e.getValue()).getFloatBuffer();
                    float[] copy = new float[values.remaining()];
                    values.get(copy);
                    out.put(e.getKey(), copy);
                }
            }
            return out;
        }
    }
}
