package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.ops.local.LocalMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Processors sharing one {@code application.id}, each in a child JVM with a state directory of its own, named
 * a, b, c… by their index: started, SIGKILLed, restarted with the same settings and state, as an operator would.
 */
final class ProcessorGroup implements AutoCloseable {
    private final LocalMode infrastructure;
    private final Path work;
    private final String applicationId;
    private final boolean staticMembers;
    private final List<ChildProcessor> children = new ArrayList<>();

    /** With {@code staticMembers}, each has {@code group.instance.id} processor-NAME, so a restart takes its partitions back at once. */
    ProcessorGroup(LocalMode infrastructure, Path work, String applicationId, boolean staticMembers) {
        this.infrastructure = infrastructure;
        this.work = work;
        this.applicationId = applicationId;
        this.staticMembers = staticMembers;
    }

    private static String name(int index) {
        return String.valueOf((char) ('a' + index));
    }

    private Map<String, String> settings(int index) {
        Map<String, String> settings = ReliabilityFixture.processorSettings(infrastructure, work, applicationId);
        settings.put("state.dir", work.resolve("state-" + name(index)).toString());
        if (staticMembers) {
            settings.put("group.instance.id", "processor-" + name(index));
        }
        return settings;
    }

    /** Starts {@code count} processors and waits until each runs. */
    void start(int count) throws Exception {
        for (int i = 0; i < count; i++) {
            ChildProcessor child = ChildProcessor.start(settings(children.size()));
            children.add(child);
            assertTrue(child.awaitRunning(120), "processor " + name(i) + " did not start:\n" + child.log());
        }
    }

    ChildProcessor get(int index) {
        return children.get(index);
    }

    /** SIGKILLs processor {@code index}; it stays down. */
    void kill(int index) {
        try {
            children.get(index).kill();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops processor {@code index} (SIGKILL or SIGTERM) and starts it again with the same settings and state. */
    void restart(int index, boolean kill) {
        try {
            long stopping = System.nanoTime();
            ChildProcessor old = children.get(index);
            if (kill) {
                old.kill();
            } else {
                assertEquals(143, old.terminate(30), "processor " + name(index) + " stopped on SIGTERM");
            }
            ChildProcessor next = ChildProcessor.start(settings(index));
            children.set(index, next);
            assertTrue(next.awaitRunning(120), "processor " + name(index) + " did not come back:\n" + next.log());
            System.out.printf("processor %s: %s, then running again after %d ms%n", name(index), kill ? "SIGKILL" : "SIGTERM",
                    (System.nanoTime() - stopping) / 1_000_000);
        } catch (Exception e) {
            throw new IllegalStateException("restarting processor " + name(index), e);
        }
    }

    /** Restarts every processor, one after the other (SIGTERM, start, wait until it runs). */
    void rollingRestart() {
        for (int i = 0; i < children.size(); i++) {
            restart(i, false);
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (ChildProcessor child : children) {
            child.close();
        }
    }
}
