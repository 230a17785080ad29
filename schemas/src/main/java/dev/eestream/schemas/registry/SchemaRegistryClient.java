package dev.eestream.schemas.registry;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.apache.kafka.common.errors.SerializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small client of the Confluent Schema Registry REST API: register, look up and fetch Avro
 * schemas. Answers are cached both ways (subject and schema to id, id to schema), so each is asked
 * of the registry once. Thread-safe.
 *
 * <p>Requests go to the configured URLs in order; I/O errors and HTTP 5xx/429 move on to the next
 * URL and, after a backoff, to another round (up to {@link RegistrySettings#retries()} more).
 * Other HTTP errors are final. Failures are {@link SchemaRegistryException}s.
 */
public final class SchemaRegistryClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SchemaRegistryClient.class);

    static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final String ACCEPT = CONTENT_TYPE + ", application/vnd.schemaregistry+json, application/json";
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

    private final RegistrySettings settings;
    private final ExecutorService executor;
    private final HttpClient http;
    private final Map<SubjectSchema, Integer> ids = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public SchemaRegistryClient(RegistrySettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
        // Our own executor, so that close() can release the client's threads (HttpClient has no close() on Java 17).
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "schema-registry-client");
            t.setDaemon(true);
            return t;
        });
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.requestTimeout())
                .executor(executor);
        settings.sslContext().ifPresent(builder::sslContext);
        this.http = builder.build();
    }

    /** A client from Confluent-style properties; see {@link RegistrySettings#fromConfig(Map)}. */
    public static SchemaRegistryClient fromConfig(Map<String, ?> config) {
        return new SchemaRegistryClient(RegistrySettings.fromConfig(config));
    }

    public RegistrySettings settings() {
        return settings;
    }

    /**
     * Registers {@code schema} under {@code subject} ({@code POST /subjects/{subject}/versions}) and
     * returns its global id. Registering a schema that is already there returns the existing id.
     */
    public int register(String subject, Schema schema) {
        return idOf(subject, schema, "/subjects/" + encode(subject) + "/versions",
                "registering schema " + schema.getFullName() + " under subject " + subject);
    }

    /**
     * The id of {@code schema} if it is already registered under {@code subject}
     * ({@code POST /subjects/{subject}}); registers nothing. Not registered is an HTTP 404 error.
     */
    public int lookup(String subject, Schema schema) {
        return idOf(subject, schema, "/subjects/" + encode(subject),
                "looking up schema " + schema.getFullName() + " under subject " + subject);
    }

    /**
     * The schema with global id {@code id} ({@code GET /schemas/ids/{id}}). An unknown id is a
     * {@link SchemaRegistryException} with status 404 and error code 40403.
     */
    public Schema getById(int id) {
        Schema cached = schemas.get(id);
        if (cached != null) {
            return cached;
        }
        JsonObject answer = send("GET", "/schemas/ids/" + id, null, "fetching schema id " + id);
        String type = answer.has("schemaType") ? answer.get("schemaType").getAsString() : "AVRO";
        if (!type.equals("AVRO")) {
            throw new SerializationException("schema id " + id + " is a " + type + " schema, not Avro");
        }
        Schema schema;
        try {
            schema = new Schema.Parser().parse(stringField(answer, "schema", "fetching schema id " + id));
        } catch (SchemaParseException e) {
            throw new SerializationException("schema id " + id + " is not a valid Avro schema: " + e.getMessage(), e);
        }
        Schema earlier = schemas.putIfAbsent(id, schema);
        return earlier != null ? earlier : schema;
    }

    /** Drops the caches and the client's threads; later calls fail. */
    @Override
    public void close() {
        closed = true;
        ids.clear();
        schemas.clear();
        executor.shutdownNow();
    }

    private int idOf(String subject, Schema schema, String path, String what) {
        SubjectSchema key = new SubjectSchema(subject, schema);
        Integer cached = ids.get(key);
        if (cached != null) {
            return cached;
        }
        JsonObject body = new JsonObject();
        body.addProperty("schema", schema.toString());
        JsonObject answer = send("POST", path, body.toString(), what);
        JsonElement id = answer.get("id");
        if (id == null || !id.isJsonPrimitive()) {
            throw new SchemaRegistryException(what + " failed: the registry's answer has no id", "POST " + path, 200, 0, null);
        }
        int value = id.getAsInt();
        ids.putIfAbsent(key, value);
        schemas.putIfAbsent(value, schema);
        log.debug("Schema {} has id {} under subject {}", schema.getFullName(), value, subject);
        return value;
    }

    /** Sends one request with the URL-failover and retry policy; returns the JSON object answered. */
    private JsonObject send(String method, String path, String body, String what) {
        if (closed) {
            throw new IllegalStateException("the schema registry client is closed");
        }
        Failure last = null;
        int attempts = 0;
        for (int round = 0; round <= settings.retries(); round++) {
            if (round > 0) {
                pause(round, what, last);
            }
            for (URI base : settings.urls()) {
                attempts++;
                Attempt attempt = attempt(method, base, path, body);
                if (attempt.answer != null) {
                    return attempt.answer;
                }
                last = attempt.failure;
                if (!last.retriable()) {
                    throw last.toException(what, attempts);
                }
                log.debug("{} failed, will retry: {}", what, last.detail);
            }
        }
        throw last.toException(what, attempts);
    }

    private Attempt attempt(String method, URI base, String path, String body) {
        URI uri = URI.create(stripTrailingSlash(base.toString()) + path);
        String request = method + " " + uri;
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(settings.requestTimeout())
                .header("Accept", ACCEPT);
        settings.authorizationHeader().ifPresent(value -> builder.header("Authorization", value));
        if (body != null) {
            builder.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            builder.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> response;
        try {
            response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Attempt.failed(new Failure(request, 0, 0, describe(e) + tlsHint(e), e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException(request + " was interrupted", request, 0, 0, e);
        }
        int status = response.statusCode();
        JsonObject json = parseObject(response.body());
        if (status / 100 == 2) {
            return json != null ? Attempt.answered(json)
                    : Attempt.failed(new Failure(request, status, 0, "the answer is not a JSON object: " + snippet(response.body()), null));
        }
        int errorCode = errorCode(json);
        String message = json != null && json.has("message") ? json.get("message").getAsString() : snippet(response.body());
        return Attempt.failed(new Failure(request, status, errorCode, message + authHint(status), null));
    }

    private void pause(int round, String what, Failure last) {
        long millis = Math.min(settings.retryBackoff().toMillis() << Math.min(round - 1, 20), MAX_BACKOFF.toMillis());
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException(what + " was interrupted while waiting to retry", last.request, 0, 0, e);
        }
    }

    private String authHint(int status) {
        if (status != 401) {
            return "";
        }
        return settings.username().isPresent()
                ? " (the registry rejected the configured credentials)"
                : " (no credentials configured: set " + RegistrySettings.CREDENTIALS_SOURCE_CONFIG + "=USER_INFO and "
                        + RegistrySettings.USER_INFO_CONFIG + ")";
    }

    private static String tlsHint(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException) {
                return " (TLS handshake failed: is " + RegistrySettings.TRUSTSTORE_LOCATION_CONFIG
                        + " set to a truststore that trusts the registry's certificate?)";
            }
        }
        return "";
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        if (message == null && e.getCause() != null) {
            message = e.getCause().getMessage();
        }
        return e.getClass().getSimpleName() + (message != null ? ": " + message : "");
    }

    private static JsonObject parseObject(String text) {
        try {
            JsonElement element = JsonParser.parseString(text);
            return element.isJsonObject() ? element.getAsJsonObject() : null;
        } catch (JsonParseException e) {
            return null;
        }
    }

    private static int errorCode(JsonObject json) {
        try {
            return json != null && json.has("error_code") ? json.get("error_code").getAsInt() : 0;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static String stringField(JsonObject json, String name, String what) {
        JsonElement value = json.get(name);
        if (value == null || !value.isJsonPrimitive()) {
            throw new SerializationException(what + ": the registry's answer has no \"" + name + "\"");
        }
        return value.getAsString();
    }

    private static String snippet(String body) {
        String text = body == null || body.isBlank() ? "(empty body)" : body.strip();
        return text.length() > 200 ? text.substring(0, 200) + "…" : text;
    }

    private static String stripTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    /** Subjects go in a path segment: encode everything, spaces as %20 rather than +. */
    static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private record SubjectSchema(String subject, Schema schema) {
    }

    private record Failure(String request, int status, int errorCode, String detail, IOException cause) {
        boolean retriable() {
            return status == 0 || status >= 500 || status == 429;
        }

        SchemaRegistryException toException(String what, int attempts) {
            String outcome = status == 0 ? ": " + detail
                    : " answered HTTP " + status + (errorCode != 0 ? " (error_code " + errorCode + ")" : "") + ": " + detail;
            String tries = attempts > 1 ? " [gave up after " + attempts + " attempts]" : "";
            return new SchemaRegistryException(what + " failed: " + request + outcome + tries, request, status, errorCode, cause);
        }
    }

    private record Attempt(JsonObject answer, Failure failure) {
        static Attempt answered(JsonObject answer) {
            return new Attempt(answer, null);
        }

        static Attempt failed(Failure failure) {
            return new Attempt(null, failure);
        }
    }
}
