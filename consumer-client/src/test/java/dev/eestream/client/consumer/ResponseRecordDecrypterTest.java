package dev.eestream.client.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.decrypt.OutputDecryptor;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.serde.AvroTrust;
import dev.eestream.schemas.serde.WireFormat;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each kind of bad record on a response topic comes out as a BadRecord of its kind, with where it was; good ones decrypt. */
class ResponseRecordDecrypterTest {
    private static final String TOPIC = "responses.under.test";
    private static final String MODEL = "embed-model";
    private static final int HIDDEN = 16;
    private static final String ENCRYPTION = "0123456789abcdef0123456789abcdef";
    private static final RecordPosition POSITION = new RecordPosition(TOPIC, 3, 42);

    private final EeKey key = EeKey.generate();
    private InMemorySchemaRegistryServer registry;
    private SchemaRegistryClient registryClient;
    private AvroSerializer<InferenceResponse> serializer;
    private ResponseDecoder decoder;
    private ResponseRecordDecrypter reader;

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().start();
        registryClient = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()));
        serializer = new AvroSerializer<>(registryClient);
        decoder = new ResponseDecoder(Map.of(RegistrySettings.URL_CONFIG, registry.url()));
        ClientProfile profile = new ClientProfile(ClientProfile.FORMAT, 1, MODEL, key.keyId(), "embed", List.of(), "tokenizer.json",
                50, HIDDEN, 32, null, null, null, ENCRYPTION, null);
        reader = new ResponseRecordDecrypter(decoder, new ResponseDecryptor(key, profile));
    }

    @AfterEach
    void stop() {
        decoder.close();
        registryClient.close();
        registry.close();
    }

    @Test
    void aGoodResponseDecryptsAndAnErrorAnswerIsAFailure() {
        List<Float> cipher = scores(HIDDEN);
        DecryptedResult result = reader.read(POSITION, "r-1", bytes(response("r-1", cipher)));
        DecryptedResult.Embedding embedding = assertInstanceOf(DecryptedResult.Embedding.class, result);
        float[] expected = new OutputDecryptor(key).embedding(toArray(cipher));
        assertArrayEquals(expected, embedding.vector());

        InferenceResponse error = copy(response("r-2", null)).setStatus(ResponseStatus.ERROR).setError("unknown model").build();
        DecryptedResult.Failure failure = assertInstanceOf(DecryptedResult.Failure.class, reader.read(POSITION, "r-2", bytes(error)));
        assertEquals("unknown model", failure.error());
    }

    @Test
    void undecodableBytesAreBadRecordsOfTheirKind() {
        byte[] valid = bytes(response("r-1", scores(HIDDEN)));
        byte[] wrongMagic = valid.clone();
        wrongMagic[0] = 1;
        Schema other = SchemaBuilder.record("Other").namespace("dev.hostile").fields().requiredString("x").endRecord();
        int otherId = registryClient.register("hostile-other-value", other);
        AvroSerializer<InferenceRequest> requests = new AvroSerializer<>(registryClient);
        byte[] request = requests.serialize("somewhere-else", InferenceRequest.newBuilder().setRequestId("q").setModelId(MODEL)
                .setTokenIds(List.of(1L)).build());

        assertBad(BadRecordKind.NO_VALUE, null, "record has no value");
        assertBad(BadRecordKind.NOT_WIRE_FORMAT, new byte[0], "too short");
        assertBad(BadRecordKind.NOT_WIRE_FORMAT, new byte[] {0, 0, 1}, "too short");
        assertBad(BadRecordKind.NOT_WIRE_FORMAT, wrongMagic, "no magic byte 0");
        assertBad(BadRecordKind.NOT_WIRE_FORMAT, "{\"requestId\": \"x\"}".getBytes(StandardCharsets.UTF_8), "no magic byte 0");
        assertBad(BadRecordKind.UNKNOWN_SCHEMA_ID, WireFormat.frame(987_654, Arrays.copyOfRange(valid, 5, valid.length)),
                "unknown schema id 987654");
        assertBad(BadRecordKind.INCOMPATIBLE_SCHEMA, WireFormat.frame(otherId, new byte[] {2, 'x'}), "not compatible");
        assertBad(BadRecordKind.INCOMPATIBLE_SCHEMA, request, "not compatible with InferenceResponse");
        assertBad(BadRecordKind.MALFORMED_AVRO, Arrays.copyOf(valid, valid.length / 2), "truncated");
        assertBad(BadRecordKind.MALFORMED_AVRO, Arrays.copyOf(valid, valid.length + 3), "left over");
    }

    @Test
    void responsesThatAreNotThisKeysToDecryptAreBadRecordsNotGarbage() {
        InferenceResponse otherKey = copy(response("r-k", scores(HIDDEN))).setKeyId(EeKey.generate().keyId()).build();
        DecryptedResult.BadRecord bad = assertBad(BadRecordKind.OTHER_KEY, bytes(otherKey), "was computed with key");
        assertEquals(MODEL, bad.modelId());
        assertEquals("r-k", bad.requestId(), "the response's own request id");

        InferenceResponse otherModel = copy(response("r-m", scores(HIDDEN))).setModelId("someone-elses-model").build();
        assertEquals("someone-elses-model", assertBad(BadRecordKind.OTHER_MODEL, bytes(otherModel), "no client profile here").modelId());

        assertBad(BadRecordKind.UNDECRYPTABLE, bytes(response("r-w", scores(HIDDEN + 1))), "width 17");
        assertBad(BadRecordKind.UNDECRYPTABLE, bytes(response("r-n", null)), "carries no outputs");

        // Version 5: the processor stamps the model's encryption id instead; another one is another encryption.
        InferenceResponse otherEncryption = copy(response("r-e", scores(HIDDEN))).setEncryptionId("f".repeat(32)).build();
        assertBad(BadRecordKind.OTHER_KEY, bytes(otherEncryption), "encrypted again");
        InferenceResponse sameEncryption = copy(response("r-s", scores(HIDDEN))).setEncryptionId(ENCRYPTION).build();
        assertInstanceOf(DecryptedResult.Embedding.class, reader.read(POSITION, "r-s", bytes(sameEncryption)));

        // A processor from before version 4 sends no key id: nothing to compare, so the response decrypts.
        InferenceResponse noKeyId = copy(response("r-old", scores(HIDDEN))).setKeyId(null).build();
        assertInstanceOf(DecryptedResult.Embedding.class, reader.read(POSITION, "r-old", bytes(noKeyId)));
    }

    @Test
    void anUnreachableRegistryIsNotBlamedOnTheRecord() throws IOException {
        byte[] valid = bytes(response("r-1", scores(HIDDEN)));
        int deadPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            deadPort = socket.getLocalPort();
        }
        try (ResponseDecoder offline = new ResponseDecoder(Map.of(RegistrySettings.URL_CONFIG, "http://127.0.0.1:" + deadPort,
                RegistrySettings.RETRIES_CONFIG, "0"))) {
            assertThrows(SchemaRegistryException.class, () -> offline.decode(POSITION, "r-1", valid));
        }
    }

    @Test
    void aSummaryIsOneLineWhateverTheRecordCarries() {
        String hostileKey = "line one\nline two\r" + "k".repeat(10_000);
        DecryptedResult.BadRecord bad = assertBad(BadRecordKind.NOT_WIRE_FORMAT, new byte[] {7}, "no magic byte 0", hostileKey);
        String summary = bad.summary();
        assertFalse(summary.contains("\n") || summary.contains("\r"), summary);
        assertTrue(summary.length() < 1_000, "a hostile key is cut: " + summary.length() + " characters");
        assertTrue(summary.startsWith("topic " + TOPIC + ", partition 3, offset 42, request line one line two"), summary);
        assertTrue(summary.endsWith("[NOT_WIRE_FORMAT]"), summary);
        assertEquals("BAD_RECORD", bad.toJson().get("status").getAsString());
        assertEquals(42, bad.toJson().get("offset").getAsLong());
    }

    private DecryptedResult.BadRecord assertBad(BadRecordKind kind, byte[] value, String reasonContains) {
        return assertBad(kind, value, reasonContains, "the-key");
    }

    private DecryptedResult.BadRecord assertBad(BadRecordKind kind, byte[] value, String reasonContains, String recordKey) {
        DecryptedResult result = reader.read(POSITION, recordKey, value);
        DecryptedResult.BadRecord bad = assertInstanceOf(DecryptedResult.BadRecord.class, result, kind + ": " + result);
        assertEquals(kind, bad.kind(), bad.reason());
        assertTrue(bad.reason().contains(reasonContains), kind + ": " + bad.reason());
        assertEquals(POSITION, bad.position());
        if (bad.modelId() == null) {
            assertEquals(recordKey, bad.requestId(), "an undecodable record is known by its key");
        }
        return bad;
    }

    private InferenceResponse response(String requestId, List<Float> scores) {
        return InferenceResponse.newBuilder().setRequestId(requestId).setModelId(MODEL).setStatus(ResponseStatus.OK)
                .setScores(scores).setKeyId(key.keyId()).setCreatedAt(Instant.ofEpochMilli(1_000))
                .setRespondedAt(Instant.ofEpochMilli(2_000)).build();
    }

    private static InferenceResponse.Builder copy(InferenceResponse response) {
        AvroTrust.declare(InferenceResponse.class);
        return InferenceResponse.newBuilder(response);
    }

    private byte[] bytes(InferenceResponse response) {
        return serializer.serialize(TOPIC, response);
    }

    private static List<Float> scores(int width) {
        List<Float> out = new ArrayList<>();
        for (int i = 0; i < width; i++) {
            out.add(i * 0.25f - 1f);
        }
        return out;
    }

    private static float[] toArray(List<Float> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }
}
