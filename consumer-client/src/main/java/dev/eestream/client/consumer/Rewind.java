package dev.eestream.client.consumer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Puts a consumer back at the records it polled but could not handle yet (the schema registry was out), so the
 * next poll reads them again and none is lost.
 */
public final class Rewind {
    private Rewind() {
    }

    /** Seeks every partition with a record at or after {@code firstUnhandled} in {@code polled} back to that record. */
    public static <K, V> void toUnhandled(Consumer<K, V> consumer, List<ConsumerRecord<K, V>> polled, int firstUnhandled) {
        Map<TopicPartition, Long> firstOffsets = new LinkedHashMap<>();
        for (ConsumerRecord<K, V> unhandled : polled.subList(firstUnhandled, polled.size())) {
            // A poll returns each partition's records in offset order: the first one seen is where to go back to.
            firstOffsets.putIfAbsent(new TopicPartition(unhandled.topic(), unhandled.partition()), unhandled.offset());
        }
        firstOffsets.forEach(consumer::seek);
    }
}
