package dev.eestream.ops.commands;

import dev.eestream.gateway.ApiKeys;
import dev.eestream.gateway.Gateway;
import dev.eestream.gateway.tls.ServerTls;
import dev.eestream.ops.support.ConnectionOptions;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.Passphrases;
import dev.eestream.ops.support.ProfileOptions;
import dev.eestream.runtime.EeException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "gateway", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"An OpenAI-compatible HTTP API on the trusted side: applications written for",
            "the OpenAI API change only their base URL, to http://HOST:PORT/v1 (https:// with TLS). The gateway",
            "holds the key and the client profiles, encrypts every request, sends it over",
            "Kafka to the processor and decrypts the answer: plaintext and the key never",
            "leave this process. Serves GET /v1/models, POST /v1/embeddings,",
            "/v1/chat/completions and /v1/completions (\"stream\": true for Server-Sent",
            "Events) and eestream's own /v1/classifications, plus /health and /metrics",
            "(no API key needed). Prints base_url=... and runs until Ctrl-C."})
public final class GatewayCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Mixin
    KeyOptions key;

    @Mixin
    ProfileOptions profiles;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address to listen on (default: ${DEFAULT-VALUE}); any other address needs --api-keys.")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "PORT", description = "Port to listen on, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-keys", paramLabel = "FILE",
            description = "Owner-only file of API keys, one per line (# comments allowed); applications send "
                    + "'Authorization: Bearer KEY'. Without it, no key is asked for.")
    Path apiKeys;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Serve HTTPS: the server's PEM certificate chain (its own certificate first); needs --tls-key.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "The owner-only PEM private key (unencrypted PKCS#8, 'BEGIN PRIVATE KEY') of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-keystore", paramLabel = "FILE",
            description = "Serve HTTPS from an owner-only PKCS12 or JKS key store instead (e.g. local mode's "
                    + "DATA-DIR/security/server.p12); its password in --tls-keystore-password-env.")
    Path tlsKeyStore;

    @Option(names = "--tls-keystore-password-env", paramLabel = "VAR",
            description = "Name of the environment variable holding the key store's password (never the password itself).")
    String tlsKeyStorePasswordEnv;

    @Option(names = "--max-body-bytes", defaultValue = "4194304", paramLabel = "BYTES",
            description = "Larger request bodies are refused with 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Option(names = "--max-in-flight", defaultValue = "64", paramLabel = "N",
            description = "More inference requests than this at once are refused with 429 (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--timeout-ms", defaultValue = "120000", paramLabel = "MS",
            description = "Wait this long for the processor's answer, else 504 (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (maxBodyBytes < 1 || maxInFlight < 1 || timeoutMs < 1) {
            throw new EeException("--max-body-bytes, --max-in-flight and --timeout-ms must be at least 1");
        }
        ServerTls tls = tls();
        ApiKeys keys = apiKeys == null ? ApiKeys.none() : ApiKeys.read(apiKeys);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Gateway.Builder builder = Gateway.builder().key(key.load()).kafka(connection.properties()).profiles(profiles.load().values())
                .host(host).port(port).apiKeys(keys).maxBodyBytes(maxBodyBytes).maxInFlight(maxInFlight)
                .timeout(Duration.ofMillis(timeoutMs)).warnings(w -> err.println("eestream: " + w));
        if (tls != null) {
            builder.tls(tls);
        }
        Gateway gateway = builder.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.close();
            stopped.countDown();
        }, "eestream-gateway-shutdown"));
        out.println("base_url=" + gateway.baseUrl());
        StringBuilder served = new StringBuilder();
        gateway.models().forEach(p -> served.append(served.length() == 0 ? "" : ", ").append(p.modelId()).append(" (").append(p.task()).append(')'));
        out.println("models: " + served);
        out.println("api keys: " + (keys.required() ? keys.size() + " from " + apiKeys : "none asked for")
                + "; /health and /metrics beside /v1; Ctrl-C to stop");
        out.flush();
        stopped.await();
        return 0;
    }

    /** The TLS identity the options name, or null for plain HTTP; read before anything starts. */
    private ServerTls tls() throws java.io.IOException {
        if (tlsKeyStore != null) {
            if (tlsCert != null || tlsKey != null) {
                throw new EeException("give either --tls-keystore or --tls-cert with --tls-key, not both");
            }
            if (tlsKeyStorePasswordEnv == null) {
                throw new EeException("--tls-keystore needs --tls-keystore-password-env VAR naming the variable that holds its password");
            }
            return ServerTls.fromKeyStore(tlsKeyStore, Passphrases.fromEnv(tlsKeyStorePasswordEnv, "--tls-keystore-password-env"));
        }
        if (tlsKeyStorePasswordEnv != null) {
            throw new EeException("--tls-keystore-password-env only applies with --tls-keystore");
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new EeException("--tls-cert and --tls-key go together: the certificate chain and its private key");
        }
        return tlsCert == null ? null : ServerTls.fromPem(tlsCert, tlsKey);
    }
}
