package dev.eestream.ops.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The server image is built from the processor module alone: its entry point starts from that jar
 * and its runtime classpath, and nothing on that classpath holds key code, a tokenizer or a
 * plaintext model. Needs the packaged processor, so it runs in {@code verify}.
 */
@Tag("integration")
class ServerImageTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void theServerImageRunsTheProcessorModuleAloneWithoutKeyCode() throws Exception {
        String dockerfile = Files.readString(ROOT.resolve("ops/docker/Dockerfile"));
        assertTrue(dockerfile.contains("-pl processor -am package"), "the image builds the processor module only");
        assertTrue(dockerfile.contains("processor/target/classpath.txt"), dockerfile);
        assertTrue(dockerfile.contains("dev.eestream.processor.cli.ProcessorMain"), dockerfile);
        assertFalse(dockerfile.contains("ops/target"), "the image must not take the command line's classpath");
        Path classpathFile = ROOT.resolve("processor/target/classpath.txt");
        Path jar = ROOT.resolve("processor/target/eestream-processor.jar");
        assertTrue(Files.exists(classpathFile) && Files.exists(jar), "the reactor packages the processor before ops");
        String classpath = Files.readString(classpathFile).trim();
        for (String entry : classpath.split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            assertFalse(name.startsWith("ee-core") || name.startsWith("tokenizers-") || name.contains("langchain4j")
                    || name.startsWith("producer-client") || name.startsWith("consumer-client"), "server classpath holds " + name);
        }
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                jar + File.pathSeparator + classpath, "dev.eestream.processor.cli.ProcessorMain", "--help")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("max.batch.size") && out.contains("--config"), out);
    }
}
