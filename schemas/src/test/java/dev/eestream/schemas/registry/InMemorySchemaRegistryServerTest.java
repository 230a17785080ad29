package dev.eestream.schemas.registry;

import static dev.eestream.schemas.TestSupport.get;
import static dev.eestream.schemas.TestSupport.http;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.TestSupport.Reply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST subset, spoken to over plain HTTP as kcat or curl would. */
class InMemorySchemaRegistryServerTest {

    private static final String V1 = "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";
    private static final String V2 = "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\",\"fields\":["
            + "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}";
    private static final String INCOMPATIBLE = "{\"type\":\"record\",\"name\":\"Thing\",\"namespace\":\"t\",\"fields\":["
            + "{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"c\",\"type\":\"string\"}]}";

    private InMemorySchemaRegistryServer registry;
    private final RegistryFaults faults = new RegistryFaults();

    @BeforeEach
    void start() {
        registry = InMemorySchemaRegistryServer.builder().port(0).interceptor(faults).start();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void registersVersionsAndGlobalIds() {
        assertEquals(1, register("things-value", V1));
        // Whitespace and key order do not matter: the canonical schema is the same.
        assertEquals(1, register("things-value", "{ \"namespace\": \"t\", \"type\": \"record\", \"name\": \"Thing\","
                + " \"fields\": [ {\"name\": \"a\", \"type\": \"int\"} ] }"));
        assertEquals(1, register("other-value", V1), "same schema text, same global id across subjects");
        assertEquals(2, register("things-value", V2));

        assertEquals("[1,2]", get(registry.url() + "/subjects/things-value/versions").body());
        assertEquals("[\"other-value\",\"things-value\"]", get(registry.url() + "/subjects").body());
        JsonObject latest = json(get(registry.url() + "/subjects/things-value/versions/latest"));
        assertEquals("things-value", latest.get("subject").getAsString());
        assertEquals(2, latest.get("version").getAsInt());
        assertEquals(2, latest.get("id").getAsInt());
        assertEquals(new Schema.Parser().parse(V2), new Schema.Parser().parse(latest.get("schema").getAsString()));
        assertEquals(1, json(get(registry.url() + "/subjects/things-value/versions/1")).get("id").getAsInt());
        assertEquals(new Schema.Parser().parse(V1).toString(), get(registry.url() + "/subjects/things-value/versions/1/schema").body());
    }

    @Test
    void servesSchemasById() {
        int id = register("requests-value", InferenceRequest.getClassSchema().toString());
        Reply reply = get(registry.url() + "/schemas/ids/" + id);
        assertEquals(200, reply.status());
        assertEquals(InferenceRequest.getClassSchema(), new Schema.Parser().parse(json(reply).get("schema").getAsString()));
        Reply raw = get(registry.url() + "/schemas/ids/" + id + "/schema");
        assertEquals(InferenceRequest.getClassSchema(), new Schema.Parser().parse(raw.body()));
        assertError(get(registry.url() + "/schemas/ids/42"), 404, 40403, "Schema 42 not found");
    }

    @Test
    void looksUpWithoutRegistering() {
        int id = register("things-value", V1);
        JsonObject found = json(http("POST", registry.url() + "/subjects/things-value", body(V1)));
        assertEquals("things-value", found.get("subject").getAsString());
        assertEquals(1, found.get("version").getAsInt());
        assertEquals(id, found.get("id").getAsInt());
        assertTrue(found.has("schema"));
        assertError(http("POST", registry.url() + "/subjects/things-value", body(V2)), 404, 40403, "Schema not found");
        assertError(http("POST", registry.url() + "/subjects/nothing-value", body(V1)), 404, 40401, "Subject 'nothing-value' not found.");
        assertEquals("[1]", get(registry.url() + "/subjects/things-value/versions").body(), "lookup registered nothing");
    }

    @Test
    void decodesUrlEncodedSubjects() {
        String subject = "orders eu+1/x-value";
        int id = register(subject, V1);
        assertEquals("[\"" + subject + "\"]", get(registry.url() + "/subjects").body());
        String encoded = SchemaRegistryClient.encode(subject);
        assertEquals("orders%20eu%2B1%2Fx-value", encoded);
        assertEquals(id, json(get(registry.url() + "/subjects/" + encoded + "/versions/latest")).get("id").getAsInt());
    }

    @Test
    void answersErrorsAsConfluentJson() {
        register("things-value", V1);
        assertEquals("{\"compatibilityLevel\":\"BACKWARD\"}", get(registry.url() + "/config").body());
        assertError(http("POST", registry.url() + "/subjects/things-value/versions", body(INCOMPATIBLE)), 409, 409,
                "Schema being registered is incompatible with an earlier schema for subject \"things-value\"");
        assertError(http("POST", registry.url() + "/subjects/things-value/versions", body("{\"type\":\"nonsense\"}")), 422, 42201, "Invalid schema");
        assertError(http("POST", registry.url() + "/subjects/things-value/versions", "not json"), 422, 42201, "The request body must be a JSON object");
        assertError(get(registry.url() + "/subjects/things-value/versions/abc"), 422, 42202, "The specified version 'abc' is not a valid version id");
        assertError(get(registry.url() + "/subjects/things-value/versions/9"), 404, 40402, "Version 9 not found");
        assertError(get(registry.url() + "/subjects/unknown-value/versions"), 404, 40401, "Subject 'unknown-value' not found");
        assertError(get(registry.url() + "/no/such/path"), 404, 404, "HTTP 404 Not Found");
        assertError(http("DELETE", registry.url() + "/subjects/things-value/versions", null), 405, 405, "HTTP 405 Method Not Allowed");
        assertError(http("PUT", registry.url() + "/config", "{}"), 405, 405, "HTTP 405 Method Not Allowed");
    }

    @Test
    void countsEveryRequestAndInjectsFailures() {
        int before = faults.requestCount();
        faults.failNextRequests(1, 503);
        assertError(get(registry.url() + "/subjects"), 503, 503, "refused by the request interceptor");
        assertEquals(200, get(registry.url() + "/subjects").status());
        assertEquals(before + 2, faults.requestCount());
    }

    @Test
    void registersConcurrently() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> ids = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String schema = "{\"type\":\"record\",\"name\":\"R" + (i % 20) + "\",\"fields\":[]}";
                String subject = "s" + i + "-value";
                ids.add(pool.submit(() -> register(subject, schema)));
            }
            Set<Integer> distinct = new HashSet<>();
            for (Future<Integer> id : ids) {
                distinct.add(id.get());
            }
            assertEquals(20, distinct.size(), "20 distinct schemas, 20 ids");
            assertEquals(40, JsonParser.parseString(get(registry.url() + "/subjects").body()).getAsJsonArray().size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void registersTheGeneratedResponseSchema() {
        int id = register("responses-value", InferenceResponse.getClassSchema().toString());
        JsonArray versions = JsonParser.parseString(get(registry.url() + "/subjects/responses-value/versions").body()).getAsJsonArray();
        assertEquals(1, versions.size());
        assertEquals(InferenceResponse.getClassSchema().toString(), get(registry.url() + "/schemas/ids/" + id + "/schema").body());
    }

    /**
     * With a schema log, a restarted registry serves every schema under its old id, gives a schema registered
     * again under the same subject its old id back, and a new schema an id never used; versions go on.
     */
    @Test
    void keepsSchemasAndIdsAcrossARestartWithASchemaLog(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("registry").resolve("schemas.log");
        String other = "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[]}";
        Map<Integer, String> before = new TreeMap<>();
        try (InMemorySchemaRegistryServer first = InMemorySchemaRegistryServer.builder().port(0).schemaLog(file).start()) {
            assertEquals(1, register(first.url(), "things-value", V1));
            assertEquals(1, register(first.url(), "others-value", V1));
            assertEquals(2, register(first.url(), "things-value", V2));
            assertEquals(3, register(first.url(), "third-value", other.replace("Other", "Third")));
            for (int id = 1; id <= 3; id++) {
                before.put(id, get(first.url() + "/schemas/ids/" + id + "/schema").body());
            }
        }
        assertEquals(4, Files.readAllLines(file).size(), "one line per registration");

        try (InMemorySchemaRegistryServer second = InMemorySchemaRegistryServer.builder().port(0).schemaLog(file).start()) {
            for (Map.Entry<Integer, String> entry : before.entrySet()) {
                assertEquals(entry.getValue(), get(second.url() + "/schemas/ids/" + entry.getKey() + "/schema").body(),
                        "schema id " + entry.getKey() + " after the restart");
            }
            assertEquals("[\"others-value\",\"things-value\",\"third-value\"]", get(second.url() + "/subjects").body());
            assertEquals("[1,2]", get(second.url() + "/subjects/things-value/versions").body());
            assertEquals(1, register(second.url(), "things-value", V1), "the same schema under the same subject: its old id");
            assertEquals(2, register(second.url(), "things-value", V2));
            assertEquals(4, register(second.url(), "new-value", other), "a new schema: an id not used before the restart");
            assertEquals(2, register(second.url(), "others-value", V2), "a known schema under another subject: its old id");
            JsonObject latest = json(get(second.url() + "/subjects/others-value/versions/latest"));
            assertEquals(2, latest.get("version").getAsInt(), "versions go on from where they were");
            assertEquals(2, latest.get("id").getAsInt());
            assertError(http("POST", second.url() + "/subjects/things-value/versions", body(INCOMPATIBLE)), 409, 409,
                    "Schema being registered is incompatible");
        }
        assertEquals(6, Files.readAllLines(file).size(), "a schema registered again, or refused, writes nothing");
    }

    private int register(String subject, String schema) {
        return register(registry.url(), subject, schema);
    }

    private static int register(String url, String subject, String schema) {
        Reply reply = http("POST", url + "/subjects/" + SchemaRegistryClient.encode(subject) + "/versions", body(schema));
        assertEquals(200, reply.status(), reply.body());
        return json(reply).get("id").getAsInt();
    }

    private static String body(String schema) {
        JsonObject body = new JsonObject();
        body.addProperty("schema", schema);
        return body.toString();
    }

    private static JsonObject json(Reply reply) {
        assertEquals(200, reply.status(), reply.body());
        return JsonParser.parseString(reply.body()).getAsJsonObject();
    }

    private static void assertError(Reply reply, int status, int errorCode, String messagePrefix) {
        assertEquals(status, reply.status(), reply.body());
        JsonObject error = JsonParser.parseString(reply.body()).getAsJsonObject();
        assertEquals(errorCode, error.get("error_code").getAsInt(), reply.body());
        assertTrue(error.get("message").getAsString().startsWith(messagePrefix), reply.body());
    }
}
