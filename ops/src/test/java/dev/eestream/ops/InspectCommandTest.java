package dev.eestream.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.core.model.TinyClassifiers;
import dev.eestream.core.model.TinyModels;
import dev.eestream.ops.CliTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eestream inspect} as a user runs it: the text for people and the JSON for machines say the same facts. */
class InspectCommandTest {
    @TempDir
    Path dir;

    @Test
    void theBundledModelEmbedsAndClassifiesZeroShotAndTheJsonSaysTheSame() {
        Run text = CliTest.run("inspect", "all-minilm-l6-v2");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("family:                encoder (vocabulary 30522, hidden size 384, max sequence length 512)"),
                text.out());
        assertTrue(text.out().contains("token ids:             input_ids int64 [batch_size, sequence_length]"), text.out());
        assertTrue(text.out().contains("classify:              yes, zero-shot"), text.out());
        assertTrue(text.out().contains("embed:                 yes"), text.out());
        assertTrue(text.out().contains("generate:              no: "), text.out());
        assertTrue(text.out().contains("eestream encrypt-model --key KEY --model all-minilm-l6-v2 --task embed --out DIR"),
                text.out());

        Run json = CliTest.run("inspect", "--model", "all-minilm-l6-v2", "--json");
        assertEquals(0, json.exit(), json.err());
        JsonObject facts = JsonParser.parseString(json.out()).getAsJsonObject();
        assertEquals("encoder", facts.getAsJsonObject("architecture").get("family").getAsString());
        assertEquals(384, facts.getAsJsonObject("architecture").get("hiddenSize").getAsInt());
        assertEquals("input_ids", facts.getAsJsonObject("roles").get("tokenIds").getAsString());
        assertTrue(task(facts, "embed").get("possible").getAsBoolean());
        assertEquals("zero-shot", task(facts, "classify").get("classifier").getAsString());
        assertFalse(task(facts, "generate").get("possible").getAsBoolean());
        String generateProblem = task(facts, "generate").getAsJsonObject("problem").get("message").getAsString();
        assertTrue(text.out().contains(generateProblem), "the text carries the JSON's reason: " + generateProblem);
        JsonArray lines = facts.getAsJsonArray("encryptModel");
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(text.out().contains(lines.get(0).getAsString()), lines.toString());
        long parameters = facts.get("parameters").getAsLong();
        assertTrue(text.out().contains(String.format(java.util.Locale.ROOT, "%.1f M parameters", parameters / 1e6)), text.out());
    }

    @Test
    void aFineTunedClassifierFileShowsItsHeadAndTheCommandItNeeds() throws Exception {
        Path model = dir.resolve("model.onnx");
        Files.write(model, TinyClassifiers.bert(5, 3).toByteArray());
        Run r = CliTest.run("inspect", model.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("classify:              yes, the model's own head (logits [batch, 3]"), r.out());
        assertTrue(r.out().contains("token type ids:        token_type_ids int64 [batch, sequence]"), r.out());
        assertTrue(r.out().contains("encrypt-model --key KEY --model " + model + " --tokenizer tokenizer.json --task classify "
                + "--config config.json --out DIR"), r.out());
    }

    @Test
    void anOpBlockingTheHiddenPermutationIsNamedInTextAndJson() throws Exception {
        Path model = dir.resolve("cumsum.onnx");
        Files.write(model, TinyModels.encoder(7, "Trilu").toByteArray());
        Run text = CliTest.run("inspect", model.toString());
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("blocked by node 'suspicious': cannot encrypt the model at node 'suspicious' (Trilu)"),
                text.out());
        JsonObject facts = JsonParser.parseString(CliTest.run("inspect", model.toString(), "--json").out()).getAsJsonObject();
        assertEquals("suspicious", task(facts, "embed").getAsJsonObject("problem").get("node").getAsString());
        assertEquals("suspicious", task(facts, "classify").getAsJsonObject("hidden").getAsJsonObject("problem").get("node")
                .getAsString());
    }

    @Test
    void aSettingThatBreaksTheTransformIsAdvisedAsItsFlagAndCarriedIntoTheCommandLine() throws Exception {
        Path model = dir.resolve("model.onnx");
        Files.write(model, TinyModels.encoder(7, null).toByteArray());
        Run wrong = CliTest.run("inspect", model.toString(), "--source-output", "nope");
        assertEquals(0, wrong.exit(), wrong.err());
        assertTrue(wrong.out().contains("embed:                 no: the model has no output named 'nope'"), wrong.out());
        Run right = CliTest.run("inspect", model.toString(), "--source-output", "last_hidden_state", "--max-length", "16");
        assertTrue(right.out().contains("--task embed --source-output last_hidden_state --max-length 16 --out DIR"), right.out());
        assertTrue(right.out().contains("max sequence length 16"), right.out());
        Run foreignTokenizer = CliTest.run("inspect", model.toString(), "--tokenizer", "all-minilm-l6-v2");
        assertTrue(foreignTokenizer.out().contains("embed:                 no: the tokenizer has 30522 token ids but the "
                + "model's embedding table 'word_embeddings' has 50 rows"), foreignTokenizer.out());
    }

    @Test
    void aMissingOrForeignFileOrAnUnknownOptionIsAOneLineError() throws Exception {
        Run missing = CliTest.run("inspect", dir.resolve("absent.onnx").toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, missing.exit());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("does not exist"), missing.err());
        Path notes = Files.writeString(dir.resolve("notes.onnx"), "not a model");
        Run foreign = CliTest.run("inspect", notes.toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, foreign.exit());
        assertEquals(1, foreign.err().strip().lines().count(), foreign.err());
        assertTrue(foreign.err().contains("is not an ONNX model"), foreign.err());
        Run both = CliTest.run("inspect", notes.toString(), "--model", "all-minilm-l6-v2");
        assertEquals(EestreamCli.EXIT_USER_ERROR, both.exit());
        assertNotEquals(0, CliTest.run("inspect", "all-minilm-l6-v2", "--frobnicate").exit());
    }

    private static JsonObject task(JsonObject facts, String id) {
        for (JsonElement task : facts.getAsJsonArray("tasks")) {
            if (task.getAsJsonObject().get("task").getAsString().equals(id)) {
                return task.getAsJsonObject();
            }
        }
        throw new AssertionError("no task " + id);
    }
}
