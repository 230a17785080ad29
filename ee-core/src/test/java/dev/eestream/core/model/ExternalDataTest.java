package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.ModelSession;
import dev.eestream.runtime.session.SessionSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models whose weights live in ONNX external data files, as exporters write models over 2 GB
 * (optimum: {@code model.onnx} + {@code model.onnx_data}): read with their data, encrypted, written
 * back with external data, and run by ONNX Runtime from the model file, equal to plaintext.
 */
class ExternalDataTest {
    @TempDir
    Path dir;

    private final EeKey key = EeKey.generate();

    /** Writes {@code model} as an exporter would: the model file, and one data file named {@code location} beside it. */
    static Path export(ModelProto model, Path modelFile, String location) throws IOException {
        Files.createDirectories(modelFile.getParent());
        ExternalData.Split split = ExternalData.split(model, location, ExternalData.DEFAULT_MIN_BYTES);
        Files.write(modelFile, split.modelBytes());
        try (OutputStream out = Files.newOutputStream(modelFile.resolveSibling(location))) {
            split.writeData(out);
        }
        return modelFile;
    }

    @Test
    void aDecoderExportedWithExternalDataIsReadWholeEncryptedAndServedFromItsFilesEqualToPlaintext() throws Exception {
        ModelProto source = TinyDecoders.llama(2, false, null);
        Path exported = export(source, dir.resolve("export/model.onnx"), "model.onnx_data");
        assertTrue(Files.size(exported) < Files.size(dir.resolve("export/model.onnx_data")) / 4,
                "the weights are in the data file, not in the model file");

        ModelProto read = ModelTransformer.read(exported);
        assertFalse(ExternalData.isUsed(read));
        assertEquals(source, read, "reading the model with its data gives back the model that was exported");

        ModelTransformer.Result ee = GenerateEquivalenceTest.transform(read, key, true);
        ModelTransformer.Result plain = GenerateEquivalenceTest.transform(source, null, false);
        ModelBundle bundle = ModelBundle.at(dir.resolve("models/tiny-decoder"));
        assertTrue(ModelWriter.write(bundle, ee, ModelWriter.ExternalDataMode.ALWAYS, false));
        assertTrue(bundle.hasData());
        ModelProto written = ModelProto.parseFrom(Files.readAllBytes(bundle.modelFile()));
        assertEquals(List.of(ModelBundle.DATA_FILE), ExternalData.locations(written));
        assertTrue(written.getGraph().getInitializerList().stream().allMatch(ExternalDataTest::isExternalOrSmall),
                "every initializer of 1 KiB or more is in the data file");

        Permutation pi = key.vocabPermutation(TinyDecoders.VOCAB);
        List<long[]> prompts = TinyTransformerEquivalenceTest.randomSequences(12, TinyDecoders.VOCAB, 1, 20, 41);
        try (DecoderSession fromFiles = DecoderSession.open(bundle.modelFile(), ee.manifest(), SessionSettings.defaults());
             DecoderSession reference = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            for (long[] prompt : prompts) {
                long[] expected = reference.greedy(prompt, 12, Set.of()).ids();
                long[] cipher = fromFiles.greedy(TinyTransformerEquivalenceTest.encrypt(List.of(prompt), pi).get(0), 12, Set.of()).ids();
                long[] decrypted = Arrays.stream(cipher).map(id -> pi.invert((int) id)).toArray();
                assertArrayEquals(expected, decrypted, "EE generation from model.onnx + model.onnx_data equals plaintext");
            }
        }

        // Written again self-contained, the bundle drops the data file the new model no longer refers to.
        assertFalse(ModelWriter.write(bundle, ee, ModelWriter.ExternalDataMode.AUTO, true));
        assertFalse(bundle.hasData());
        try (DecoderSession selfContained = DecoderSession.open(bundle.modelFile(), ee.manifest(), SessionSettings.defaults())) {
            assertEquals(ee.manifest().layerCount(), selfContained.manifest().layerCount());
        }
    }

    private static boolean isExternalOrSmall(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getRawData().size() < ExternalData.DEFAULT_MIN_BYTES;
    }

