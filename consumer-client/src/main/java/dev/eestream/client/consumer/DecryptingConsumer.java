package dev.eestream.client.consumer;

import dev.eestream.runtime.EeException;
import dev.eestream.schemas.registry.SchemaRegistryException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads encrypted responses from a topic and decrypts them. Reads only committed records. Without a
 * {@code group.id} it reads every partition from the start or the end; with one it joins the group.
 *
 * <p>It reads bytes and decodes them itself, so a record that is not a usable answer (bytes that do not decode, a
 * response for another model or key) comes out as a {@link DecryptedResult.BadRecord} in its place, and the records
 * after it keep coming.
 */
public final class DecryptingConsumer implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final ResponseDecoder decoder;
    private final ResponseRecordDecrypter reader;
    private final boolean grouped;

    public DecryptingConsumer(Map<String, ?> config, String topic, boolean fromBeginning, ResponseDecryptor decryptor) {
        Map<String, Object> consumerConfig = new HashMap<>(config);
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerConfig.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        this.decoder = new ResponseDecoder(consumerConfig);
        this.reader = new ResponseRecordDecrypter(decoder, decryptor);
        this.consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
        this.grouped = consumerConfig.containsKey(ConsumerConfig.GROUP_ID_CONFIG);
        try {
            if (grouped) {
                consumer.subscribe(List.of(topic));
            } else {
                assignAll(topic, fromBeginning);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void assignAll(String topic, boolean fromBeginning) {
        List<TopicPartition> partitions = new ArrayList<>();
        consumer.partitionsFor(topic, Duration.ofSeconds(30)).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
        if (partitions.isEmpty()) {
            throw new EeException("topic '" + topic + "' does not exist");
        }
        consumer.assign(partitions);
        if (fromBeginning) {
            consumer.seekToBeginning(partitions);
        } else {
            consumer.seekToEnd(partitions);
        }
    }

    /**
     * The records that arrive within {@code timeout}, in order: each response decrypted, the processor's ERROR or
     * EXPIRED as a {@link DecryptedResult.Failure}, and a {@link DecryptedResult.BadRecord} for each record that is
     * not a usable answer.
     *
     * @throws SchemaRegistryException the registry cannot be asked for a record's schema, and no record was read
     *                                 before that one; the next poll reads again from it, so nothing is lost
     */
    public List<DecryptedResult> poll(Duration timeout) {
        List<ConsumerRecord<String, byte[]>> polled = new ArrayList<>();
        consumer.poll(timeout).forEach(polled::add);
        List<DecryptedResult> out = new ArrayList<>();
        for (int i = 0; i < polled.size(); i++) {
            ConsumerRecord<String, byte[]> rec = polled.get(i);
            try {
                out.add(reader.read(new RecordPosition(rec.topic(), rec.partition(), rec.offset()), rec.key(), rec.value()));
            } catch (SchemaRegistryException e) {
                // Not the record's fault: read it again next time, and say so now only if there is nothing else to give.
                Rewind.toUnhandled(consumer, polled, i);
                if (out.isEmpty()) {
                    throw e;
                }
                break;
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
        try {
            consumer.close(Duration.ofSeconds(5));
        } finally {
            decoder.close();
        }
    }
}
