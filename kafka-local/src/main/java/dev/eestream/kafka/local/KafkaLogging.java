package dev.eestream.kafka.local;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Keeps the embedded broker at WARN. The broker logs through SLF4J (its Scala code through
 * scala-logging, which is SLF4J too); log4j-core, which kafka_2.13 also pulls in, only backs the
 * broker's "change log levels at runtime" endpoint. So the application's SLF4J binding decides
 * where broker logs go. eestream binds slf4j-simple, which reads a logger's level from system
 * properties (then simplelogger.properties) when the logger is created: setting
 * {@code org.slf4j.simpleLogger.log.<package>=warn} before the broker classes load is enough.
 *
 * <p>Why not ship a config file: a simplelogger.properties (or log4j2.xml) in this jar would sit on
 * the application's classpath and could shadow the application's own file. Levels the application
 * set for any of these packages, as system properties or in its simplelogger.properties, are kept.
 * With another SLF4J binding (logback, log4j2) the application's configuration governs.
 */
public final class KafkaLogging {

    private static final String PREFIX = "org.slf4j.simpleLogger.log.";

    /**
     * Logger names the broker uses. {@code org.apache.kafka.common} is shared with the clients;
     * it is included because the broker's config dump, metrics and app-info INFO lines live there.
     */
    private static final List<String> BROKER_LOGGERS = List.of(
            "kafka", "state.change.logger", "org.apache.kafka.server", "org.apache.kafka.controller",
            "org.apache.kafka.raft", "org.apache.kafka.metadata", "org.apache.kafka.image",
            "org.apache.kafka.snapshot", "org.apache.kafka.queue", "org.apache.kafka.storage",
            "org.apache.kafka.coordinator", "org.apache.kafka.common");

    private KafkaLogging() {
    }

    public static synchronized void quietBroker() {
        if (!LoggerFactory.getILoggerFactory().getClass().getName().equals("org.slf4j.simple.SimpleLoggerFactory")) {
            return;
        }
        Set<String> configured = configuredLoggers();
        for (String name : BROKER_LOGGERS) {
            // A level the application set for this package, a parent or a child wins over ours.
            boolean overlaps = configured.stream().anyMatch(c ->
                    c.equals(name) || name.startsWith(c + ".") || c.startsWith(name + "."));
            if (!overlaps) System.setProperty(PREFIX + name, "warn");
        }
    }

    private static Set<String> configuredLoggers() {
        Properties all = new Properties();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) loader = KafkaLogging.class.getClassLoader();
        try (InputStream in = loader.getResourceAsStream("simplelogger.properties")) {
            if (in != null) all.load(in);
        } catch (IOException e) {
            // Unreadable file: slf4j-simple ignores it as well.
        }
        all.putAll(System.getProperties());
        return all.stringPropertyNames().stream()
                .filter(k -> k.startsWith(PREFIX))
                .map(k -> k.substring(PREFIX.length()))
                .collect(Collectors.toSet());
    }
}
