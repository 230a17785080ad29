package dev.eestream.processor.batching;

import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.serde.AvroTrust;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The durable buffer: requests waiting for a batch live in a changelogged state store, so a crash
 * or rebalance loses none (Kafka Streams commits input offsets on its own schedule; a buffer only in
 * memory would drop what was consumed but not yet answered). Keys are {@code modelId NUL seq} so a
 * model's requests sort in arrival order; values are the arrival time and the request in Avro binary,
 * or, once a streamed generation has sent chunks, a marker, the arrival time, the tokens and chunks
 * sent, and the request (entries written before streamed generations existed still read).
 * An in-memory index per model, rebuilt from the store on start, answers "how many, how long, how old".
 */
public final class PendingStore {
    public static final String STORE_NAME = "eestream-pending-requests";

    static {
        AvroTrust.declare(InferenceRequest.class);
    }

    /**
     * An entry's Avro body always has the fields of version 2 of the request schema (the raw bytes carry
     * no schema id): later fields are appended to the schema, and what a stored request needs of them
     * (its deadline) goes in the entry's header. So entries written before an upgrade read after it.
     */
    static final List<String> STORED_FIELDS = List.of("requestId", "modelId", "tokenIds", "replyTopic", "createdAt", "attributes",
            "generation");
    static final Schema STORED_SCHEMA = firstFields(InferenceRequest.getClassSchema(), STORED_FIELDS);
    private static final SpecificDatumWriter<InferenceRequest> WRITER = new SpecificDatumWriter<>(STORED_SCHEMA);
    private static final SpecificDatumReader<InferenceRequest> READER = new SpecificDatumReader<>(STORED_SCHEMA,
            InferenceRequest.getClassSchema());
    /** Starts an entry that records streaming progress; an arrival time is never negative. */
    private static final long STREAMED_MARKER = -1L;
    private static final int STREAMED_HEADER = 2 * Long.BYTES + 2 * Integer.BYTES;
    /** Starts an entry of a request with a deadline: the streamed header, then the deadline (epoch ms). */
    private static final long DEADLINE_MARKER = -2L;
    private static final int DEADLINE_HEADER = STREAMED_HEADER + Long.BYTES;

    private final KeyValueStore<String, byte[]> store;
    /** Requests waiting for a flush, per model, in arrival order (not those already handed to inference). */
    private final Map<String, Deque<PendingRequest>> byModel = new HashMap<>();
    private final Map<String, Long> tokensByModel = new HashMap<>();
    private int inFlight;
    private long nextSeq;

