package dev.eestream.schemas.topics;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The dead-letter records eestream writes (the processor's for requests, decrypt-stream's for responses): the bytes
 * that could not be used, kept in part when huge, with why and where they were read in headers. The one place the
 * header names are spelled.
 */
public final class DeadLetters {
    /** Why the record could not be used, in words. */
    public static final String REASON = "eestream.dlq.reason";
    /** What kind of bad it is, as a constant name (e.g. UNKNOWN_SCHEMA_ID); set by readers that classify. */
    public static final String KIND = "eestream.dlq.kind";
    /** Where the record was read: topic, partition and offset. */
    public static final String TOPIC = "eestream.dlq.topic";
    public static final String PARTITION = "eestream.dlq.partition";
    public static final String OFFSET = "eestream.dlq.offset";
    /** Present when the value was cut: the original size in bytes. */
    public static final String TRUNCATED = "eestream.dlq.truncated";
    /**
     * Most bytes of a value kept. More would fail to produce (the topic's 1 MB default), which would fail the
     * writer on the same record again and again.
     */
    public static final int MAX_VALUE_BYTES = 512 * 1024;
    /** Most characters of a key kept, for the same reason. */
    public static final int MAX_KEY_CHARS = 1024;
    /** The suffix of a dead-letter topic's name after the topic it takes records from. */
    public static final String TOPIC_SUFFIX = ".dlq";

    private DeadLetters() {
    }

    /** The default dead-letter topic of records read from {@code topic}: {@code <topic>.dlq}. */
    public static String topicFor(String topic) {
        return topic + TOPIC_SUFFIX;
    }

    /**
     * The headers of a dead letter: the record's own, then the reason, the kind (when not null), where it was read,
     * and the original size when {@code value} is longer than {@link #MAX_VALUE_BYTES}.
     */
    public static Headers headers(Headers original, String reason, String kind, String topic, int partition, long offset,
            byte[] value) {
        Headers headers = new RecordHeaders(original == null ? new Header[0] : original.toArray());
        add(headers, REASON, Objects.requireNonNull(reason, "reason"));
        if (kind != null) {
            add(headers, KIND, kind);
        }
        add(headers, TOPIC, topic);
        add(headers, PARTITION, Integer.toString(partition));
        add(headers, OFFSET, Long.toString(offset));
        if (value != null && value.length > MAX_VALUE_BYTES) {
            add(headers, TRUNCATED, Integer.toString(value.length));
        }
        return headers;
    }

    /** The value as kept: whole, or its first {@link #MAX_VALUE_BYTES} bytes. */
    public static byte[] keptValue(byte[] value) {
        return value != null && value.length > MAX_VALUE_BYTES ? Arrays.copyOf(value, MAX_VALUE_BYTES) : value;
    }

    /** The key as kept: whole, or its first {@link #MAX_KEY_CHARS} characters. */
    public static String keptKey(String key) {
        return key != null && key.length() > MAX_KEY_CHARS ? key.substring(0, MAX_KEY_CHARS) : key;
    }

    /** A header's value as text, or null when absent. */
    public static String header(Headers headers, String name) {
        Header header = headers.lastHeader(name);
        return header == null || header.value() == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static void add(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
