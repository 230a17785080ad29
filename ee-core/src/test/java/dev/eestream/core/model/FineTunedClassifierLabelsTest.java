package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.decrypt.Softmax;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Label names of a fine-tuned classifier: from config.json's id2label or a list, one per class, into the client profile. */
class FineTunedClassifierLabelsTest {
    private static final String CONFIG = """
            {"architectures": ["BertForSequenceClassification"], "hidden_size": 16,
             "id2label": {"2": "neutral", "0": "negative", "1": "positive"},
             "label2id": {"negative": 0, "positive": 1, "neutral": 2}}
            """;

    @TempDir
    Path dir;

    @Test
    void id2labelGivesTheNamesInClassOrder() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, CONFIG);
        assertEquals(List.of("negative", "positive", "neutral"), ClassLabels.fromConfig(config));
        assertEquals(List.of("a", "b c"), ClassLabels.fromList(" a, b c "));
    }

    @Test
    void aConfigThatDoesNotNameEveryClassOnceIsRefusedInOneLine() {
        assertRefused("has no \"id2label\"", "{\"hidden_size\": 16}");
        assertRefused("must name every class from 0 on", "{\"id2label\": {\"0\": \"a\", \"2\": \"c\"}}");
        assertRefused("is not a class index", "{\"id2label\": {\"zero\": \"a\"}}");
        assertRefused("is not a model config", "not json {");
        assertThrows(EeException.class, () -> ClassLabels.fromConfig(dir.resolve("missing.json")));
    }

    @Test
    void aLabelCountOtherThanTheHeadsClassCountIsRefusedNamingBoth() {
        EeException e = assertThrows(EeException.class, () -> ModelEncryptor.encrypt(TinyClassifiers.bert(5, 3),
                SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB), TransformSpec.builder(Task.CLASSIFY)
                        .key(EeKey.generate()).build(), List.of("negative", "positive"), stage -> { }));
        assertEquals("labels", e.setting().orElseThrow());
        assertTrue(e.problem().contains("has 3 classes") && e.problem().contains("2 label names"), e.problem());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void theLabelsOfAModelWithItsOwnHeadGoToTheClientProfileNotTheManifest() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, CONFIG);
        List<String> labels = ClassLabels.fromConfig(config);
        List<String> stages = new ArrayList<>();
        ModelTransformer.Result ee = ModelEncryptor.encrypt(TinyClassifiers.distilBert(5, 3),
                SyntheticTokenizers.numberedWords(TinyModels.ENCODER_VOCAB), TransformSpec.builder(Task.CLASSIFY)
                        .key(EeKey.generate()).modelId("sentiment").build(), labels, stages::add);
        assertTrue(stages.stream().noneMatch(stage -> stage.contains("embedding")), "no label prototypes: " + stages);
        assertFalse(ee.manifest().toJson().contains("neutral"), "label names stay with the client");

        ClientProfile profile = ClientProfile.of(ee, labels, "tokenizer.json");
        assertEquals(ClassifierKind.OWN_HEAD, profile.classifier());
        Path file = dir.resolve("sentiment.client.json");
        profile.write(file, false);
        assertTrue(Files.readString(file).contains("\"classifier\": \"own-head\""), Files.readString(file));
        assertEquals(profile, ClientProfile.read(file));
    }

    @Test
    void aProfileWrittenBeforeClassifierKindsReadsAsZeroShot() throws Exception {
        Path file = dir.resolve("old.client.json");
        Files.writeString(file, """
                {"format": "eestream-client-profile", "version": 1, "modelId": "topics", "task": "classify",
                 "labels": ["a", "b"], "tokenizer": "t.json", "vocabSize": 50, "hiddenSize": 16, "maxSequenceLength": 32}
                """);
        assertEquals(ClassifierKind.ZERO_SHOT, ClientProfile.read(file).classifier());
        Files.writeString(file, """
                {"format": "eestream-client-profile", "version": 1, "modelId": "e", "task": "embed", "labels": [],
                 "tokenizer": "t.json", "vocabSize": 50, "hiddenSize": 16, "maxSequenceLength": 32}
                """);
        assertNull(ClientProfile.read(file).classifier());
    }

    @Test
    void softmaxKeepsLabelOrderSumsToOneAndSurvivesLargeLogits() {
        Map<String, Float> logits = new LinkedHashMap<>();
        logits.put("b", 1000f);
        logits.put("a", 999f);
        logits.put("c", -1000f);
        Map<String, Float> probabilities = Softmax.probabilities(logits);
        assertEquals(List.of("b", "a", "c"), List.copyOf(probabilities.keySet()));
        assertEquals(1 / (1 + Math.exp(-1)), probabilities.get("b"), 1e-6);
        assertEquals(0f, probabilities.get("c"), 0f);
        assertEquals(1.0, probabilities.values().stream().mapToDouble(Float::doubleValue).sum(), 1e-6);
    }

    private void assertRefused(String expected, String configText) {
        EeException e = assertThrows(EeException.class, () -> ClassLabels.fromConfigText(configText, "config.json"));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
