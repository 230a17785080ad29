package dev.eestream.kafka.local.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.kafka.local.LocalKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real brokers with an SSL listener (a CA made in the test) and with SASL/SCRAM: who gets in and who does not. */
@Tag("integration")
class BrokerSecurityTest {
    @TempDir
    static Path work;

    static LocalTls tls;

    @BeforeAll
    static void makeCertificates() throws Exception {
        tls = LocalTls.createOrLoad(work.resolve("tls"));
    }

    @Test
    void tlsMaterialIsOwnerOnlyAndLoadedAgainUnchanged() throws Exception {
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE),
                Files.getPosixFilePermissions(tls.directory()));
        try (var files = Files.list(tls.directory())) {
            for (Path f : files.toList()) {
                assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(f), f.toString());
            }
        }
        assertFalse(Files.exists(tls.directory().resolve("ca.p12")), "the CA's private key is not kept");
        LocalTls again = LocalTls.createOrLoad(tls.directory());
        assertEquals(tls.password(), again.password());
        assertFalse(tls.toString().contains(tls.password()));
    }

    @Test
    void sslListenerServesClientsThatTrustTheCaAndNoOthers() throws Exception {
        try (LocalKafka kafka = LocalKafka.builder().security(BrokerSecurity.ssl(tls)).build().start()) {
            assertEquals("SSL", kafka.clientProperties().get("security.protocol"));
            kafka.createTopic("secure", 1);
            roundTrip(kafka.clientProperties(), "secure");

            // A client speaking plaintext to the TLS port gets nowhere.
            Map<String, Object> plaintext = Map.of("bootstrap.servers", kafka.bootstrapServers(),
                    "request.timeout.ms", "3000", "default.api.timeout.ms", "5000");
            try (Admin admin = Admin.create(plaintext)) {
                assertThrows(Exception.class, () -> admin.listTopics().names().get(10, TimeUnit.SECONDS));
            }
            // A client that does not trust the CA fails the handshake.
            Map<String, Object> untrusting = new HashMap<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                    "security.protocol", "SSL", "request.timeout.ms", "3000", "default.api.timeout.ms", "5000"));
            try (Admin admin = Admin.create(untrusting)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> admin.listTopics().names().get(10, TimeUnit.SECONDS));
                assertInstanceOf(org.apache.kafka.common.errors.SslAuthenticationException.class, e.getCause());
            }
        }
    }

    @Test
    void scramOverSslLetsTheUserInAndRefusesAWrongPassword() throws Exception {
        ScramUser user = ScramUser.createOrLoad(work.resolve("scram").resolve("user"), "eestream");
        assertEquals(user, ScramUser.createOrLoad(work.resolve("scram").resolve("user"), "ignored"), "the kept user is loaded");
        assertFalse(user.toString().contains(user.password()));
        try (LocalKafka kafka = LocalKafka.builder().security(BrokerSecurity.saslSsl(tls, user)).build().start()) {
            kafka.createTopic("scram", 1);
            roundTrip(kafka.clientProperties(), "scram");

            Map<String, Object> wrong = new HashMap<>(kafka.clientProperties());
            wrong.put("sasl.jaas.config", new ScramUser(user.name(), "not-" + user.password()).jaasConfig());
            wrong.put("request.timeout.ms", "5000");
            wrong.put("default.api.timeout.ms", "10000");
            try (Admin admin = Admin.create(wrong)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> admin.listTopics().names().get(15, TimeUnit.SECONDS));
                assertInstanceOf(SaslAuthenticationException.class, e.getCause());
            }
        }
    }

    @Test
    void scramOverPlaintextWorksToo() throws Exception {
        ScramUser user = ScramUser.random("plain-scram");
        try (LocalKafka kafka = LocalKafka.builder().security(BrokerSecurity.saslPlaintext(user)).build().start()) {
            kafka.createTopic("sasl", 1);
            roundTrip(kafka.clientProperties(), "sasl");
        }
    }

    @Test
    void scramUserNamesAndPasswordsThatWouldBreakTheJaasLineAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ScramUser("a\"b", "x"));
        assertThrows(IllegalArgumentException.class, () -> new ScramUser("a", "p,w]"));
    }

    @Test
    void aProtocolWithoutWhatItNeedsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> BrokerSecurity.of(BrokerSecurity.Protocol.SASL_SSL, tls, null));
        assertThrows(IllegalArgumentException.class, () -> BrokerSecurity.of(BrokerSecurity.Protocol.PLAINTEXT, tls, null));
        assertEquals(BrokerSecurity.Protocol.SSL, BrokerSecurity.of(BrokerSecurity.Protocol.SSL, tls, null).protocol());
    }

    private static void roundTrip(Map<String, String> clientProperties, String topic) {
        Map<String, Object> cfg = new HashMap<>(clientProperties);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(cfg, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
            }
            producer.flush();
        }
        cfg.put(ConsumerConfig.GROUP_ID_CONFIG, topic + "-reader");
        cfg.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> seen = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cfg, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seen.size() < 10 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    seen.add(r.value());
                }
            }
        }
        assertEquals(10, seen.size(), "records through the secured listener");
        assertTrue(seen.contains("v9"));
    }
}
