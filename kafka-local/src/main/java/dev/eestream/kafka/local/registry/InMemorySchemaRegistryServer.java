package dev.eestream.kafka.local.registry;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.net.ssl.SSLContext;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process schema registry speaking the subset of the Confluent REST API that serializers and
 * tools use, bound to 127.0.0.1. Enough for local mode and tests; third-party tools such as
 * {@code kcat -s value=avro -r URL} can decode topics through it. State is served from memory. Given a
 * {@link SchemaLog} file ({@link Builder#schemaLog}), every registration is also written there, on disk
 * before its id is answered, and read back on start: records written before a restart still decode, and
 * no id ever names two schemas. Without one, everything is forgotten on close (tests).
 *
 * <p>Endpoints: {@code POST /subjects/{s}/versions} (register), {@code POST /subjects/{s}}
 * (lookup), {@code GET /schemas/ids/{id}}, {@code GET /schemas/ids/{id}/schema},
 * {@code GET /subjects}, {@code GET /subjects/{s}/versions},
 * {@code GET /subjects/{s}/versions/{n|latest}} (and {@code .../schema}), {@code GET /config}.
 * New versions must be BACKWARD compatible with the subject's latest. Errors are JSON
 * {@code {"error_code":..., "message":...}} as the real registry sends them. Thread-safe.
 *
 * <pre>{@code
 * try (InMemorySchemaRegistryServer registry = InMemorySchemaRegistryServer.builder().port(0).start()) {
 *     String url = registry.url();   // http://127.0.0.1:PORT
 * }
 * }</pre>
 */
public final class InMemorySchemaRegistryServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(InMemorySchemaRegistryServer.class);
    private static final String HOST = "127.0.0.1";
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private final HttpServer server;
    private final ExecutorService executor;
    private final String url;
    private final byte[] expectedAuthorization;
    private final RequestInterceptor interceptor;
    private final SchemaLog schemaLog; // null: nothing is kept

    private final Object lock = new Object();
    // Guarded by lock. The text of each schema is its Avro-normalised JSON (Schema.toString()).
    private final Map<Integer, String> schemasById = new HashMap<>();
    private final Map<String, Integer> idsBySchema = new HashMap<>();
    private final Map<String, List<Integer>> subjects = new TreeMap<>(); // version v is element v-1: a schema id
    // One past the largest id given out: ids only grow, so one id never names two schemas.
    private int nextId = 1;

    private InMemorySchemaRegistryServer(Builder b) {
        this.schemaLog = b.schemaLog == null ? null : SchemaLog.open(b.schemaLog);
        try {
            if (schemaLog != null) {
                schemaLog.registrations().forEach(this::apply);
            }
            this.server = bind(b);
        } catch (RuntimeException e) {
            if (schemaLog != null) {
                schemaLog.close();
            }
            throw e;
        }
        this.expectedAuthorization = b.username == null ? null
                : ("Basic " + Base64.getEncoder().encodeToString((b.username + ":" + b.password).getBytes(StandardCharsets.UTF_8)))
                        .getBytes(StandardCharsets.UTF_8);
        this.interceptor = b.interceptor;
        AtomicInteger threads = new AtomicInteger();
        executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "in-memory-schema-registry-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        url = (b.sslContext != null ? "https" : "http") + "://" + HOST + ":" + server.getAddress().getPort();
        log.info("Schema registry listening on {}, {}", url, schemaLog == null ? "schemas in memory only"
                : "schemas kept in " + schemaLog.file() + " (" + schemaLog.registrations().size() + " registrations read)");
    }

    private static HttpServer bind(Builder builder) {
        try {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(HOST), builder.port);
            if (builder.sslContext != null) {
                HttpsServer https = HttpsServer.create(address, 0);
                https.setHttpsConfigurator(new HttpsConfigurator(builder.sslContext));
                return https;
            }
            return HttpServer.create(address, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the schema registry on " + HOST + ":" + builder.port, e);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Base URL, e.g. {@code http://127.0.0.1:8081}. */
    public String url() {
        return url;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * Sees every request before it is served, of every kind; a status it returns answers the request
     * instead (tests count requests and inject failures with it).
     */
    @FunctionalInterface
    public interface RequestInterceptor {
        OptionalInt intercept(String method, String rawPath);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        if (schemaLog != null) {
            schemaLog.close();
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Reply reply = reply(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    exchange.getRequestHeaders().getFirst("Authorization"), body);
            byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
            if (reply.status() == 401) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"SchemaRegistry\"");
            }
            if (exchange.getRequestMethod().equals("HEAD")) {
                exchange.sendResponseHeaders(reply.status(), -1);
            } else {
                exchange.sendResponseHeaders(reply.status(), bytes.length);
                exchange.getResponseBody().write(bytes);
            }
        } finally {
            exchange.close();
        }
    }

    private Reply reply(String method, String rawPath, String authorization, String body) {
        OptionalInt intercepted = interceptor.intercept(method, rawPath);
        if (intercepted.isPresent()) {
            return error(new RegistryError(intercepted.getAsInt(), intercepted.getAsInt(), "refused by the request interceptor"));
        }
        if (expectedAuthorization != null && (authorization == null
                || !MessageDigest.isEqual(expectedAuthorization, authorization.getBytes(StandardCharsets.UTF_8)))) {
            return error(new RegistryError(401, 401, "Unauthorized"));
        }
        try {
            return route(method, segments(rawPath), body);
        } catch (RegistryError e) {
            return error(e);
        } catch (RuntimeException e) {
            log.warn("Schema registry request {} {} failed", method, rawPath, e);
            return error(new RegistryError(500, 50001, "Internal error: " + e));
        }
    }

    private Reply route(String method, List<String> p, String body) {
        int n = p.size();
        if (n == 0) {
            return only(method, "GET", () -> json(new JsonObject()));
        }
        if (p.get(0).equals("config") && n == 1) {
            return only(method, "GET", () -> json(Map.of("compatibilityLevel", "BACKWARD")));
        }
        if (p.get(0).equals("schemas") && n >= 3 && p.get(1).equals("ids")) {
            if (n == 3) {
                return only(method, "GET", () -> json(Map.of("schema", schemaText(id(p.get(2))))));
            }
            if (n == 4 && p.get(3).equals("schema")) {
                return only(method, "GET", () -> new Reply(200, schemaText(id(p.get(2)))));
            }
        }
        if (p.get(0).equals("subjects")) {
            if (n == 1) {
                return only(method, "GET", () -> json(subjectNames()));
            }
            String subject = p.get(1);
            if (n == 2) {
                return only(method, "POST", () -> json(lookup(subject, schemaFromBody(body))));
            }
            if (p.get(2).equals("versions")) {
                if (n == 3 && method.equals("POST")) {
                    return json(Map.of("id", register(subject, schemaFromBody(body))));
                }
                if (n == 3) {
                    return only(method, "GET", () -> json(versions(subject)));
                }
                if (n == 4) {
                    return only(method, "GET", () -> json(version(subject, p.get(3))));
                }
                if (n == 5 && p.get(4).equals("schema")) {
                    return only(method, "GET", () -> new Reply(200, version(subject, p.get(3)).get("schema").getAsString()));
                }
            }
        }
        throw new RegistryError(404, 404, "HTTP 404 Not Found");
    }

    private int register(String subject, String schema) {
        String canonical = canonical(schema);
        synchronized (lock) {
            List<Integer> versions = subjects.getOrDefault(subject, List.of());
            Integer known = idsBySchema.get(canonical);
            if (known != null && versions.contains(known)) {
                return known;
            }
            if (!versions.isEmpty()) {
                checkBackwardCompatible(subject, canonical, schemasById.get(versions.get(versions.size() - 1)));
            }
            Registration registration = new Registration(subject, versions.size() + 1, known != null ? known : nextId, canonical);
            keep(registration);
            apply(registration);
            log.debug("Registered schema id {} as version {} of subject {}", registration.id(), registration.version(), subject);
            return registration.id();
        }
    }

    /** Writes {@code registration} to the schema log, if there is one, before anyone learns its id. Callers hold lock. */
    private void keep(Registration registration) {
        if (schemaLog == null) {
            return;
        }
        try {
            schemaLog.append(registration);
        } catch (IOException e) {
            log.warn("Schema registry could not keep the registration of subject {} in {}", registration.subject(), schemaLog.file(), e);
            throw new RegistryError(500, 50001, "Error in the backend data store: " + e.getMessage());
        }
    }

    /** Callers hold lock (or are the constructor, replaying the log). */
    private void apply(Registration registration) {
        schemasById.putIfAbsent(registration.id(), registration.schema());
        idsBySchema.putIfAbsent(registration.schema(), registration.id());
        subjects.computeIfAbsent(registration.subject(), subject -> new ArrayList<>()).add(registration.id());
        nextId = Math.max(nextId, registration.id() + 1);
    }

    private JsonObject lookup(String subject, String schema) {
        String canonical = canonical(schema);
        synchronized (lock) {
            List<Integer> versions = subjectVersions(subject);
            Integer id = idsBySchema.get(canonical);
            int index = id == null ? -1 : versions.indexOf(id);
            if (index < 0) {
                throw new RegistryError(404, 40403, "Schema not found");
            }
            return versionJson(subject, index + 1, id);
        }
    }

    private JsonObject version(String subject, String version) {
        synchronized (lock) {
            List<Integer> versions = subjectVersions(subject);
            int v;
            if (version.equals("latest")) {
                v = versions.size();
            } else {
                try {
                    v = Integer.parseInt(version);
                } catch (NumberFormatException e) {
                    v = 0;
                }
                if (v < 1) {
                    throw new RegistryError(422, 42202, "The specified version '" + version + "' is not a valid version id. "
                            + "Allowed values are between [1, 2^31-1] and the string \"latest\"");
                }
            }
            if (v > versions.size()) {
                throw new RegistryError(404, 40402, "Version " + version + " not found.");
            }
            return versionJson(subject, v, versions.get(v - 1));
        }
    }

    private List<Integer> versions(String subject) {
        synchronized (lock) {
            return IntStream.rangeClosed(1, subjectVersions(subject).size()).boxed().collect(Collectors.toList());
        }
    }

    private List<String> subjectNames() {
        synchronized (lock) {
            return List.copyOf(subjects.keySet());
        }
    }

    private String schemaText(int id) {
        synchronized (lock) {
            String schema = schemasById.get(id);
            if (schema == null) {
                throw new RegistryError(404, 40403, "Schema " + id + " not found");
            }
            return schema;
        }
    }

    // Callers hold lock.
    private List<Integer> subjectVersions(String subject) {
        List<Integer> versions = subjects.get(subject);
        if (versions == null) {
            throw new RegistryError(404, 40401, "Subject '" + subject + "' not found.");
        }
        return versions;
    }

    // Callers hold lock.
    private JsonObject versionJson(String subject, int version, int id) {
        JsonObject json = new JsonObject();
        json.addProperty("subject", subject);
        json.addProperty("version", version);
        json.addProperty("id", id);
        json.addProperty("schema", schemasById.get(id));
        return json;
    }

    /** BACKWARD: a reader with the new schema must read data written with the latest one. */
    private static void checkBackwardCompatible(String subject, String candidate, String latest) {
        SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(
                new Schema.Parser().parse(candidate), new Schema.Parser().parse(latest));
        if (result.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            String details = result.getResult().getIncompatibilities().stream()
                    .map(i -> i.getType() + " at " + i.getLocation() + ": " + i.getMessage())
                    .collect(Collectors.joining("; "));
            throw new RegistryError(409, 409, "Schema being registered is incompatible with an earlier schema for subject \""
                    + subject + "\" (BACKWARD): " + details);
        }
    }

    private static String canonical(String schema) {
        try {
            return new Schema.Parser().parse(schema).toString();
        } catch (RuntimeException e) {
            throw new RegistryError(422, 42201, "Invalid schema: " + e.getMessage());
        }
    }

    private static String schemaFromBody(String body) {
        JsonObject json;
        try {
            JsonElement element = JsonParser.parseString(body);
            json = element.isJsonObject() ? element.getAsJsonObject() : null;
        } catch (RuntimeException e) {
            json = null;
        }
        JsonElement schema = json == null ? null : json.get("schema");
        if (schema == null || !schema.isJsonPrimitive()) {
            throw new RegistryError(422, 42201, "The request body must be a JSON object with a \"schema\" string");
        }
        JsonElement type = json.get("schemaType");
        if (type != null && !type.isJsonNull() && !type.getAsString().equals("AVRO")) {
            throw new RegistryError(422, 42201, "Only AVRO schemas are supported, not " + type.getAsString());
        }
        return schema.getAsString();
    }

    private static int id(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new RegistryError(404, 40403, "Schema " + text + " not found");
        }
    }

    /** Path segments, percent-decoded; a '+' in a path is a plus, not a space. */
    private static List<String> segments(String rawPath) {
        try {
            return Arrays.stream(rawPath.split("/"))
                    .filter(s -> !s.isEmpty())
                    .map(s -> URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8))
                    .collect(Collectors.toList());
        } catch (IllegalArgumentException e) {
            throw new RegistryError(404, 404, "HTTP 404 Not Found");
        }
    }

    private static Reply only(String method, String allowed, Supplier<Reply> action) {
        if (!method.equals(allowed)) {
            throw new RegistryError(405, 405, "HTTP 405 Method Not Allowed");
        }
        return action.get();
    }

    private static Reply json(Object value) {
        return new Reply(200, GSON.toJson(value));
    }

    private static Reply error(RegistryError e) {
        JsonObject json = new JsonObject();
        json.addProperty("error_code", e.code);
        json.addProperty("message", e.getMessage());
        return new Reply(e.status, GSON.toJson(json));
    }

    private record Reply(int status, String body) {
    }

    /** An answer other than 200, with the Confluent error code. */
    private static final class RegistryError extends RuntimeException {
        final int status;
        final int code;

        RegistryError(int status, int code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    public static final class Builder {
        private int port;
        private SSLContext sslContext;
        private String username;
        private String password;
        private RequestInterceptor interceptor = (method, path) -> OptionalInt.empty();
        private Path schemaLog;

        private Builder() {
        }

        /** The port to bind on 127.0.0.1; 0 (the default) picks a free one. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /** Serve HTTPS with this context (its key manager presents the server certificate). */
        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = sslContext;
            return this;
        }

        /** Require HTTP basic auth with these credentials on every request. */
        public Builder basicAuth(String username, String password) {
            this.username = Objects.requireNonNull(username, "username");
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /** Called on every request before it is served (see {@link RequestInterceptor}). */
        public Builder interceptor(RequestInterceptor interceptor) {
            this.interceptor = Objects.requireNonNull(interceptor, "interceptor");
            return this;
        }

        /**
         * Keep every registration in this file (a {@link SchemaLog}, created if missing) and start from what it
         * holds, so schemas and ids survive a restart. Without it, the registry forgets everything on close.
         */
        public Builder schemaLog(Path file) {
            this.schemaLog = Objects.requireNonNull(file, "file");
            return this;
        }

        /**
         * @throws SchemaLogException if the schema log cannot be used (damaged, or in use by another registry)
         */
        public InMemorySchemaRegistryServer start() {
            return new InMemorySchemaRegistryServer(this);
        }
    }
}
