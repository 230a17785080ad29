package dev.eestream.kafka.local.security;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How the local broker's client listener is secured, and what a client must set to use it:
 * PLAINTEXT, SSL (server certificate from {@link LocalTls}), SASL_PLAINTEXT or SASL_SSL with
 * SCRAM-SHA-512 (a {@link ScramUser} that exists from the broker's first start). The listener also
 * carries the broker's own inter-broker traffic, so there is no second, unsecured client port.
 */
public final class BrokerSecurity {
    /** Kafka's names of the listener protocols. */
    public enum Protocol {
        PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL;

        /** Whether the listener speaks TLS. */
        public boolean tls() {
            return this == SSL || this == SASL_SSL;
        }

        /** Whether clients log in with SASL (SCRAM). */
        public boolean sasl() {
            return this == SASL_PLAINTEXT || this == SASL_SSL;
        }
    }

    private static final BrokerSecurity PLAINTEXT = new BrokerSecurity(Protocol.PLAINTEXT, null, null);

    private final Protocol protocol;
    private final LocalTls tls;
    private final ScramUser user;

    private BrokerSecurity(Protocol protocol, LocalTls tls, ScramUser user) {
        this.protocol = protocol;
        this.tls = tls;
        this.user = user;
    }

    /** The protocol with what it needs: TLS material exactly when it speaks TLS, a user exactly when it uses SASL. */
    public static BrokerSecurity of(Protocol protocol, LocalTls tls, ScramUser user) {
        if (protocol.tls() != (tls != null) || protocol.sasl() != (user != null)) {
            throw new IllegalArgumentException(protocol + " needs " + (protocol.tls() ? "TLS material" : "no TLS material")
                    + " and " + (protocol.sasl() ? "a SCRAM user" : "no SCRAM user"));
        }
        return protocol == Protocol.PLAINTEXT ? PLAINTEXT : new BrokerSecurity(protocol, tls, user);
    }

    public static BrokerSecurity plaintext() {
        return PLAINTEXT;
    }

    public static BrokerSecurity ssl(LocalTls tls) {
        return of(Protocol.SSL, Objects.requireNonNull(tls, "tls"), null);
    }

    public static BrokerSecurity saslPlaintext(ScramUser user) {
        return of(Protocol.SASL_PLAINTEXT, null, Objects.requireNonNull(user, "user"));
    }

    public static BrokerSecurity saslSsl(LocalTls tls, ScramUser user) {
        return of(Protocol.SASL_SSL, Objects.requireNonNull(tls, "tls"), Objects.requireNonNull(user, "user"));
    }

    public Protocol protocol() {
        return protocol;
    }

    public Optional<LocalTls> tls() {
        return Optional.ofNullable(tls);
    }

    public Optional<ScramUser> user() {
        return Optional.ofNullable(user);
    }

    /** The listener's name in the broker configuration (the protocol's name). */
    public String listenerName() {
        return protocol.name();
    }

    /** Broker settings for the client listener beyond {@code listeners} itself. */
    public Map<String, String> brokerProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        String prefix = "listener.name." + listenerName().toLowerCase() + ".";
        if (tls != null) {
            m.put(prefix + "ssl.keystore.type", "PKCS12");
            m.put(prefix + "ssl.keystore.location", tls.keyStore().toString());
            m.put(prefix + "ssl.keystore.password", tls.password());
            m.put(prefix + "ssl.key.password", tls.password());
            m.put(prefix + "ssl.truststore.type", "PKCS12");
            m.put(prefix + "ssl.truststore.location", tls.trustStore().toString());
            m.put(prefix + "ssl.truststore.password", tls.password());
            // The broker talks to itself on this listener too: it must trust its own CA.
            m.put("ssl.truststore.type", "PKCS12");
            m.put("ssl.truststore.location", tls.trustStore().toString());
            m.put("ssl.truststore.password", tls.password());
        }
        if (user != null) {
            m.put("sasl.enabled.mechanisms", ScramUser.MECHANISM);
            m.put("sasl.mechanism.inter.broker.protocol", ScramUser.MECHANISM);
            m.put(prefix + ScramUser.MECHANISM.toLowerCase() + ".sasl.jaas.config", user.jaasConfig());
        }
        return m;
    }

    /** The storage formatter's SCRAM arguments: the user must exist before the broker first starts. */
    public List<String> scramArguments() {
        return user == null ? List.of() : List.of(user.formatterArgument());
    }

    /** What a Kafka client sets to connect (besides {@code bootstrap.servers}). */
    public Map<String, String> clientProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        if (protocol == Protocol.PLAINTEXT) {
            return m;
        }
        m.put("security.protocol", protocol.name());
        if (tls != null) {
            m.put("ssl.truststore.type", "PKCS12");
            m.put("ssl.truststore.location", tls.trustStore().toString());
            m.put("ssl.truststore.password", tls.password());
        }
        if (user != null) {
            m.put("sasl.mechanism", ScramUser.MECHANISM);
            m.put("sasl.jaas.config", user.jaasConfig());
        }
        return m;
    }

    @Override
    public String toString() {
        return "BrokerSecurity[" + protocol + "]";
    }
}
