package dev.eestream.client.consumer;

import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.topics.Topic;
import dev.eestream.schemas.topics.Topics;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The integration point for existing pipelines, run inside the trusted zone: a Kafka Streams topology
 * that reads encrypted responses and writes plaintext results as JSON (keyed by request id) to a topic
 * that downstream systems read. Run it with {@code processing.guarantee=exactly_once_v2} to write each
 * result once.
 */
public final class DecryptingStream {
    private DecryptingStream() {
    }

    public static Topology topology(String encryptedTopic, String plaintextTopic, ResponseDecryptor decryptor,
            Map<String, ?> serdeConfig) {
        Topic<InferenceResponse> encrypted = Topics.RESPONSES.named(encryptedTopic);
        StreamsBuilder b = new StreamsBuilder();
        b.stream(encrypted.name(), Consumed.with(encrypted.keySerde(), encrypted.valueSerde(serdeConfig)))
                .filter((k, v) -> v != null)
                .mapValues(v -> {
                    try {
                        return decryptor.decrypt(v).toJson().toString();
                    } catch (RuntimeException e) {
                        return new DecryptedResult.Failure(v.getRequestId(), v.getModelId(), "cannot decrypt: " + e.getMessage(),
                                v.getAttributes()).toJson().toString();
                    }
                })
                .to(plaintextTopic, Produced.with(Serdes.String(), Serdes.String()));
        return b.build();
    }
}
