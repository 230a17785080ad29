package dev.eestream.client.consumer;

import java.util.Objects;

/** Where a record was read: its topic, partition and offset. */
public record RecordPosition(String topic, int partition, long offset) {
    public RecordPosition {
        Objects.requireNonNull(topic, "topic");
    }

    @Override
    public String toString() {
        return "topic " + topic + ", partition " + partition + ", offset " + offset;
    }
}
