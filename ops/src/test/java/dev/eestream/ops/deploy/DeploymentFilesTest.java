package dev.eestream.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import dev.eestream.processor.config.ProcessorSettings;
import dev.eestream.processor.metrics.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** No Docker engine runs here: this checks what can be checked of the deployment files. */
class DeploymentFilesTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static Map<String, Map<String, Object>> services;

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void parse() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        services = (Map<String, Map<String, Object>>) compose.get("services");
        assertNotNull(services, "docker-compose.yml has services");
    }

    @Test
    void theStackHasEveryPart() {
        assertTrue(services.keySet().containsAll(List.of("kafka", "topics", "schema-registry", "processor", "processor-gpu",
                "prometheus", "grafana")), services.keySet().toString());
        assertTrue(Files.exists(ROOT.resolve("ops/docker/Dockerfile")));
        assertEquals("ops/docker/Dockerfile", ((Map<?, ?>) services.get("processor").get("build")).get("dockerfile"));
    }

    @Test
    void everyImageIsPinnedToAVersion() throws IOException {
        for (String line : Files.readAllLines(ROOT.resolve("ops/docker/Dockerfile"))) {
            if (line.startsWith("FROM ") && !line.contains("${")) {
                assertTrue(line.split("\\s+")[1].matches(".+:.*\\d.*"), "Dockerfile base image not pinned: " + line);
            }
            if (line.startsWith("ARG RUNTIME_IMAGE=")) {
                assertTrue(line.matches("ARG RUNTIME_IMAGE=.+:.*\\d.*"), line);
            }
        }
        services.forEach((name, s) -> {
            String image = (String) s.get("image");
            assertNotNull(image, name + " has an image");
            int colon = image.lastIndexOf(':');
            assertTrue(colon > 0, name + ": " + image + " has no tag");
            String tag = image.substring(colon + 1);
            assertFalse(tag.equals("latest") || !tag.matches(".*\\d.*"), name + ": " + image + " is not pinned to a version");
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void publishedPortsDoNotClash() {
        Map<String, String> hostPorts = new HashMap<>();
        services.forEach((name, s) -> {
            for (Object p : (List<Object>) s.getOrDefault("ports", List.of())) {
                String host = String.valueOf(p).split(":")[0];
                String other = hostPorts.put(host, name);
                assertTrue(other == null, "host port " + host + " is published by " + other + " and " + name);
            }
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyProcessorEnvironmentVariableIsARealSetting() {
        Set<String> known = new HashSet<>(ProcessorSettings.definition().names());
        known.addAll(StreamsConfig.configDef().names());
        known.addAll(ProducerConfig.configNames());
        known.addAll(ConsumerConfig.configNames());
        known.addAll(AdminClientConfig.configNames());
        for (String service : List.of("processor", "processor-gpu")) {
            Map<String, Object> env = (Map<String, Object>) services.get(service).get("environment");
            assertFalse(env.isEmpty(), service + " sets its configuration");
            env.forEach((name, value) -> {
                assertTrue(name.startsWith("EESTREAM_"), service + ": " + name + " is not an eestream variable");
                String key = name.substring("EESTREAM_".length()).toLowerCase(Locale.ROOT).replace('_', '.');
                boolean registry = key.startsWith("schema.registry.") || key.startsWith("basic.auth.");
                assertTrue(known.contains(key) || registry, service + ": " + name + " sets '" + key + "', which is no setting");
            });
        }
        Map<String, Object> gpuEnv = (Map<String, Object>) services.get("processor-gpu").get("environment");
        assertEquals("cuda", gpuEnv.get("EESTREAM_DEVICE"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theGpuVariantReservesAnNvidiaDeviceUnderItsProfile() {
        Map<String, Object> gpu = services.get("processor-gpu");
        assertEquals(List.of("gpu"), gpu.get("profiles"));
        Map<String, Object> deploy = (Map<String, Object>) gpu.get("deploy");
        List<Map<String, Object>> devices = (List<Map<String, Object>>) ((Map<String, Object>) ((Map<String, Object>) deploy
                .get("resources")).get("reservations")).get("devices");
        assertEquals("nvidia", devices.get(0).get("driver"));
        assertTrue(((List<String>) devices.get(0).get("capabilities")).contains("gpu"));
        Map<?, ?> args = (Map<?, ?>) ((Map<?, ?>) gpu.get("build")).get("args");
        assertEquals("gpu", args.get("MAVEN_PROFILE"));
        // ONNX Runtime's CUDA provider needs CUDA and cuDNN in the image, or it silently runs on the CPU.
        String runtime = String.valueOf(args.get("RUNTIME_IMAGE"));
        assertTrue(runtime.startsWith("nvidia/cuda:") && runtime.contains("cudnn"), runtime);
    }

    @Test
    @SuppressWarnings("unchecked")
    void prometheusScrapesTheProcessorsPort() throws IOException {
        Map<String, Object> prom = new Yaml().load(Files.readString(ROOT.resolve("ops/prometheus/prometheus.yml")));
        String text = prom.toString();
        String port = String.valueOf(((Map<String, Object>) services.get("processor").get("environment")).get("EESTREAM_HTTP_PORT"));
        assertTrue(text.contains("processor:" + port), text);
    }

    @Test
    void theDashboardQueriesOnlySeriesTheProcessorExports() throws IOException {
        // Record one of everything, then compare the dashboard's eestream_* series with a real scrape.
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ProcessorMetrics m = new ProcessorMetrics(registry);
        m.request("m", "ok");
        m.batch("m", "cpu", 2, 10, 12, 5);
        m.queued("m", "cpu", 3);
        m.endToEnd("m", "cpu", 40);
        m.modelServed("m", "classify", "cpu");
        String scrape = registry.scrape();
        String dashboard = Files.readString(ROOT.resolve("ops/grafana/dashboards/eestream.json"));
        JsonElement parsed = JsonParser.parseString(dashboard);
        assertTrue(parsed.getAsJsonObject().getAsJsonArray("panels").size() >= 8);
        Matcher series = Pattern.compile("eestream_[a-z_]+").matcher(dashboard);
        int checked = 0;
        while (series.find()) {
            String name = series.group();
            if (name.equals("eestream_processor")) {
                continue; // the dashboard's uid
            }
            assertTrue(scrape.contains(name), "the dashboard queries " + name + ", which the processor does not export");
            checked++;
        }
        assertTrue(checked >= 10, "checked " + checked + " series");
    }
}
