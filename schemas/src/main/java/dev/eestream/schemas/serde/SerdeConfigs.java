package dev.eestream.schemas.serde;

import org.apache.kafka.common.config.ConfigException;

import java.util.Map;

/** Reading serde options from a Kafka configuration map, where values may be strings or typed. */
final class SerdeConfigs {

    private SerdeConfigs() {
    }

    static boolean bool(Map<String, ?> configs, String name, boolean defaultValue) {
        Object value = configs.get(name);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        String text = value.toString().trim();
        if (text.equalsIgnoreCase("true")) {
            return true;
        }
        if (text.equalsIgnoreCase("false")) {
            return false;
        }
        throw new ConfigException(name, value, "must be true or false");
    }

    /** TopicNameStrategy: {@code <topic>-key} or {@code <topic>-value}. */
    static String subject(String topic, boolean isKey) {
        return topic + (isKey ? "-key" : "-value");
    }
}
