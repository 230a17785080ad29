package dev.eestream.schemas.serde;

import static dev.eestream.schemas.TestSupport.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.TestSupport;
import dev.eestream.schemas.registry.RegistrySettings;
import dev.eestream.schemas.registry.SchemaRegistryClient;
import dev.eestream.schemas.registry.SchemaRegistryException;
import dev.eestream.schemas.topics.Topics;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every kind of bad input fails with a precise reason, as an exception or as a {@link DecodeResult}. */
class UndecodableInputTest {

    private static final String TOPIC = Topics.REQUESTS_NAME;

    private InMemorySchemaRegistryServer registry;
    private SchemaRegistryClient client;
    private AvroDeserializer<InferenceRequest> deserializer;
    /** One attribute only: Map.of iteration order varies between runs, and truncation must cut the same bytes. */
    private final InferenceRequest sample = InferenceRequest.newBuilder(request("r-1")).setAttributes(Map.of("tenant", "acme")).build();
    private byte[] valid;
    private int requestId;

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().start();
        client = new SchemaRegistryClient(RegistrySettings.forUrl(registry.url()));
        deserializer = new AvroDeserializer<>(InferenceRequest.class, client);
        valid = new AvroSerializer<InferenceRequest>(client).serialize(TOPIC, sample);
        requestId = WireFormat.schemaId(valid);
    }

    @AfterEach
    void stop() {
        client.close();
        registry.close();
    }

    @Test
    void randomBytes() {
        byte[] random = new byte[64];
        new Random(7).nextBytes(random);
        random[0] = (byte) 0xa3;
        assertReason(String.format("no magic byte 0 (got 0xa3): not in the Confluent wire format"), random);
    }

    @Test
    void wrongMagicByte() {
        byte[] json = "{\"requestId\":\"r-1\"}".getBytes(StandardCharsets.UTF_8);
        assertReason("no magic byte 0 (got 0x7b): not in the Confluent wire format", json);
        SerializationException e = assertThrows(SerializationException.class, () -> WireFormat.schemaId(json));
        assertEquals("no magic byte 0 (got 0x7b): not in the Confluent wire format", e.getMessage());
    }

    @Test
    void tooShortForTheHeader() {
        assertReason("record of 3 bytes is too short for the wire-format header", new byte[] {0, 0, 1});
        assertReason("record of 0 bytes is too short for the wire-format header", new byte[0]);
    }

    @Test
    void unknownSchemaId() {
        assertReason("unknown schema id 42", WireFormat.frame(42, Arrays.copyOfRange(valid, 5, valid.length)));
    }

    @Test
    void truncatedPayload() {
        // Since version 3 a request ends with the one-byte cancel flag, so three bytes short ends inside an earlier field.
        assertReason("Avro payload is truncated or does not match schema id " + requestId + ": EOFException",
                Arrays.copyOf(valid, valid.length - 3));
    }

    @Test
    void bytesLeftOver() {
        byte[] longer = Arrays.copyOf(valid, valid.length + 3);
        assertReason("Avro payload is truncated or does not match schema id " + requestId + ": 3 bytes left over after the record", longer);
    }

    @Test
    void randomPayloadAfterAValidHeader() {
        byte[] payload = new byte[48];
        new Random(11).nextBytes(payload);
        DecodeResult<InferenceRequest> result = WireFormat.tryDecode(deserializer, TOPIC, WireFormat.frame(requestId, payload));
        assertFalse(result.isSuccess());
        assertTrue(result.failureReason().orElseThrow().startsWith("Avro payload is truncated or does not match schema id " + requestId + ": "),
                result.failureReason().orElseThrow());
    }

    @Test
    void hugeCountsFailFastInsteadOfAllocating() {
        // requestId "a", modelId "b", then tokenIds claiming 2^28 longs and ending there.
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        payload.writeBytes(new byte[] {2, 'a', 2, 'b'});
        long count = 1L << 28;
        for (long zigzag = count << 1; ; zigzag >>>= 7) {
            if ((zigzag & ~0x7fL) == 0) {
                payload.write((int) zigzag);
                break;
            }
            payload.write((int) ((zigzag & 0x7f) | 0x80));
        }
        assertReason("Avro payload is truncated or does not match schema id " + requestId + ": EOFException: "
                + "Collection claims 268435456 elements with at least 1 bytes each, but only 0 bytes are available",
                WireFormat.frame(requestId, payload.toByteArray()));
    }

    @Test
    void aDifferentRecordSchema() {
        Schema other = new Schema.Parser().parse(
                "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"dev.other\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}");
        int otherId = client.register("things-value", other);
        assertReason("schema id " + otherId + " is record dev.other.Thing, not compatible with InferenceRequest: "
                + "NAME_MISMATCH at /name (expected: dev.other.Thing); "
                + "READER_FIELD_MISSING_DEFAULT_VALUE at /fields/0 (requestId); "
                + "READER_FIELD_MISSING_DEFAULT_VALUE at /fields/1 (modelId); "
                + "READER_FIELD_MISSING_DEFAULT_VALUE at /fields/2 (tokenIds)", WireFormat.frame(otherId, new byte[] {2}));

        byte[] response = new AvroSerializer<InferenceResponse>(client).serialize(Topics.RESPONSES_NAME, TestSupport.response("r-9"));
        DecodeResult<InferenceRequest> result = WireFormat.tryDecode(deserializer, TOPIC, response);
        assertTrue(result.failureReason().orElseThrow().startsWith("schema id " + WireFormat.schemaId(response)
                + " is record dev.eestream.schemas.InferenceResponse, not compatible with InferenceRequest: "), result.toString());
    }

    @Test
    void goodRecordsAndTombstonesDecode() {
        DecodeResult<InferenceRequest> ok = WireFormat.tryDecode(deserializer, TOPIC, valid);
        assertTrue(ok.isSuccess());
        assertEquals(sample, ok.value());
        assertTrue(ok.failureReason().isEmpty());
        DecodeResult<InferenceRequest> tombstone = WireFormat.tryDecode(deserializer, TOPIC, null);
        assertTrue(tombstone.isSuccess());
        assertNull(tombstone.value());
        DecodeResult<InferenceRequest> bad = WireFormat.tryDecode(deserializer, TOPIC, new byte[] {1});
        IllegalStateException e = assertThrows(IllegalStateException.class, bad::value);
        assertEquals("not decoded: no magic byte 0 (got 0x01): not in the Confluent wire format", e.getMessage());
    }

    @Test
    void anUnreachableRegistryIsNotTheRecordsFault() {
        try (SchemaRegistryClient offline = new SchemaRegistryClient(RegistrySettings.builder()
                .url("http://127.0.0.1:" + TestSupport.deadPort()).retries(0).build())) {
            AvroDeserializer<InferenceRequest> reader = new AvroDeserializer<>(InferenceRequest.class, offline);
            SchemaRegistryException e = assertThrows(SchemaRegistryException.class, () -> WireFormat.tryDecode(reader, TOPIC, valid));
            assertTrue(e.isRetriable());
        }
    }

    private void assertReason(String reason, byte[] bytes) {
        SerializationException e = assertThrows(SerializationException.class, () -> deserializer.deserialize(TOPIC, bytes));
        assertEquals(reason, e.getMessage());
        DecodeResult<InferenceRequest> result = WireFormat.tryDecode(deserializer, TOPIC, bytes);
        assertFalse(result.isSuccess());
        assertEquals(reason, result.failureReason().orElseThrow());
    }
}
