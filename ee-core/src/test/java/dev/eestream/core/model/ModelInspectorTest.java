package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.model.ModelInspection.TaskOutcome;
import dev.eestream.core.model.ModelInspector.Options;
import dev.eestream.runtime.EeException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inspection says what the transform would do, because it runs the transform: each fact checked on a model built for it. */
class ModelInspectorTest {
    @TempDir
    Path dir;

    @Test
    void theBundledMiniLmEmbedsAndClassifiesZeroShotButDoesNotGenerate() throws Exception {
        ModelInspection inspection = ModelInspector.inspect(BundledModel.ALL_MINILM_L6_V2, Options.defaults());
        assertEquals("encoder", inspection.architecture().family());
        assertEquals(30522, inspection.architecture().vocabSize());
        assertEquals(384, inspection.architecture().hiddenSize());
        assertEquals(512, inspection.architecture().maxSequenceLength());
        assertEquals("input_ids", inspection.roles().tokenIds());
        assertEquals("attention_mask", inspection.roles().attentionMask());
        assertEquals("token_type_ids", inspection.roles().tokenTypeIds());
        assertTrue(inspection.parameters() > 20_000_000 && inspection.parameters() < 25_000_000, "" + inspection.parameters());
        assertTrue(inspection.task("embed").possible());
        assertTrue(inspection.task("embed").hidden().possible());
        TaskOutcome classify = inspection.task("classify");
        assertTrue(classify.possible());
        assertEquals("zero-shot", classify.classifier());
        TaskOutcome generate = inspection.task("generate");
        assertFalse(generate.possible());
        assertTrue(generate.problem().message().contains("KV-cache inputs past_key_values"), generate.problem().message());
    }

    @Test
    void aLlamaStyleDecoderGeneratesAndItsLayoutIsRead() {
        ModelInspection inspection = ModelInspector.inspect(TinyDecoders.llama(3, false, null), "llama", Options.defaults());
        assertEquals("decoder", inspection.architecture().family());
        assertEquals(TinyDecoders.LAYERS, inspection.architecture().layers());
        assertEquals(TinyDecoders.LLAMA_KV_HEADS, inspection.architecture().kvHeads());
        assertEquals(TinyDecoders.HEADS, inspection.architecture().attentionHeads());
        assertEquals(TinyDecoders.HEAD_SIZE, inspection.architecture().headSize());
        assertEquals(TinyDecoders.VOCAB, inspection.architecture().vocabSize());
        assertEquals(TinyDecoders.HIDDEN, inspection.architecture().hiddenSize());
        assertEquals("position_ids", inspection.roles().positionIds());
        assertTrue(inspection.task("generate").possible());
        assertTrue(inspection.task("generate").hidden().possible());
        assertFalse(inspection.task("embed").possible());
        assertTrue(inspection.task("embed").problem().message().contains("it is a decoder"), inspection.task("embed").problem().message());
    }

    @Test
    void aFineTunedClassifierIsReportedWithItsOwnHeadAndClassCount() {
        ModelInspection inspection = ModelInspector.inspect(TinyClassifiers.distilBert(5, 4), "distilbert", Options.defaults());
        TaskOutcome classify = inspection.task("classify");
        assertTrue(classify.possible());
        assertEquals("own-head", classify.classifier());
        assertEquals(4, classify.classes());
        assertTrue(classify.hidden().possible());
        assertEquals(TinyModels.MAX_POSITIONS, inspection.architecture().maxSequenceLength());
    }

    /** An op no rule proves safe under ρ is named as what blocks ρ, for every task that would apply ρ. */
    @Test
    void anOpOnTheResidualStreamBlocksTheHiddenPermutationNamingTheNode() {
        ModelInspection encoder = ModelInspector.inspect(TinyModels.encoder(7, "Trilu"), "trilu", Options.defaults());
        TaskOutcome classify = encoder.task("classify");
        assertFalse(classify.hidden().possible());
        assertEquals("suspicious", classify.hidden().problem().node());
        assertTrue(classify.hidden().problem().message().contains("'suspicious' (Trilu)"), classify.hidden().problem().message());
        assertFalse(encoder.task("embed").possible());
        assertEquals("suspicious", encoder.task("embed").problem().node());

        ModelInspection decoder = ModelInspector.inspect(TinyDecoders.llama(3, true, "Trilu"), "llama-trilu", Options.defaults());
        TaskOutcome generate = decoder.task("generate");
        assertEquals("suspicious", generate.hidden().problem().node());
        // Without ρ the analysis cannot prove the op leaves the stream plain either; it stops where π must reach the logits.
        assertFalse(generate.possible());
        assertTrue(generate.problem().message().contains("(MatMul)"), generate.problem().message());
    }

