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

    private ChildProcessor(Process process, String readyLine) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    if (line.startsWith(readyLine)) {
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
        return start(settings, List.of());
    }

    /** With these JVM options (heap size, GC); they come after the default -Xmx1g, so theirs wins. */
    static ChildProcessor start(Map<String, String> settings, List<String> jvmOptions) throws IOException {
        List<String> args = new ArrayList<>(List.of("processor", "--shutdown-timeout-ms", "10000"));
        settings.forEach((k, v) -> {
            args.add("--set");
            args.add(k + "=" + v);
        });
        return start(jvmOptions, args);
    }

    /** {@code eestream ARGS} (a processor command line) in a child JVM with extra JVM options. */
    static ChildProcessor start(List<String> jvmOptions, List<String> args) throws IOException {
        return start(jvmOptions, args, "processor running");
    }

    /** {@code eestream ARGS} in a child JVM, running once it prints a line starting with {@code readyLine}. */
    static ChildProcessor start(List<String> jvmOptions, List<String> args, String readyLine) throws IOException {
        return new ChildProcessor(new ProcessBuilder(command(jvmOptions, args)).redirectErrorStream(true).start(), readyLine);
    }

    /** What a finished child command printed (stdout and stderr together) and its exit status. */
    record Finished(int exit, String output) {
    }

    /** Runs any {@code eestream} command in a child JVM to its end (at most {@code seconds}). */
    static Finished run(List<String> jvmOptions, Map<String, String> environment, List<String> args, long seconds)
            throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command(jvmOptions, args)).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process p = builder.start();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                out.append("(output lost: ").append(e).append(')');
            }
        }, "child-command-output");
        reader.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        return new Finished(p.isAlive() ? -1 : p.exitValue(), out.toString());
    }

    private static List<String> command(List<String> jvmOptions, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath(), "dev.eestream.ops.EestreamCli"));
        cmd.addAll(args);
        return cmd;
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
