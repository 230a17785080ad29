package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.EeException;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.serde.AvroSerializer;
import dev.eestream.schemas.topics.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Local mode stopped and started again on its data directory, as a user restarts {@code eestream local}: the
 * requests and answers written before the restart still decode, with the {@code consume --from-beginning} command
 * and with a decoder that knows nothing but the registry's REST API and Avro; a new schema gets an id never used
 * before, and the pipeline goes on writing under the old ids.
 */
@Tag("integration")
class RegistryRestartTest {
    private static final String MODEL = "restart-embed";
    private static final int BEFORE = 12;
    private static final int AFTER = 5;
    private static final String PROBE_SCHEMA = "{\"type\":\"record\",\"name\":\"RestartProbe\",\"namespace\":\"test\","
            + "\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path work;

    private final EeKey key = EeKey.generate();
    private final Random random = new Random(3);

    @Test
    void everyRecordDecodesAfterARestartAndNoIdIsHandedOutTwice() throws Exception {
        Path models = work.resolve("models");
        ModelTransformer.Result ee = ReliabilityFixture.writeEmbedModel(models, key, MODEL);
        ClientProfile.of(ee, null, "tiny").write(ClientProfile.besides(models.resolve(MODEL)), false);
        Path keyFile = work.resolve("client.key");
        KeyFiles.write(key, keyFile, null, false);
        LocalMode.Options options = new LocalMode.Options(0, 0, models, work.resolve("data"), Map.of());

        Set<String> sentBefore = new LinkedHashSet<>();
        Map<Integer, String> schemasBefore;
        Map<String, Set<Integer>> idsByTopicBefore;
        try (LocalMode local = LocalMode.start(options)) {
            // A second local mode on the same data directory is refused before it touches the broker's data.
            EeException busy = assertThrows(EeException.class, () -> LocalMode.startInfrastructure(options));
            assertTrue(busy.getMessage().contains("is in use by another local mode"), busy.getMessage());
            sendRequests(local, "before-", BEFORE, sentBefore);
            idsByTopicBefore = decodeAll(local, sentBefore);
            schemasBefore = schemasById(local.registryUrl());
        }
        assertFalse(schemasBefore.isEmpty(), "the pipeline registered its schemas");
        assertTrue(Files.size(work.resolve("data").resolve(LocalMode.SCHEMA_LOG)) > 0, "the registry wrote its schema log");
        System.out.println("schema ids before the restart: " + schemasBefore.keySet() + ", by topic " + idsByTopicBefore);

        try (LocalMode local = LocalMode.start(options)) {
            // Read before anything registers again: the old ids must come from what the registry kept.
            assertEquals(schemasBefore, schemasById(local.registryUrl()), "every schema under its old id");
            assertEquals(idsByTopicBefore, decodeAll(local, sentBefore), "the registry-only decoder reads every old record");
            assertConsumeCommandPrints(local, keyFile, models, sentBefore);

            int probeId = register(local.registryUrl(), "restart-probe-value", PROBE_SCHEMA);
            int largestBefore = new TreeSet<>(schemasBefore.keySet()).last();
            assertTrue(probeId > largestBefore, "a new schema's id " + probeId + " was never used (largest before: " + largestBefore + ")");

            // The pipeline goes on: its schemas, registered again, get their old ids back.
            Set<String> everything = new LinkedHashSet<>(sentBefore);
            sendRequests(local, "after-", AFTER, everything);
            assertEquals(idsByTopicBefore, decodeAll(local, everything), "old and new records, under the same ids");
            assertConsumeCommandPrints(local, keyFile, models, everything);
            assertEquals(probeId, register(local.registryUrl(), "restart-probe-value", PROBE_SCHEMA), "the same schema: the same id");
            System.out.printf("registry restart: %d requests and answers before the restart, %d after, all decoded and printed by "
                    + "consume; schema ids by topic %s on both sides; a new schema after the restart got id %d%n", BEFORE, AFTER,
                    idsByTopicBefore, probeId);
        }
    }

