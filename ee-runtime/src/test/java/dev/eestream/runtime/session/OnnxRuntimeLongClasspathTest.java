package dev.eestream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.TinyBundle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime 1.29.0's Java binding crashes the JVM (SIGSEGV) while creating its environment when
 * java.class.path is longer than about 4 KB, which the eestream CLI's is. Surefire hides this (its
 * forked JVMs use a short manifest-only classpath), so this test starts a JVM with a long one.
 */
class OnnxRuntimeLongClasspathTest {
    /** Run in the child JVM: create the environment and run a model. */
    public static void main(String[] args) throws Exception {
        try (ModelSession s = ModelSession.open(TinyBundle.modelBytes(), TinyBundle.manifest())) {
            System.out.println("outputs " + s.run(List.of(new long[] {1, 2, 3}))[0].length);
        }
    }

    @Test
    void onnxRuntimeStartsWithALongClasspath() throws IOException, InterruptedException {
        StringBuilder cp = new StringBuilder(System.getProperty("java.class.path"));
        for (String entry : cp.toString().split(java.io.File.pathSeparator)) {
            if (entry.endsWith(".jar") && entry.contains("surefire")) {
                // Surefire's manifest-only jar: expand it to the real classpath below.
                cp = new StringBuilder(expandManifestClasspath(Path.of(entry)));
            }
        }
        for (int i = 0; i < 200; i++) {
            cp.append(java.io.File.pathSeparator).append("/nonexistent/padding/").append(i).append("/library-1.0.0.jar");
        }
        assertTrue(cp.length() > 8000);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", cp.toString(), OnnxRuntimeLongClasspathTest.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, p.exitValue(), "child JVM failed (139 = SIGSEGV): " + out);
        assertTrue(out.contains("outputs " + TinyBundle.manifest().outputWidth()), out);
    }

    private static String expandManifestClasspath(Path jar) throws IOException {
        try (java.util.jar.JarFile f = new java.util.jar.JarFile(jar.toFile())) {
            String cp = f.getManifest().getMainAttributes().getValue("Class-Path");
            StringBuilder out = new StringBuilder();
            for (String url : cp.trim().split("\\s+")) {
                if (out.length() > 0) {
                    out.append(java.io.File.pathSeparator);
                }
                out.append(Path.of(java.net.URI.create(url)).toString());
            }
            return out.toString();
        }
    }
}