    public PendingStore(KeyValueStore<String, byte[]> store) {
        this.store = store;
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                PendingRequest p = decode(kv.key, kv.value);
                index(p);
                nextSeq = Math.max(nextSeq, p.seq() + 1);
            }
        }
    }

    public PendingRequest add(InferenceRequest request, long arrivalMillis) {
        long seq = nextSeq++;
        String key = request.getModelId() + '\u0000' + String.format("%019d", seq);
        PendingRequest p = new PendingRequest(key, seq, arrivalMillis, request);
        store.put(key, encode(p));
        index(p);
        return p;
    }

    public int count(String modelId) {
        Deque<PendingRequest> q = byModel.get(modelId);
        return q == null ? 0 : q.size();
    }

    public long tokens(String modelId) {
        return tokensByModel.getOrDefault(modelId, 0L);
    }

    /** Arrival time of the model's oldest waiting request, or -1 when none waits. */
    public long oldestArrival(String modelId) {
        Deque<PendingRequest> q = byModel.get(modelId);
        return q == null || q.isEmpty() ? -1 : q.peekFirst().arrivalMillis();
    }

    public List<String> modelsWaiting() {
        List<String> out = new ArrayList<>();
        byModel.forEach((m, q) -> {
            if (!q.isEmpty()) {
                out.add(m);
            }
        });
        return out;
    }

    /** The model's oldest waiting request, left waiting; null if none waits. */
    public PendingRequest peekOldest(String modelId) {
        Deque<PendingRequest> q = byModel.get(modelId);
        return q == null ? null : q.peekFirst();
    }

    /**
     * Hands the model's oldest waiting requests, at most {@code max}, to inference: they stop counting
     * as waiting but stay in the store until {@link #answered} removes them, so a crash before the
     * answer is committed leaves them to be answered after restart.
     */
    public List<PendingRequest> takeOldest(String modelId, int max) {
        Deque<PendingRequest> q = byModel.get(modelId);
        List<PendingRequest> out = new ArrayList<>();
        while (q != null && !q.isEmpty() && out.size() < max) {
            PendingRequest p = q.pollFirst();
            tokensByModel.merge(modelId, (long) -p.length(), Long::sum);
            out.add(p);
        }
        inFlight += out.size();
        return out;
    }

    /**
     * Records that a streamed generation has sent {@code tokens} tokens in {@code chunks} chunks, in the
     * same transaction as the chunk; returns the request as now stored.
     */
    public PendingRequest streamed(PendingRequest p, int tokens, int chunks) {
        PendingRequest updated = p.withSent(tokens, chunks);
        store.put(p.storeKey(), encode(updated));
        return updated;
    }

    /** Removes answered requests (in the same transaction as their responses, under exactly-once). */
    public void answered(List<PendingRequest> answered) {
        for (PendingRequest p : answered) {
            store.delete(p.storeKey());
        }
        inFlight -= answered.size();
    }

    /**
     * Takes a waiting request (not yet handed to inference) out of the store, for a client's cancel; empty when the
     * model has no waiting request with that id.
     */
    public Optional<PendingRequest> withdraw(String modelId, String requestId) {
        Deque<PendingRequest> q = byModel.get(modelId);
        if (q == null) {
            return Optional.empty();
        }
        for (Iterator<PendingRequest> it = q.iterator(); it.hasNext();) {
            PendingRequest p = it.next();
            if (p.request().getRequestId().equals(requestId)) {
                it.remove();
                tokensByModel.merge(modelId, (long) -p.length(), Long::sum);
                store.delete(p.storeKey());
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Requests waiting for a flush, all models. */
    public int waiting() {
        return byModel.values().stream().mapToInt(Deque::size).sum();
    }

    public int size() {
        return waiting() + inFlight;
    }

    /** The record schema with only its first fields, which must be {@code names} in order (so positions match the class). */
    private static Schema firstFields(Schema record, List<String> names) {
        List<Schema.Field> fields = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Schema.Field f = record.getFields().get(i);
            if (!f.name().equals(names.get(i))) {
                throw new IllegalStateException("field " + i + " of " + record.getFullName() + " is '" + f.name() + "', not '"
                        + names.get(i) + "': new fields must be appended");
            }
            fields.add(new Schema.Field(f, f.schema()));
        }
        return Schema.createRecord(record.getName(), record.getDoc(), record.getNamespace(), false, fields);
    }

    private void index(PendingRequest p) {
        byModel.computeIfAbsent(p.modelId(), m -> new ArrayDeque<>()).addLast(p);
        tokensByModel.merge(p.modelId(), (long) p.length(), Long::sum);
    }

    private static byte[] encode(PendingRequest p) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(64 + p.length() * 3);
            Instant deadline = p.request().getDeadline();
            if (deadline != null) {
                out.write(ByteBuffer.allocate(DEADLINE_HEADER).putLong(DEADLINE_MARKER).putLong(p.arrivalMillis())
                        .putInt(p.sentTokens()).putInt(p.sentChunks()).putLong(deadline.toEpochMilli()).array());
            } else if (p.sentChunks() > 0) {
                out.write(ByteBuffer.allocate(STREAMED_HEADER).putLong(STREAMED_MARKER).putLong(p.arrivalMillis())
                        .putInt(p.sentTokens()).putInt(p.sentChunks()).array());
            } else {
                out.write(ByteBuffer.allocate(Long.BYTES).putLong(p.arrivalMillis()).array());
            }
            BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
            WRITER.write(p.request(), enc);
            enc.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static PendingRequest decode(String key, byte[] value) {
        try {
            ByteBuffer header = ByteBuffer.wrap(value);
            long first = header.getLong();
            boolean dated = first == DEADLINE_MARKER;
            boolean streamed = dated || first == STREAMED_MARKER;
            long arrival = streamed ? header.getLong() : first;
            int sentTokens = streamed ? header.getInt() : 0;
            int sentChunks = streamed ? header.getInt() : 0;
            Instant deadline = dated ? Instant.ofEpochMilli(header.getLong()) : null;
            int offset = dated ? DEADLINE_HEADER : streamed ? STREAMED_HEADER : Long.BYTES;
            BinaryDecoder dec = DecoderFactory.get().binaryDecoder(value, offset, value.length - offset, null);
            InferenceRequest r = READER.read(null, dec);
            r.setDeadline(deadline);
            long seq = Long.parseLong(key.substring(key.lastIndexOf('\u0000') + 1));
            return new PendingRequest(key, seq, arrival, r, sentTokens, sentChunks);
        } catch (IOException e) {
            throw new UncheckedIOException("state store entry " + key + " cannot be decoded", e);
        }
    }
}
