package dev.eestream.client.consumer;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.Map;
import java.util.Objects;

/** A response decrypted on the trusted side. */
public sealed interface DecryptedResult permits DecryptedResult.Classification, DecryptedResult.Embedding,
        DecryptedResult.Tokens, DecryptedResult.Generation, DecryptedResult.Failure, DecryptedResult.BadRecord {

    String requestId();

    String modelId();

    Map<String, String> attributes();

    /** One JSON object: what the decrypting stream writes and the CLIs print. */
    JsonObject toJson();

    /**
     * Class scores by label, in the client's label order, and the best label.
     *
     * @param scores for a model with its own classifier head, the softmax probabilities of its logits; for a zero-shot
     *               model, the cosine similarity to each label
     * @param score  the best label's score (its probability, for a model with its own head)
     * @param logits a model with its own head: its logits by label, decrypted; zero-shot: empty
     */
    record Classification(String requestId, String modelId, Map<String, Float> scores, String label, float score,
            Map<String, Float> logits, java.util.List<Float> ciphertextScores, Map<String, String> attributes, Timings timings)
            implements DecryptedResult {
        public Classification {
            scores = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(scores));
            logits = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(logits));
        }

        /** Whether the scores are a fine-tuned head's probabilities (with {@link #logits}), not zero-shot cosines. */
        public boolean hasLogits() {
            return !logits.isEmpty();
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "OK");
            o.addProperty("label", label);
            o.addProperty("score", score);
            JsonObject byLabel = new JsonObject();
            scores.forEach(byLabel::addProperty);
            o.add("scores", byLabel);
            if (hasLogits()) {
                o.addProperty("logit", logits.get(label));
                JsonObject logitsByLabel = new JsonObject();
                logits.forEach(logitsByLabel::addProperty);
                o.add("logits", logitsByLabel);
            }
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

    /**
     * A finished generation, assembled from its chunks in order and decrypted.
     *
     * @param text            the generated text; a final stop token is not part of it
     * @param tokenIds        every generated plaintext id, a final stop id included
     * @param finishReason    STOP, LENGTH or DEADLINE
     * @param timings         the processor's timings, from the final record
     * @param firstTokensMs   from sending the request to the first record with tokens, on the client's clock
     * @param totalMs         from sending the request to the final record, on the client's clock
     */
    record Generation(String requestId, String modelId, String text, long[] tokenIds, String finishReason, int promptTokens,
            int generatedTokens, Map<String, String> attributes, Timings timings, long firstTokensMs, long totalMs)
            implements DecryptedResult {
        public Generation {
            tokenIds = tokenIds.clone();
            attributes = Map.copyOf(attributes);
        }

        @Override
        public long[] tokenIds() {
            return tokenIds.clone();
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "OK");
            o.addProperty("text", text);
            JsonArray ids = new JsonArray();
            for (long id : tokenIds) {
                ids.add(id);
            }
            o.add("tokenIds", ids);
            o.addProperty("finishReason", finishReason);
            o.addProperty("promptTokens", promptTokens);
            o.addProperty("generatedTokens", generatedTokens);
            o.addProperty("firstTokensMs", firstTokensMs);
            o.addProperty("totalMs", totalMs);
            timings.addTo(o);
            return o;
        }
    }

    /** The processor answered ERROR, or EXPIRED ({@code expired}: the request's deadline passed before it started). */
    record Failure(String requestId, String modelId, String error, Map<String, String> attributes, boolean expired)
            implements DecryptedResult {
        public Failure(String requestId, String modelId, String error, Map<String, String> attributes) {
            this(requestId, modelId, error, attributes, false);
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, expired ? "EXPIRED" : "ERROR");
            o.addProperty("error", error);
            return o;
        }
    }

    /**
     * A record on a response topic that is not an answer this reader can use: bytes that do not decode, or a response
     * for a model it has no profile for, computed with another key, or with outputs that do not fit the model. Not the
     * processor's answer to anything: the records before and after it are read as usual.
     *
     * @param requestId the response's request id, else the record's key; null when neither is there
     * @param modelId   the response's model id; null when the record did not decode
     * @param reason    why, in words
     */
    record BadRecord(RecordPosition position, String requestId, String modelId, BadRecordKind kind, String reason)
            implements DecryptedResult {
        /** Most characters of a request id or reason {@link #summary()} shows: both may come from a hostile record. */
        private static final int SUMMARY_FIELD_CHARS = 300;

        public BadRecord {
            Objects.requireNonNull(position, "position");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public Map<String, String> attributes() {
            return Map.of();
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = base(this, "BAD_RECORD");
            o.addProperty("topic", position.topic());
            o.addProperty("partition", position.partition());
            o.addProperty("offset", position.offset());
            o.addProperty("kind", kind.name());
            o.addProperty("reason", reason);
            return o;
        }

        /** One line for people and logs: where it was read, the request id when known, why; no line breaks. */
        public String summary() {
            return position + (requestId == null ? "" : ", request " + oneLine(requestId)) + ": " + oneLine(reason)
                    + " [" + kind + "]";
        }

        private static String oneLine(String text) {
            String flat = text.replaceAll("\\p{Cntrl}", " ");
            return flat.length() <= SUMMARY_FIELD_CHARS ? flat : flat.substring(0, SUMMARY_FIELD_CHARS) + "…";
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