    @Test
    void aKvCacheHoldingTheStreamBlocksOnlyTheHiddenPermutation() {
        ModelInspection inspection = ModelInspector.inspect(TinyDecoders.streamInCache(3), "stream-in-cache",
                new Options(null, null, null, TinyDecoders.CONTEXT, null));
        TaskOutcome generate = inspection.task("generate");
        assertTrue(generate.possible(), String.valueOf(generate.problem()));
        assertEquals("present.0.key", generate.hidden().problem().node());
    }

    @Test
    void settingsChangeTheOutcomeAsTheyWouldForTheTransform() {
        ModelInspection wrongTokenizer = ModelInspector.inspect(TinyModels.encoder(7, null), "tiny",
                new Options(null, null, null, null, 99));
        assertFalse(wrongTokenizer.task("embed").possible());
        assertTrue(wrongTokenizer.task("embed").problem().message().contains("does not belong to this model"));
        ModelInspection noSuchOutput = ModelInspector.inspect(TinyModels.encoder(7, null), "tiny",
                new Options(null, null, "nope", null, null));
        assertTrue(noSuchOutput.task("embed").problem().message().contains("no output named 'nope'"));
        assertNull(noSuchOutput.task("embed").problem().node());
    }

    /** An export with external data: its size on disk counts the data file, and the weights are read from it. */
    @Test
    void aModelWithExternalDataIsInspectedWithItsDataFile() throws Exception {
        var source = TinyDecoders.llama(2, false, null);
        Path model = ExternalDataTest.export(source, dir.resolve("export/model.onnx"), "model.onnx_data");
        ModelInspection inspection = ModelInspector.inspect(model, Options.defaults());
        assertEquals(Files.size(model) + Files.size(dir.resolve("export/model.onnx_data")), inspection.diskBytes());
        assertTrue(Files.size(model) < inspection.weightBytes(), "the weights are mostly in the data file");
        assertEquals(ModelInspector.inspect(source, "in memory", Options.defaults()).parameters(), inspection.parameters());
        assertTrue(inspection.task("generate").possible(), String.valueOf(inspection.task("generate").problem()));
    }

    @Test
    void aFileIsMeasuredAndAMissingOrForeignFileIsAOneLineError() throws Exception {
        Path model = dir.resolve("model.onnx");
        Files.write(model, TinyModels.encoder(7, null).toByteArray());
        ModelInspection inspection = ModelInspector.inspect(model, Options.defaults());
        assertEquals(Files.size(model), inspection.diskBytes());
        assertEquals(17, inspection.opset());
        EeException missing = assertThrows(EeException.class, () -> ModelInspector.inspect(dir.resolve("absent.onnx"),
                Options.defaults()));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        Path text = Files.writeString(dir.resolve("notes.onnx"), "not a model");
        EeException foreign = assertThrows(EeException.class, () -> ModelInspector.inspect(text, Options.defaults()));
        assertTrue(foreign.getMessage().contains("is not an ONNX model"), foreign.getMessage());
    }

    /** The encoder families: inspect reports the residual width (ALBERT's, not its narrow table's) and the usable length. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"roberta, 24", "albert, 24", "mpnet, 24", "bert-tf2onnx-int32, 24"})
    void encoderFamiliesAreReportedAsTheyWillBeEncrypted(String family, int maxLength) {
        ModelInspection inspection = ModelInspector.inspect(TinyEncoderFamilies.build(family, 5), family, Options.defaults());
        assertEquals("encoder", inspection.architecture().family());
        assertEquals(TinyEncoderFamilies.HIDDEN, inspection.architecture().hiddenSize());
        assertEquals(maxLength, inspection.architecture().maxSequenceLength());
        assertTrue(inspection.task("embed").possible());
        assertTrue(inspection.task("classify").hidden().possible());
    }
}
