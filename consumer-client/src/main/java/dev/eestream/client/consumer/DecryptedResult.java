package dev.eestream.client.consumer;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.Map;

/** A response decrypted on the trusted side. */
public sealed interface DecryptedResult permits DecryptedResult.Classification, DecryptedResult.Embedding,
        DecryptedResult.Tokens, DecryptedResult.Failure {

    String requestId();

    String modelId();

    Map<String, String> attributes();

    /** One JSON object: what the decrypting stream writes and the CLIs print. */
    JsonObject toJson();

    /** Class scores by label, in the client's label order, and the best label. */
    record Classification(String requestId, String modelId, Map<String, Float> scores, String label, float score,
            java.util.List<Float> ciphertextScores, Map<String, String> attributes, Timings timings) implements DecryptedResult {
        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "OK");
            o.addProperty("label", label);
            o.addProperty("score", score);
            JsonObject s = new JsonObject();
            scores.forEach(s::addProperty);
            o.add("scores", s);
            timings.addTo(o);
            return o;
        }
    }

    /** An embedding in the plaintext basis. */
    record Embedding(String requestId, String modelId, float[] vector, Map<String, String> attributes, Timings timings)
            implements DecryptedResult {
        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "OK");
            JsonArray v = new JsonArray();
            for (float f : vector) {
                v.add(f);
            }
            o.add("embedding", v);
            timings.addTo(o);
            return o;
        }
    }

    /** Plaintext token ids (and their text) from a model that generates ids. */
    record Tokens(String requestId, String modelId, long[] tokenIds, String text, Map<String, String> attributes,
            Timings timings) implements DecryptedResult {
        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "OK");
            JsonArray ids = new JsonArray();
            for (long id : tokenIds) {
                ids.add(id);
            }
            o.add("tokenIds", ids);
            o.addProperty("text", text);
            timings.addTo(o);
            return o;
        }
    }

    /** The processor answered ERROR. */
    record Failure(String requestId, String modelId, String error, Map<String, String> attributes) implements DecryptedResult {
        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "ERROR");
            o.addProperty("error", error);
            return o;
        }
    }

    /** The processor's timings for one request. */
    record Timings(long createdAtMillis, long respondedAtMillis, long queuedMs, long inferenceMs, int batchSize) {
        void addTo(JsonObject o) {
            o.addProperty("queuedMs", queuedMs);
            o.addProperty("inferenceMs", inferenceMs);
            o.addProperty("batchSize", batchSize);
        }
    }

    private static JsonObject base(DecryptedResult r, String status) {
        JsonObject o = new JsonObject();
        o.addProperty("requestId", r.requestId());
        o.addProperty("modelId", r.modelId());
        o.addProperty("status", status);
        if (!r.attributes().isEmpty()) {
            JsonObject a = new JsonObject();
            r.attributes().forEach(a::addProperty);
            o.add("attributes", a);
        }
        return o;
    }
}
