package dev.eestream.client.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ClassifierKind;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A classifier's answer decrypted by label: a model's own head gives logits and probabilities, zero-shot its cosines. */
class ClassificationDecryptionTest {
    private static final List<String> LABELS = List.of("negative", "positive", "neutral");
    private static final float[] PLAINTEXT_LOGITS = {-1.5f, 2.25f, 0.5f};

    private final EeKey key = EeKey.generate();

    @Test
    void anOwnHeadsLogitsComeBackByLabelWithTheirProbabilities() {
        DecryptedResult.Classification result = decrypt(ClassifierKind.OWN_HEAD);
        assertEquals(Map.of("negative", -1.5f, "positive", 2.25f, "neutral", 0.5f), result.logits());
        assertEquals(LABELS, List.copyOf(result.logits().keySet()));
        double total = Math.exp(-1.5) + Math.exp(2.25) + Math.exp(0.5);
        assertEquals(Math.exp(-1.5) / total, result.scores().get("negative"), 1e-6);
        assertEquals(Math.exp(2.25) / total, result.scores().get("positive"), 1e-6);
        assertEquals(Math.exp(0.5) / total, result.scores().get("neutral"), 1e-6);
        assertEquals("positive", result.label());
        assertEquals(result.scores().get("positive"), result.score());
        assertTrue(result.hasLogits());

        JsonObject json = result.toJson();
        assertEquals("positive", json.get("label").getAsString());
        assertEquals(2.25f, json.get("logit").getAsFloat());
        assertEquals(0.5f, json.getAsJsonObject("logits").get("neutral").getAsFloat());
        assertEquals(result.score(), json.getAsJsonObject("scores").get("positive").getAsFloat());
    }

    @Test
    void zeroShotScoresStayCosinesWithoutLogits() {
        DecryptedResult.Classification result = decrypt(ClassifierKind.ZERO_SHOT);
        assertEquals(Map.of("negative", -1.5f, "positive", 2.25f, "neutral", 0.5f), result.scores());
        assertEquals(2.25f, result.score());
        assertFalse(result.hasLogits());
        assertFalse(result.toJson().has("logits"));
        assertFalse(result.toJson().has("logit"));
    }

    private DecryptedResult.Classification decrypt(ClassifierKind kind) {
        ClientProfile profile = new ClientProfile(ClientProfile.FORMAT, 1, "sentiment", key.keyId(), "classify", LABELS,
                "tokenizer.json", 50, 16, 32, null, kind, null, null, null);
        Permutation sigma = key.labelPermutation(LABELS.size());
        Float[] cipher = new Float[LABELS.size()];
        for (int j = 0; j < LABELS.size(); j++) {
            cipher[sigma.apply(j)] = PLAINTEXT_LOGITS[j];
        }
        InferenceResponse response = InferenceResponse.newBuilder().setRequestId("r-1").setModelId("sentiment")
                .setStatus(ResponseStatus.OK).setScores(new ArrayList<>(List.of(cipher))).setKeyId(key.keyId())
                .setCreatedAt(Instant.ofEpochMilli(1_000)).setRespondedAt(Instant.ofEpochMilli(2_000)).build();
        return assertInstanceOf(DecryptedResult.Classification.class, new ResponseDecryptor(key, profile).decrypt(response));
    }
}
