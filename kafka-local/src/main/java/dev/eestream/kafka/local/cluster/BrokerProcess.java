package dev.eestream.kafka.local.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One node of a local cluster running {@link BrokerNodeMain} in a child JVM on this JVM's classpath. Keeps
 * the last lines the node printed, for the message when it fails.
 */
public final class BrokerProcess implements AutoCloseable {
    private static final int KEPT_LINES = 60;
    /** A broker of a local cluster needs little heap; the serial collector keeps it to one GC thread on small machines. */
    private static final List<String> JVM_OPTIONS = List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC");

    private final int nodeId;
    private final Process process;
    private final CountDownLatch running = new CountDownLatch(1);
    private final Deque<String> lastLines = new ArrayDeque<>();

    private BrokerProcess(int nodeId, Process process) {
        this.nodeId = nodeId;
        this.process = process;
        Thread reader = new Thread(this::readOutput, "broker-" + nodeId + "-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts node {@code nodeId} from its properties file (its storage already formatted). */
    public static BrokerProcess start(int nodeId, Path propertiesFile) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), BrokerNodeMain.class.getName(),
                propertiesFile.toAbsolutePath().toString()));
        // Standard input stays a pipe held by this JVM: the node stops when it closes.
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        return new BrokerProcess(nodeId, process);
    }

    private void readOutput() {
        try (BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = output.readLine()) != null) {
                synchronized (lastLines) {
                    lastLines.addLast(line);
                    if (lastLines.size() > KEPT_LINES) {
                        lastLines.removeFirst();
                    }
                }
                if (line.startsWith(BrokerNodeMain.RUNNING)) {
                    running.countDown();
                }
            }
        } catch (IOException e) {
            // the node died; its exit status says how
        }
    }

    public int nodeId() {
        return nodeId;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Completes when the node's JVM has exited, however it ended. */
    public CompletableFuture<Process> onExit() {
        return process.onExit();
    }

    /** True once the node serves; false if it exited first or {@code timeout} passed. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (running.await(100, TimeUnit.MILLISECONDS)) {
                return true;
            }
            if (!process.isAlive()) {
                return running.getCount() == 0;
            }
        }
        return false;
    }

    /** The last lines the node printed (its log at WARN and above, and any stack trace). */
    public String recentOutput() {
        synchronized (lastLines) {
            return String.join("\n", lastLines);
        }
    }

    /** SIGKILL: no controlled shutdown, no flush. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Asks for a controlled shutdown (SIGTERM) without waiting. */
    public void requestStop() {
        process.destroy();
    }

    /** Waits for the node to exit after {@link #requestStop()}; SIGKILLs it after {@code timeout}. */
    public void awaitStop(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
        }
    }

    @Override
    public void close() throws InterruptedException {
        requestStop();
        awaitStop(Duration.ofSeconds(30));
    }
}
