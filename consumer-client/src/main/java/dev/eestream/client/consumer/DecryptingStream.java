package dev.eestream.client.consumer;

import dev.eestream.schemas.topics.DeadLetters;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The integration point for existing pipelines, run inside the trusted zone: a Kafka Streams topology
 * that reads encrypted responses and writes plaintext results as JSON (keyed by request id) to a topic
 * that downstream systems read. Run it with {@code processing.guarantee=exactly_once_v2} to write each
 * result once.
 *
 * <p>A record that is not a usable answer (bytes that do not decode, a response for a model without a profile
 * here, computed with another key, or with outputs that do not fit its model) goes to a dead-letter topic instead,
 * its bytes unchanged (the first {@value DeadLetters#MAX_VALUE_BYTES} when larger) and the reason, its kind and where
 * it was read in {@link DeadLetters} headers; the stream goes on. A schema registry that cannot be reached is not
 * blamed on the record: the processing fails, so the record is read again (replace the stream thread on failure).
 */
public final class DecryptingStream {
    static final String SOURCE = "encrypted";
    static final String DECRYPT = "decrypt";
    static final String PLAINTEXT_SINK = "plaintext";
    static final String DEAD_LETTER_SINK = "dead-letters";

    private static final Logger LOG = LoggerFactory.getLogger(DecryptingStream.class);

    private DecryptingStream() {
    }

    /** Dead letters to {@code <encryptedTopic>.dlq}, each logged as a warning. */
    public static Topology topology(String encryptedTopic, String plaintextTopic, ResponseDecryptor decryptor,
            Map<String, ?> serdeConfig) {
        return topology(encryptedTopic, plaintextTopic, DeadLetters.topicFor(encryptedTopic), decryptor, serdeConfig,
                bad -> LOG.warn("bad record, sent to the dead letters: {}", bad.summary()));
    }

    /**
     * @param deadLetterTopic where records that are not usable answers go; it must exist
     * @param onBadRecord     told of each (from a stream thread), e.g. to report it
     */
    public static Topology topology(String encryptedTopic, String plaintextTopic, String deadLetterTopic,
            ResponseDecryptor decryptor, Map<String, ?> serdeConfig, Consumer<DecryptedResult.BadRecord> onBadRecord) {
        Map<String, Object> config = Collections.unmodifiableMap(new HashMap<>(serdeConfig));
        Topology topology = new Topology();
        // Bytes in, decoded by the processor: a record that does not decode is dead-lettered, never fatal to the stream.
        topology.addSource(SOURCE, new StringDeserializer(), new ByteArrayDeserializer(), encryptedTopic);
        topology.addProcessor(DECRYPT, () -> new DecryptProcessor(new ResponseDecoder(config), decryptor, onBadRecord), SOURCE);
        topology.addSink(PLAINTEXT_SINK, plaintextTopic, new StringSerializer(), new ByteArraySerializer(), DECRYPT);
        topology.addSink(DEAD_LETTER_SINK, deadLetterTopic, new StringSerializer(), new ByteArraySerializer(), DECRYPT);
        return topology;
    }
}
