package dev.eestream.ops.support;

import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/** How a client command reaches Kafka and the schema registry. */
public final class ConnectionOptions {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (or bootstrap.servers in --client-config).")
    String bootstrap;

    @Option(names = "--registry", paramLabel = "URL", description = "Schema registry URL (or schema.registry.url in --client-config).")
    String registry;

    @Option(names = "--client-config", paramLabel = "FILE",
            description = "Properties file with any Kafka client and schema registry settings (security, TLS, SASL, basic auth).")
    Path clientConfig;

    /** The client settings: the file first, then the flags. */
    public Map<String, Object> properties() throws IOException {
        Map<String, Object> out = new HashMap<>();
        if (clientConfig != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(clientConfig, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (NoSuchFileException e) {
                throw new EeException("client configuration file " + clientConfig + " does not exist");
            }
            p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k).trim()));
        }
        if (bootstrap != null) {
            out.put("bootstrap.servers", bootstrap);
        }
        if (registry != null) {
            out.put("schema.registry.url", registry);
        }
        if (!out.containsKey("bootstrap.servers")) {
            throw new EeException("say where Kafka is: --bootstrap HOST:PORT (or bootstrap.servers in --client-config)");
        }
        if (!out.containsKey("schema.registry.url")) {
            throw new EeException("say where the schema registry is: --registry URL (or schema.registry.url in --client-config)");
        }
        return out;
    }
}