    /** Sends {@code count} embed requests (ids prefixed {@code prefix}) and waits until each is answered. */
    private void sendRequests(LocalMode local, String prefix, int count, Set<String> sent) throws Exception {
        Permutation vocabulary = key.vocabPermutation(TinyModels.ENCODER_VOCAB);
        Map<String, Object> config = new HashMap<>(local.clientProperties());
        AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
        serializer.configure(config, false);
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(config, new StringSerializer(), serializer)) {
            for (int index = 0; index < count; index++) {
                List<Long> cipher = new ArrayList<>();
                for (int position = 0, length = 1 + random.nextInt(8); position < length; position++) {
                    cipher.add((long) vocabulary.apply(random.nextInt(TinyModels.ENCODER_VOCAB)));
                }
                String requestId = prefix + index;
                producer.send(new ProducerRecord<>(Topics.REQUESTS_NAME, requestId, InferenceRequest.newBuilder()
                        .setRequestId(requestId).setModelId(MODEL).setTokenIds(cipher).setReplyTopic(Topics.REPLIES_NAME)
                        .setCreatedAt(Instant.now()).build())).get(30, TimeUnit.SECONDS);
                sent.add(requestId);
            }
        }
    }

    /**
     * Reads both topics from the start (committed records only, until every sent request and its answer are
     * there) with a decoder that uses only the registry's REST API and Avro; returns the schema ids met, by topic.
     */
    private static Map<String, Set<Integer>> decodeAll(LocalMode local, Set<String> sent) throws Exception {
        Map<String, Set<Integer>> idsByTopic = new TreeMap<>();
        for (String topic : List.of(Topics.REQUESTS_NAME, Topics.REPLIES_NAME)) {
            Set<Integer> ids = new TreeSet<>();
            Set<String> requestIds = new HashSet<>();
            int records = 0;
            Map<String, Object> config = new HashMap<>(local.clientProperties());
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> partitions = new ArrayList<>();
                consumer.partitionsFor(topic, Duration.ofSeconds(30))
                        .forEach(partition -> partitions.add(new TopicPartition(topic, partition.partition())));
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                while (requestIds.size() < sent.size() && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        int schemaId = ByteBuffer.wrap(record.value(), 1, 4).getInt();
                        GenericRecord decoded = decodeWithRegistryOnly(record.value(), local.registryUrl());
                        ids.add(schemaId);
                        requestIds.add(decoded.get("requestId").toString());
                        records++;
                    }
                }
            }
            assertEquals(sent, requestIds, topic + ": every request id, decoded");
            assertEquals(sent.size(), records, topic + ": one record per request");
            idsByTopic.put(topic, ids);
        }
        return idsByTopic;
    }

    /** The Confluent wire format read by hand: magic byte 0, the schema id, Avro binary in that schema. */
    private static GenericRecord decodeWithRegistryOnly(byte[] value, String registryUrl) throws Exception {
        assertEquals(0, value[0], "magic byte");
        int schemaId = ByteBuffer.wrap(value, 1, 4).getInt();
        HttpResponse<String> reply = get(registryUrl + "/schemas/ids/" + schemaId);
        assertEquals(200, reply.statusCode(), "schema id " + schemaId + ": " + reply.body());
        Schema schema = new Schema.Parser().parse(JsonParser.parseString(reply.body()).getAsJsonObject().get("schema").getAsString());
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
        GenericRecord record = new GenericDatumReader<GenericRecord>(schema).read(null, decoder);
        assertTrue(decoder.isEnd(), "schema id " + schemaId + " read the whole record: it is the schema it was written with");
        return record;
    }

    /** {@code consume --from-beginning} prints every answer, decrypted, and no stack trace. */
    private static void assertConsumeCommandPrints(LocalMode local, Path keyFile, Path models, Set<String> sent) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = EestreamCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exit = commandLine.execute("consume", "--bootstrap", local.bootstrapServers(), "--registry", local.registryUrl(),
                "--key", keyFile.toString(), "--models", models.toString(), "--topic", Topics.REPLIES_NAME, "--from-beginning",
                "--idle-timeout-ms", "5000");
        assertEquals(0, exit, err.toString());
        assertFalse(err.toString().contains("Exception") || err.toString().contains("\tat "), err.toString());
        assertTrue(err.toString().contains("consumed " + sent.size() + " responses from " + Topics.REPLIES_NAME), err.toString());
        Set<String> printed = new HashSet<>();
        List<String> lines = out.toString().lines().toList();
        for (String line : lines) {
            JsonObject answer = JsonParser.parseString(line).getAsJsonObject();
            assertEquals("OK", answer.get("status").getAsString(), line);
            assertTrue(answer.get("embedding").getAsJsonArray().size() > 0, line);
            printed.add(answer.get("requestId").getAsString());
        }
        assertEquals(sent.size(), lines.size(), "one line per answer");
        assertEquals(sent, printed, "every answer printed");
    }

    /** Every schema the registry serves, by id: its subjects' versions, fetched by id. */
    private static Map<Integer, String> schemasById(String registryUrl) throws Exception {
        Map<Integer, String> schemas = new TreeMap<>();
        for (JsonElement subject : JsonParser.parseString(get(registryUrl + "/subjects").body()).getAsJsonArray()) {
            String versionsUrl = registryUrl + "/subjects/" + subject.getAsString() + "/versions";
            for (JsonElement version : JsonParser.parseString(get(versionsUrl).body()).getAsJsonArray()) {
                int id = JsonParser.parseString(get(versionsUrl + "/" + version.getAsInt()).body()).getAsJsonObject().get("id").getAsInt();
                schemas.put(id, get(registryUrl + "/schemas/ids/" + id + "/schema").body());
            }
        }
        return schemas;
    }

    private static int register(String registryUrl, String subject, String schema) throws Exception {
        JsonObject body = new JsonObject();
        body.addProperty("schema", schema);
        HttpResponse<String> reply = HTTP.send(HttpRequest.newBuilder(URI.create(registryUrl + "/subjects/" + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, reply.statusCode(), reply.body());
        return JsonParser.parseString(reply.body()).getAsJsonObject().get("id").getAsInt();
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
