package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.TinyModels;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several processors share the requests' partitions while requests stream in: one is SIGKILLed (and
 * in the second test started again, then all are restarted one by one). With the processor's default
 * settings (6 s session, 5 s transaction timeout) and local mode's broker (timed-out transactions swept
 * every second), answers for every partition resume within 10 s of a kill, and every request is
 * answered exactly once. Prints the gap per partition: the longest pause between two answers to
 * requests of that partition.
 */
@Tag("integration")
class FailoverTest {
    private static final String MODEL = "failover-embed";
    private static final String REPLIES = "failover.replies";
    private static final int RATE_PER_SECOND = 60;
    private static final int SECONDS = 30;
    private static final long FAILOVER_LIMIT_MS = 10_000;

    @TempDir
    Path work;

    private LocalMode infrastructure;
    private ProcessorGroup processors;

    @AfterEach
    void stop() throws Exception {
        ReliabilityFixture.closeInOrder(processors, infrastructure);
    }

    @Test
    void aKilledProcessorsPartitionsAreAnsweredAgainWithinTenSeconds() throws Exception {
        startInfrastructure(3);
        processors = new ProcessorGroup(infrastructure, work, "failover", false);
        processors.start(2);
        int total = RATE_PER_SECOND * SECONDS;
        SteadyTraffic.Run run = send(total, Map.of(total / 3, () -> processors.kill(1)));
        Map<Integer, Long> gaps = run.gapsAfter(run.eventAt(total / 3));
        System.out.printf("failover: %d requests at %d/s, processor b SIGKILLed after %d s; %d answered, %d lost, %d doubled; "
                + "longest pause per request partition after the kill (ms): %s%n", total, RATE_PER_SECOND, SECONDS / 3,
                run.answers().size(), total - run.answers().size(), run.doubled(), gaps);
        run.assertExactlyOnce(total, 3);
        // The killed processor owned partitions (else this test proves nothing): theirs paused for at least the session.
        assertTrue(gaps.values().stream().mapToLong(Long::longValue).max().orElse(0) >= 3000, "no partition paused: " + gaps);
        gaps.forEach((partition, gap) -> assertTrue(gap <= FAILOVER_LIMIT_MS,
                "partition " + partition + " paused " + gap + " ms after the kill:\n" + processors.get(0).log()));
    }

    /**
     * Three processors with static membership on six partitions: one is SIGKILLed and started again, then all
     * three are restarted one by one (SIGTERM, start). Every request is answered once; the pauses are printed.
     */
    @Test
    void threeProcessorsThroughAKillAndARollingRestartAnswerEveryRequestOnce() throws Exception {
        startInfrastructure(6);
        processors = new ProcessorGroup(infrastructure, work, "failover", true);
        processors.start(3);
        int total = RATE_PER_SECOND * 60;
        int killAt = RATE_PER_SECOND * 8;
        int rollAt = RATE_PER_SECOND * 32;
        Map<Integer, Runnable> events = new HashMap<>();
        events.put(killAt, () -> processors.restart(1, true));
        events.put(rollAt, processors::rollingRestart);
        SteadyTraffic.Run run = send(total, events);
        Map<Integer, Long> afterKill = run.gapsBetween(run.eventAt(killAt), run.eventAt(rollAt));
        Map<Integer, Long> duringRoll = run.gapsBetween(run.eventAt(rollAt), Long.MAX_VALUE);
        System.out.printf("three processors, 6 partitions: %d requests at %d/s; processor b SIGKILLed and restarted after 8 s, "
                + "then all three restarted one by one (SIGTERM) after 32 s; %d answered, %d lost, %d doubled; longest pause per "
                + "partition after the kill (ms): %s; during the rolling restart (ms): %s%n", total, RATE_PER_SECOND,
                run.answers().size(), total - run.answers().size(), run.doubled(), afterKill, duringRoll);
        run.assertExactlyOnce(total, 6);
        afterKill.forEach((partition, gap) -> assertTrue(gap <= FAILOVER_LIMIT_MS, "partition " + partition + " paused " + gap
                + " ms after the kill"));
    }

    private void startInfrastructure(int requestPartitions) throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 1);
        if (requestPartitions > 3) {
            try (Admin admin = Admin.create(new HashMap<>(infrastructure.clientProperties()))) {
                admin.createPartitions(Map.of(Topics.REQUESTS_NAME, NewPartitions.increaseTo(requestPartitions))).all().get(30, TimeUnit.SECONDS);
            }
        }
        ReliabilityFixture.writeEmbedModel(work.resolve("models"), EeKey.generate(), MODEL);
    }

    /** Sends {@code total} random requests at {@link #RATE_PER_SECOND}, running each event just before the request of its index. */
    private SteadyTraffic.Run send(int total, Map<Integer, Runnable> events) throws Exception {
        Random random = new Random(7);
        return new SteadyTraffic(infrastructure, REPLIES, RATE_PER_SECOND).send(total, i -> {
            List<Long> ids = new ArrayList<>();
            for (int k = 0; k < 1 + random.nextInt(TinyModels.MAX_POSITIONS); k++) {
                ids.add((long) random.nextInt(TinyModels.ENCODER_VOCAB));
            }
            return InferenceRequest.newBuilder().setRequestId("f-" + i).setModelId(MODEL).setTokenIds(ids)
                    .setReplyTopic(REPLIES).setCreatedAt(Instant.now()).build();
        }, events);
    }
}
