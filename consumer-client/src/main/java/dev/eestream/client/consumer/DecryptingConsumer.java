package dev.eestream.client.consumer;

import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.topics.Topic;
import dev.eestream.schemas.topics.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads encrypted responses from a topic and decrypts them. Reads only committed records. Without a
 * {@code group.id} it reads every partition from the start or the end; with one it joins the group.
 */
public final class DecryptingConsumer implements AutoCloseable {
    private final KafkaConsumer<String, InferenceResponse> consumer;
    private final ResponseDecryptor decryptor;
    private final boolean grouped;

    public DecryptingConsumer(Map<String, ?> config, String topic, boolean fromBeginning, ResponseDecryptor decryptor) {
        this.decryptor = decryptor;
        Map<String, Object> c = new HashMap<>(config);
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        Topic<InferenceResponse> responses = Topics.RESPONSES.named(topic);
        this.consumer = new KafkaConsumer<>(c, responses.keySerde().deserializer(), responses.valueDeserializer(c));
        this.grouped = c.containsKey(ConsumerConfig.GROUP_ID_CONFIG);
        if (grouped) {
            consumer.subscribe(List.of(topic));
        } else {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic, Duration.ofSeconds(30)).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            if (partitions.isEmpty()) {
                throw new dev.eestream.runtime.EeException("topic '" + topic + "' does not exist");
            }
            consumer.assign(partitions);
            if (fromBeginning) {
                consumer.seekToBeginning(partitions);
            } else {
                consumer.seekToEnd(partitions);
            }
        }
    }

    /** The responses that arrive within {@code timeout}, decrypted; a response that cannot be decrypted is a Failure. */
    public List<DecryptedResult> poll(Duration timeout) {
        List<DecryptedResult> out = new ArrayList<>();
        for (ConsumerRecord<String, InferenceResponse> rec : consumer.poll(timeout)) {
            if (rec.value() == null) {
                continue;
            }
            try {
                out.add(decryptor.decrypt(rec.value()));
            } catch (RuntimeException e) {
                out.add(new DecryptedResult.Failure(rec.value().getRequestId(), rec.value().getModelId(),
                        "cannot decrypt: " + e.getMessage(), rec.value().getAttributes()));
            }
        }
        if (grouped && !out.isEmpty()) {
            consumer.commitAsync();
        }
        return out;
    }

    public void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
