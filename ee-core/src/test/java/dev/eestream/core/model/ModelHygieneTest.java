package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.FunctionProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
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
        assertTrue(ee.hiddenPermutation());
        assertClean(source, ee.model(), GRAPH_PORTS, "MiniLM embed");
        // The manifest, which the server reads, says neither whose key it is nor which permutations were applied.
        String manifest = ee.manifest().toJson();
        assertFalse(manifest.contains(key.keyId()) || manifest.contains("keyId") || manifest.contains("hiddenPermutation"),
                manifest);
        assertEquals(key.keyId(), ee.keyId(), "the key id is the client profile's");
        assertTrue(ee.manifest().encryptionId().matches("[0-9a-f]{32}"), ee.manifest().encryptionId());
    }

    /**
     * Local functions (as older dynamo exports write them): one no node calls goes, a called one keeps its computation
     * under an opaque name with opaque names inside, and the symbolic dimensions of inputs and outputs lose their names.
     */
    @Test
    void localFunctionsAndDimensionNamesSayNothing() throws Exception {
        String domain = "pkg.exporter";
        FunctionProto called = FunctionProto.newBuilder().setName("bert_encoder_layer_0_Square").setDomain(domain)
                .addInput("bert_hidden_in").addOutput("bert_hidden_out").addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setVersion(17))
                .setDocString("from transformers.models.bert")
                .addNode(NodeProto.newBuilder().setOpType("Mul").setName("/bert/encoder/layer.0/Mul").addInput("bert_hidden_in")
                        .addInput("bert_hidden_in").addOutput("bert_hidden_sq"))
                .addNode(NodeProto.newBuilder().setOpType("Add").setName("/bert/encoder/layer.0/Add").addInput("bert_hidden_sq")
                        .addInput("bert_hidden_in").addOutput("bert_hidden_out"))
                .build();
        FunctionProto unused = called.toBuilder().setName("bert_pooler_unused").build();
        TypeProto floats = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3)))).build();
        GraphProto graph = GraphProto.newBuilder().setName("torch_jit")
                .addInput(ValueInfoProto.newBuilder().setName("x").setType(floats))
                .addOutput(ValueInfoProto.newBuilder().setName("y").setType(floats))
                .addNode(NodeProto.newBuilder().setOpType(called.getName()).setDomain(domain).setName("bert_call")
                        .addInput("x").addOutput("bert.encoder.out"))
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("/bert/Relu").addInput("bert.encoder.out")
                        .addOutput("y"))
                .build();
        ModelProto model = ModelProto.newBuilder().setIrVersion(8).setGraph(graph)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(1))
                .addFunctions(called).addFunctions(unused).build();

        ModelProto scrubbed = OpaqueNames.scrub(model);
        assertEquals(1, scrubbed.getFunctionsCount(), "the function no node calls is gone");
        FunctionProto f = scrubbed.getFunctions(0);
        assertEquals("f0", f.getName());
        assertEquals("", f.getDocString());
        assertEquals("f0", scrubbed.getGraph().getNode(0).getOpType());
        Set<String> bodyNames = new HashSet<>(f.getInputList());
        bodyNames.addAll(f.getOutputList());
        for (NodeProto n : f.getNodeList()) {
            bodyNames.add(n.getName());
            bodyNames.addAll(n.getInputList());
            bodyNames.addAll(n.getOutputList());
        }
        for (String name : bodyNames) {
            assertTrue(OPAQUE.matcher(name).matches(), "name '" + name + "' in the function is not opaque");
        }
        assertEquals("d0", scrubbed.getGraph().getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals("d0", scrubbed.getGraph().getOutput(0).getType().getTensorType().getShape().getDim(0).getDimParam(),
                "the same dimension keeps one name");
        assertFalse(scrubbed.toString().contains("bert"), "no source name anywhere");

        float[] x = {-2f, -0.5f, 0f, 0.25f, 1f, 3f};
        assertArrayEquals(runFloats(model, x), runFloats(scrubbed, x), 0f);
        assertArrayEquals(new float[] {2f, 0f, 0f, 0.3125f, 2f, 12f}, runFloats(scrubbed, x), 0f);
    }

    private static float[] runFloats(ModelProto model, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model.toByteArray(), new OrtSession.SessionOptions());
             OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 3});
             OrtSession.Result r = session.run(Map.of("x", in))) {
            FloatBuffer values = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[values.remaining()];
            values.get(out);
            return out;
        }
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
        List<ValueInfoProto> portInfo = new java.util.ArrayList<>(g.getInputList());
        portInfo.addAll(g.getOutputList());
        for (ValueInfoProto v : portInfo) {
            for (TensorShapeProto.Dimension d : v.getType().getTensorType().getShape().getDimList()) {
                assertTrue(!d.hasDimParam() || d.getDimParam().matches("d[0-9]+"), v.getName() + ": " + d.getDimParam());
            }
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
