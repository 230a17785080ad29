package dev.eestream.processor.batching;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;

/**
 * The pending store's entries outlive the processor that wrote them (they are in its changelog): a
 * restarted processor, also of a newer version, reads every one back as it was written.
 */
class PendingStoreTest {
    /** Version 2 of the request schema, as the processors before deadlines wrote entries with. */
    private static final Schema V2 = new Schema.Parser().parse("""
            {"type": "record", "name": "InferenceRequest", "namespace": "dev.eestream.schemas", "fields": [
              {"name": "requestId", "type": "string"},
              {"name": "modelId", "type": "string"},
              {"name": "tokenIds", "type": {"type": "array", "items": "long"}},
              {"name": "replyTopic", "type": ["null", "string"], "default": null},
              {"name": "createdAt", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
              {"name": "attributes", "type": {"type": "map", "values": "string"}, "default": {}},
              {"name": "generation", "default": null, "type": ["null", {"type": "record", "name": "GenerationParams", "fields": [
                {"name": "maxNewTokens", "type": "int", "default": 64},
                {"name": "temperature", "type": "float", "default": 0.0},
                {"name": "topP", "type": "float", "default": 1.0},
                {"name": "topK", "type": "int", "default": 0},
                {"name": "seed", "type": ["null", "long"], "default": null},
                {"name": "stopTokenIds", "type": {"type": "array", "items": "long"}, "default": []},
                {"name": "stream", "type": "boolean", "default": false}]}]}
            ]}""");

    private static KeyValueStore<String, byte[]> newStore() {
        KeyValueStore<String, byte[]> s = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PendingStore.STORE_NAME),
                Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
        s.init(new MockProcessorContext<String, Object>().getStateStoreContext(), s);
        return s;
    }

    private static InferenceRequest request(String id, Instant deadline) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId("m").setTokenIds(List.of(4L, 5L, 6L))
                .setCreatedAt(Instant.ofEpochMilli(77)).setAttributes(Map.of("k", "v")).setDeadline(deadline)
                .setGeneration(GenerationParams.newBuilder().setMaxNewTokens(9).setStream(true).build()).build();
    }

    @Test
    void requestsWithAndWithoutDeadlinesAndStreamingProgressComeBackAfterARestart() {
        KeyValueStore<String, byte[]> kv = newStore();
        PendingStore first = new PendingStore(kv);
        first.add(request("plain", null), 1_000);
        PendingRequest dated = first.add(request("dated", Instant.ofEpochMilli(5_000)), 1_001);
        first.streamed(dated, 7, 2);
        PendingRequest streamedOnly = first.add(request("streamed", null), 1_002);
        first.streamed(streamedOnly, 3, 1);

        PendingStore restarted = new PendingStore(kv);
        List<PendingRequest> back = restarted.takeOldest("m", 10);
        assertEquals(List.of("plain", "dated", "streamed"), back.stream().map(p -> p.request().getRequestId()).toList());
        assertNull(back.get(0).request().getDeadline());
        assertEquals(Instant.ofEpochMilli(5_000), back.get(1).request().getDeadline());
        assertEquals(7, back.get(1).sentTokens());
        assertEquals(2, back.get(1).sentChunks());
        assertEquals(1_001, back.get(1).arrivalMillis());
        assertEquals(3, back.get(2).sentTokens());
        assertEquals(request("dated", Instant.ofEpochMilli(5_000)), back.get(1).request());
        assertEquals(request("plain", null), back.get(0).request());
    }

    @Test
    void anEntryWrittenBeforeDeadlinesExistedIsReadBack() throws Exception {
        GenericRecord old = new GenericRecordBuilder(V2).set("requestId", "old").set("modelId", "m").set("tokenIds", List.of(8L, 9L))
                .set("replyTopic", "replies").set("createdAt", 12L).set("attributes", Map.of()).set("generation", null).build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(Long.BYTES).putLong(2_000).array());
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(V2, GenericData.get()).write(old, enc);
        enc.flush();
        KeyValueStore<String, byte[]> kv = newStore();
        kv.put("m\u0000" + String.format("%019d", 3), out.toByteArray());

        PendingStore store = new PendingStore(kv);
        PendingRequest p = store.takeOldest("m", 1).get(0);
        assertEquals("old", p.request().getRequestId());
        assertEquals(List.of(8L, 9L), p.request().getTokenIds());
        assertEquals("replies", p.request().getReplyTopic());
        assertEquals(2_000, p.arrivalMillis());
        assertNull(p.request().getDeadline());
        assertEquals(3, p.seq());
        // A new entry goes after it: sequence numbers continue from what the store holds.
        assertEquals(4, store.add(request("new", null), 2_001).seq());
    }
}
