package dev.eestream.ops.reliability;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

/** `eestream processor` in a child JVM, so a test can SIGKILL it and start it again. */
final class ChildProcessor implements AutoCloseable {
    private final Process process;
    private final CountDownLatch running = new CountDownLatch(1);
    private final StringBuilder log = new StringBuilder();

    private ChildProcessor(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    if (line.startsWith("processor running")) {
                        running.countDown();
                    }
                }
            } catch (IOException e) {
                // the child died: that is what these tests do to it
            }
        }, "child-processor-output");
        reader.setDaemon(true);
        reader.start();
    }

    static ChildProcessor start(Map<String, String> settings) throws IOException {
        return start(settings, List.of("-Xmx1g"));
    }

    /** With these JVM options (heap size, GC) before the class path. */
    static ChildProcessor start(Map<String, String> settings, List<String> jvmOptions) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath(), "dev.eestream.ops.EestreamCli", "processor", "--shutdown-timeout-ms", "10000"));
        settings.forEach((k, v) -> {
            cmd.add("--set");
            cmd.add(k + "=" + v);
        });
        return new ChildProcessor(new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    boolean awaitRunning(long seconds) throws InterruptedException {
        return running.await(seconds, TimeUnit.SECONDS);
    }

    /** SIGKILL: no shutdown hook, no flush, no commit. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the shutdown hook closes the stream. */
    int terminate(long seconds) throws InterruptedException {
        process.destroy();
        return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    String log() {
        synchronized (log) {
            return log.toString();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    /** The test's own classpath, with Surefire's manifest-only jar expanded. */
    static String classpath() throws IOException {
        String cp = System.getProperty("java.class.path");
        List<String> out = new ArrayList<>();
        for (String entry : cp.split(File.pathSeparator)) {
            if (entry.contains("surefire") && entry.endsWith(".jar")) {
                try (JarFile jar = new JarFile(entry)) {
                    String manifestCp = jar.getManifest().getMainAttributes().getValue("Class-Path");
                    if (manifestCp != null) {
                        for (String url : manifestCp.trim().split("\\s+")) {
                            out.add(Path.of(URI.create(url)).toString());
                        }
                        continue;
                    }
                }
            }
            out.add(entry);
        }
        return String.join(File.pathSeparator, out);
    }
}