    @Test
    void anEncoderWithOneFilePerTensorAsTorchWritesItGivesTheSameEmbeddingsAsTheSelfContainedModel() throws Exception {
        ModelProto minilm;
        try (InputStream in = BundledModel.ALL_MINILM_L6_V2.openModel()) {
            minilm = ModelTransformer.read(in, "bundled");
        }
        // torch.onnx.export with external data writes one file per tensor, named after it.
        Path modelDir = Files.createDirectories(dir.resolve("torch"));
        ModelProto.Builder b = minilm.toBuilder();
        var graph = b.getGraphBuilder();
        int files = 0;
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto t = graph.getInitializer(i);
            if (t.getRawData().size() < 4096) {
                continue;
            }
            String location = "w" + i + ".bin";
            Files.write(modelDir.resolve(location), t.getRawData().toByteArray());
            graph.setInitializer(i, t.toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", location)).build());
            files++;
        }
        assertTrue(files > 30, "most weights moved out: " + files);
        Path modelFile = modelDir.resolve("model.onnx");
        Files.write(modelFile, b.build().toByteArray());

        ModelProto read = ModelTransformer.read(modelFile);
        assertEquals(minilm, read);
        TransformSpec spec = TransformSpec.builder(Task.EMBED).key(key).hiddenPermutation(true).modelId("minilm").build();
        ModelTransformer.Result ee = ModelTransformer.transform(read, spec);
        ModelBundle bundle = ModelBundle.at(dir.resolve("models/minilm"));
        ModelWriter.write(bundle, ee, ModelWriter.ExternalDataMode.ALWAYS, false);
        List<long[]> inputs = List.of(new long[] {101, 2023, 2003, 1037, 3231, 102}, new long[] {101, 7592, 102});
        try (ModelSession fromFiles = ModelSession.open(bundle.modelFile(), ee.manifest(), SessionSettings.defaults());
             ModelSession inMemory = ModelSession.open(ee.modelBytes(), ee.manifest())) {
            assertArrayEquals(inMemory.run(inputs), fromFiles.run(inputs), "the same EE model, from files or from memory");
        }
    }

    @Test
    void externalDataThatIsMissingTruncatedOrOutsideTheModelsDirectoryIsRefusedByName() throws Exception {
        ModelProto source = TinyDecoders.gpt2(1);
        String embedding = "wte";
        assertRefused(source, dir.resolve("missing"), t -> t, "does not exist", true);
        assertRefused(source, dir.resolve("escape"), t -> relocate(t, "../outside.bin"), "outside the model's directory", false);
        assertRefused(source, dir.resolve("absolute"), t -> relocate(t, "/etc/passwd"), "outside the model's directory", false);
        assertRefused(source, dir.resolve("length"), t -> t.getName().equals(embedding) ? withEntry(t, "length", "12") : t,
                "declares 12 bytes", false);
        assertRefused(source, dir.resolve("nofile"), t -> t.getName().equals(embedding) ? t.toBuilder().clearExternalData().build() : t,
                "names no data file", false);
        Path truncated = export(source, dir.resolve("truncated/model.onnx"), "model.onnx_data");
        Path data = truncated.resolveSibling("model.onnx_data");
        byte[] bytes = Files.readAllBytes(data);
        Files.write(data, Arrays.copyOf(bytes, bytes.length - 100));
        EeException e = assertThrows(EeException.class, () -> ModelTransformer.read(truncated));
        assertTrue(e.getMessage().contains("truncated or belongs to another model"), e.getMessage());
        try (InputStream in = Files.newInputStream(truncated)) {
            EeException stream = assertThrows(EeException.class, () -> ModelTransformer.read(in, "a stream"));
            assertTrue(stream.getMessage().contains("[model.onnx_data]"), stream.getMessage());
        }
    }

    private void assertRefused(ModelProto source, Path where, UnaryOperator<TensorProto> edit, String expected,
            boolean deleteData) throws IOException {
        Path modelFile = export(source, where.resolve("model.onnx"), "model.onnx_data");
        ModelProto exported = ModelProto.parseFrom(Files.readAllBytes(modelFile));
        ModelProto.Builder b = exported.toBuilder();
        var graph = b.getGraphBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            if (graph.getInitializer(i).getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                graph.setInitializer(i, edit.apply(graph.getInitializer(i)));
            }
        }
        Files.write(modelFile, b.build().toByteArray());
        if (deleteData) {
            Files.delete(where.resolve("model.onnx_data"));
        }
        EeException e = assertThrows(EeException.class, () -> ModelTransformer.read(modelFile));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static TensorProto relocate(TensorProto t, String location) {
        return withEntry(t, "location", location);
    }

    private static TensorProto withEntry(TensorProto t, String key, String value) {
        TensorProto.Builder b = t.toBuilder().clearExternalData();
        for (StringStringEntryProto e : t.getExternalDataList()) {
            if (!e.getKey().equals(key)) {
                b.addExternalData(e);
            }
        }
        return b.addExternalData(entry(key, value)).build();
    }

    private static StringStringEntryProto entry(String k, String value) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(value).build();
    }
}
