package dev.eestream.ops.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.ops.local.LocalMode;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.Generation;
import dev.eestream.schemas.FinishReason;
import dev.eestream.schemas.GenerationParams;
import dev.eestream.schemas.InferenceRequest;
import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.ResponseStatus;
import dev.eestream.schemas.topics.Topics;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streamed generations through SIGKILLs of the processor. The processor runs in a child JVM under
 * exactly_once_v2 with a tiny EE decoder (built in code, random weights, with ρ); streamed
 * generations arrive at an even pace, and the processor is killed while some of them are streaming
 * (their chunks committed, their final record not yet) and started again each time. A read_committed
 * consumer on the reply topic must then see, for every request: each chunk once, numbered from 0
 * without a gap, one final record, and tokens that, after π⁻¹, equal plaintext greedy generation —
 * or, for sampled requests (temperature above 0, a seed), the same tokens the same request gave in a
 * run without a crash. Each kill must have interrupted generations: chunks of theirs committed before
 * the kill, their final record written after the restart.
 *
 * <p>{@code -Deestream.gencrash.generations=N}, {@code -Deestream.gencrash.kills=K} and
 * {@code -Deestream.gencrash.seconds=S} (the sending window) size it; the long reliability profile
 * runs 500 generations through 3 kills.
 */
@Tag("integration")
class GenerationCrashTest {
    private static final int GENERATIONS = Integer.getInteger("eestream.gencrash.generations", 64);
    private static final int KILLS = Integer.getInteger("eestream.gencrash.kills", 2);
    private static final int SEND_SECONDS = Integer.getInteger("eestream.gencrash.seconds", 20);
    private static final String MODEL = "crash-chat";
    private static final String REPLIES = "gencrash.replies";
    private static final int VOCAB = 128;
    private static final int CONTEXT = 256;
    private static final int MAX_PROMPT = 24;
    /**
     * New tokens per request: 100 to 180, so a generation streams for a while. The decoder is sized so
     * that this takes a good part of a second here: with a smaller one, a whole generation fits between
     * two commits and no kill can land in the middle of one (hidden 256 and 4 layers once gave 5 chunks per
     * generation on an idle CI machine, and kill 2 found none streaming; hidden 384 and 6 layers give about 27).
     */
    private static final int MIN_NEW_TOKENS = 100;
    private static final int MAX_NEW_TOKENS = 180;
    /** Every 4th request is sampled, every 5th greedy one stops at a stop id. */
    private static final int SAMPLED_EVERY = 4;
    private static final int STOP_EVERY = 5;

    @TempDir
    Path work;

    private LocalMode infrastructure;
    private final List<ChildProcessor> children = new ArrayList<>();
    private final EeKey key = EeKey.generate();

    /** A request and what it must give: the plaintext ids ({@code null} for a sampled one) and finish reason. */
    private record Planned(InferenceRequest request, long[] expectedPlain, FinishReason reason) {
        String id() {
            return request.getRequestId();
        }

        boolean sampled() {
            return expectedPlain == null;
        }
    }

    /** A SIGKILL: the processor's clock before it was sent and after the process was gone. */
    private record Kill(long beforeMillis, long goneMillis) {
    }

    @BeforeEach
    void startKafka() throws Exception {
        infrastructure = LocalMode.startInfrastructure(new LocalMode.Options(0, 0, work.resolve("models"), work.resolve("data"), Map.of()));
        infrastructure.kafka().createTopic(REPLIES, 3);
    }

    @AfterEach
    void stop() throws Exception {
        for (ChildProcessor c : children) {
            c.close();
        }
        infrastructure.close();
    }

    @Test
    void streamedGenerationsKeepEveryChunkOnceAndInOrderThroughSigkills() throws Exception {
        var source = SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(VOCAB)
                .hiddenSize(384).layers(6).heads(8).kvHeads(4).intermediateSize(768).contextLength(CONTEXT).seed(9).build());
        ModelTransformer.Result ee = ModelTransformer.transform(source,
                TransformSpec.builder(Task.GENERATE).key(key).hiddenPermutation(true).modelId(MODEL).build());
        ModelTransformer.Result plain = ModelTransformer.transform(source, TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        ModelBundle.in(work.resolve("models"), MODEL).write(ee.modelBytes(), ee.manifest(), false);
        Permutation pi = key.vocabPermutation(VOCAB);
        long started = System.nanoTime();
        // Plaintext greedy generation, in this JVM while the processor starts in its own.
        CompletableFuture<List<Planned>> planning = CompletableFuture.supplyAsync(() -> plan(plain, pi, new Random(2026)));

        Map<String, String> settings = ReliabilityFixture.processorSettings(infrastructure, work, "gencrash");
        settings.put("processing.guarantee", "exactly_once_v2");
        // Static membership and a short session: a restarted instance takes its partitions back at once.
        settings.put("group.instance.id", "gencrash-instance");
        settings.put("session.timeout.ms", "6000");
        settings.put("heartbeat.interval.ms", "1000");
        settings.put("generate.stream.interval.ms", "20");
        // Chunks become visible at each commit: with Kafka's 100 ms, a generation of this tiny model can
        // start and end between two commits, and none would be seen (and killed) half-way.
        settings.put("commit.interval.ms", "20");

        try (CommittedReplies replies = CommittedReplies.follow(infrastructure, REPLIES, "gencrash-check")) {
            long incarnation = startRunning(settings, "processor did not start:\n");
            List<Planned> planned = planning.get(5, TimeUnit.MINUTES);
            Map<String, Planned> byId = new HashMap<>();
            planned.forEach(p -> byId.put(p.id(), p));

            // The generations at an even pace, while the processor is killed and restarted.
            AtomicInteger sent = new AtomicInteger();
            List<InferenceRequest> requests = planned.stream().map(Planned::request).toList();
            Thread producer = new Thread(() -> produce(requests, SEND_SECONDS, sent), "gencrash-producer");
            long sendStart = System.currentTimeMillis();
            producer.start();
            List<Kill> kills = killMidGeneration(replies, byId, settings, sendStart, incarnation);

            // The sampled requests again, on the last processor, which is not killed (other ids, the same
            // seeds): what their interrupted twins must have given.
            List<Planned> references = planned.stream().filter(Planned::sampled).map(p -> new Planned(request("ref-" + p.id(),
                    p.request().getTokenIds(), p.request().getGeneration()), null, p.reason())).toList();
            AtomicInteger referencesSent = new AtomicInteger();
            produce(references.stream().map(Planned::request).toList(), 0, referencesSent);
            producer.join(TimeUnit.SECONDS.toMillis(SEND_SECONDS + 120));
            assertEquals(GENERATIONS, sent.get(), "every request was sent");
            assertEquals(references.size(), referencesSent.get(), "every reference request was sent");
            List<String> ids = new ArrayList<>(byId.keySet());
            references.forEach(p -> ids.add(p.id()));
            awaitFinished(replies, ids, 240);
            double finishedAfter = (System.currentTimeMillis() - sendStart) / 1e3;
            awaitQuiet(replies);

            Map<String, List<InferenceResponse>> byRequest = replies.byRequest();
            Figures figures = Figures.of(planned, byRequest, kills);
            System.out.printf("generation crash test: %d streamed generations sent (%d sampled, %d with a stop id), %d SIGKILLs, "
                    + "%d records read (%d chunks, %d final), %d answered, %d lost, %d doubled; interrupted per kill %s "
                    + "(%d generations, %d sampled), their chunks committed before the kill %s; "
                    + "all finished %.1f s after sending began; %.1f s in all%n",
                    GENERATIONS, references.size(), planned.stream().filter(p -> p.reason() == FinishReason.STOP).count(), KILLS,
                    figures.records, figures.chunks, figures.finals, figures.answered, figures.lost, figures.doubled,
                    Arrays.toString(figures.interrupted), figures.interruptedRequests, figures.sampledInterrupted,
                    Arrays.toString(figures.chunksBeforeKill), finishedAfter, (System.nanoTime() - started) / 1e9);

            assertEquals(0, figures.lost, "no generation lost or cut");
            assertEquals(0, figures.doubled, "no chunk and no final record twice");
            for (Planned p : references) {
                assertStreamedOnceInOrder(p, byRequest.get(p.id()));
            }
            for (Planned p : planned) {
                List<Long> cipher = assertStreamedOnceInOrder(p, byRequest.get(p.id()));
                if (p.sampled()) {
                    assertEquals(concatenated(byRequest.get("ref-" + p.id())), cipher,
                            p.id() + ": a sampled generation through a crash equals the same request without one");
                } else {
                    long[] decrypted = cipher.stream().mapToLong(id -> pi.invert(id.intValue())).toArray();
                    assertEquals(Arrays.toString(p.expectedPlain()), Arrays.toString(decrypted),
                            p.id() + ": after π⁻¹, equal to plaintext greedy generation");
                }
            }
            for (int k = 0; k < KILLS; k++) {
                assertTrue(figures.interrupted[k] > 0, "kill " + (k + 1) + " interrupted no generation: chunks committed "
                        + "before it and a final record after it");
            }
            assertTrue(figures.sampledInterrupted > 0, "no sampled generation was interrupted, so regeneration was not shown deterministic");
        }
    }

    /**
     * The requests: random prompts, 100 to 180 new tokens, all streamed. Greedy ones carry their
     * plaintext greedy generation; every {@link #STOP_EVERY}th stops at the id it generates near its
     * middle; every {@link #SAMPLED_EVERY}th is sampled with a seed of its own.
     */
    private static List<Planned> plan(ModelTransformer.Result plain, Permutation pi, Random random) {
        List<long[]> prompts = new ArrayList<>();
        for (int i = 0; i < GENERATIONS; i++) {
            long[] prompt = new long[1 + random.nextInt(MAX_PROMPT)];
            for (int k = 0; k < prompt.length; k++) {
                prompt[k] = random.nextInt(VOCAB);
            }
            prompts.add(prompt);
        }
        // Greedy generation of MAX_NEW_TOKENS; each request's own is a prefix of it.
        List<long[]> greedy = new ArrayList<>();
        try (DecoderSession reference = DecoderSession.open(plain.modelBytes(), plain.manifest())) {
            for (int from = 0; from < prompts.size(); from += 64) {
                for (Generation g : reference.greedy(prompts.subList(from, Math.min(prompts.size(), from + 64)), MAX_NEW_TOKENS, Set.of())) {
                    greedy.add(g.ids());
                }
            }
        }
        List<Planned> planned = new ArrayList<>();
        for (int i = 0; i < GENERATIONS; i++) {
            int newTokens = MIN_NEW_TOKENS + random.nextInt(MAX_NEW_TOKENS - MIN_NEW_TOKENS + 1);
            GenerationParams.Builder params = GenerationParams.newBuilder().setMaxNewTokens(newTokens).setStream(true);
            long[] expected = Arrays.copyOf(greedy.get(i), newTokens);
            FinishReason reason = FinishReason.LENGTH;
            String id;
            if (i % SAMPLED_EVERY == SAMPLED_EVERY - 1) {
                id = "s-" + i;
                params.setTemperature(0.9f).setTopK(40).setTopP(0.95f).setSeed(random.nextLong());
                expected = null;
            } else if (i % STOP_EVERY == 0) {
                id = "t-" + i;
                long stop = expected[newTokens / 2];
                int at = 0;
                while (expected[at] != stop) {
                    at++;
                }
                expected = Arrays.copyOf(expected, at + 1);
                params.setStopTokenIds(List.of((long) pi.apply((int) stop)));
                reason = FinishReason.STOP;
            } else {
                id = "g-" + i;
            }
            List<Long> cipher = new ArrayList<>();
            for (long t : prompts.get(i)) {
                cipher.add((long) pi.apply((int) t));
            }
            planned.add(new Planned(request(id, cipher, params.build()), expected, reason));
        }
        return planned;
    }

    private static InferenceRequest request(String id, List<Long> cipherPrompt, GenerationParams params) {
        return InferenceRequest.newBuilder().setRequestId(id).setModelId(MODEL).setTokenIds(cipherPrompt).setReplyTopic(REPLIES)
                .setCreatedAt(Instant.now()).setGeneration(params).build();
    }

    /**
     * The request's records are its chunks numbered 0, 1, 2 … in order, then one final record, OK, with
     * the expected finish reason and counts; returns the ciphertext ids they carry, concatenated.
     */
    private static List<Long> assertStreamedOnceInOrder(Planned p, List<InferenceResponse> records) {
        assertTrue(records != null && !records.isEmpty(), p.id() + " was answered");
        for (int chunk = 0; chunk < records.size(); chunk++) {
            InferenceResponse r = records.get(chunk);
            assertEquals(ResponseStatus.OK, r.getStatus(), p.id() + ": " + r.getError());
            assertEquals(chunk, r.getChunk(), p.id() + ": chunks in order, each once");
            assertEquals(chunk == records.size() - 1, r.getFinalChunk(), p.id() + ": one final record, the last");
        }
        List<Long> cipher = concatenated(records);
        InferenceResponse last = records.get(records.size() - 1);
        assertEquals(p.reason(), last.getFinishReason(), p.id() + " finish reason");
        assertEquals(p.request().getTokenIds().size(), last.getPromptTokens(), p.id() + " prompt tokens");
        assertEquals(cipher.size(), last.getGeneratedTokens(), p.id() + ": the tokens counted are the tokens sent");
        if (p.sampled()) {
            assertEquals(p.request().getGeneration().getMaxNewTokens(), cipher.size(), p.id() + " generated tokens");
        }
        return cipher;
    }

    private static List<Long> concatenated(List<InferenceResponse> records) {
        List<Long> out = new ArrayList<>();
        records.forEach(r -> out.addAll(r.getTokenIds()));
        return out;
    }

    /** What came back, counted per request, and what each kill interrupted. */
    private static final class Figures {
        int records;
        int chunks;
        int finals;
        int answered;
        /** Requests without a final record, or with a chunk number missing. */
        int lost;
        /** Requests with a chunk number or a final record more than once. */
        int doubled;
        /**
         * Per kill: generations with a chunk written by the killed process and the final record written
         * after it was gone.
         */
        int[] interrupted;
        /** Per kill: the chunks of those generations the killed process had committed. */
        int[] chunksBeforeKill;
        /** Generations interrupted by at least one kill, and the sampled ones among them. */
        int interruptedRequests;
        int sampledInterrupted;

        static Figures of(List<Planned> planned, Map<String, List<InferenceResponse>> byRequest, List<Kill> kills) {
            Figures f = new Figures();
            f.interrupted = new int[kills.size()];
            f.chunksBeforeKill = new int[kills.size()];
            for (Planned p : planned) {
                List<InferenceResponse> records = byRequest.getOrDefault(p.id(), List.of());
                f.records += records.size();
                long finals = records.stream().filter(InferenceResponse::getFinalChunk).count();
                f.finals += (int) finals;
                f.chunks += records.size() - (int) finals;
                long distinct = records.stream().mapToInt(InferenceResponse::getChunk).distinct().count();
                int highest = records.stream().mapToInt(InferenceResponse::getChunk).max().orElse(-1);
                f.answered += finals > 0 ? 1 : 0;
                f.lost += finals == 0 || distinct < highest + 1 ? 1 : 0;
                f.doubled += finals > 1 || distinct < records.size() ? 1 : 0;
                boolean interruptedOnce = false;
                for (int k = 0; k < kills.size(); k++) {
                    Kill kill = kills.get(k);
                    // Chunks the killed process wrote: after the previous one was gone, before this kill.
                    long from = k == 0 ? Long.MIN_VALUE : kills.get(k - 1).goneMillis();
                    int before = count(records, r -> !r.getFinalChunk() && r.getRespondedAt().toEpochMilli() > from
                            && r.getRespondedAt().toEpochMilli() < kill.beforeMillis());
                    boolean finishedAfter = records.stream()
                            .anyMatch(r -> r.getFinalChunk() && r.getRespondedAt().toEpochMilli() > kill.goneMillis());
                    if (before > 0 && finishedAfter) {
                        f.interrupted[k]++;
                        f.chunksBeforeKill[k] += before;
                        interruptedOnce = true;
                    }
                }
                f.interruptedRequests += interruptedOnce ? 1 : 0;
                f.sampledInterrupted += interruptedOnce && p.sampled() ? 1 : 0;
            }
            return f;
        }

        private static int count(List<InferenceResponse> records, Predicate<InferenceResponse> which) {
            return (int) records.stream().filter(which).count();
        }
    }

    /**
     * Kills the running processor {@link #KILLS} times, each at a random moment of its share of the
     * sending window once a sampled generation is early in its streaming, and starts it again.
     */
    private List<Kill> killMidGeneration(CommittedReplies replies, Map<String, Planned> byId, Map<String, String> settings,
            long sendStart, long runningSince) throws Exception {
        Random moments = new Random(11);
        long share = SEND_SECONDS * 1000L / KILLS;
        long incarnation = runningSince;
        List<Kill> kills = new ArrayList<>();
        for (int k = 0; k < KILLS; k++) {
            long earliest = sendStart + k * share + share / 4 + moments.nextInt((int) (share / 2));
            Thread.sleep(Math.max(0, earliest - System.currentTimeMillis()));
            awaitEarlyInASampledGeneration(replies, byId, incarnation, k + 1);
            long before = System.currentTimeMillis();
            children.get(children.size() - 1).kill();
            kills.add(new Kill(before, System.currentTimeMillis()));
            startRunning(settings, "restart " + (k + 1) + " did not come up:\n");
            // Records stamped after the kill can only come from the new process, also those it wrote before the
            // test saw it running: a fast machine may stream a whole backlog's generations in that gap.
            incarnation = before;
        }
        return kills;
    }

    /** Reads on until 3 s pass without a record, so late duplicates would be read too. */
    private static void awaitQuiet(CommittedReplies replies) throws InterruptedException {
        int seen;
        do {
            seen = replies.records();
            Thread.sleep(3_000);
        } while (replies.records() != seen);
    }

    /** Starts the processor in a child JVM and waits until it runs; returns when it was running (its clock). */
    private long startRunning(Map<String, String> settings, String what) throws Exception {
        ChildProcessor child = ChildProcessor.start(settings);
        children.add(child);
        assertTrue(child.awaitRunning(120), what + child.log());
        return System.currentTimeMillis();
    }

    /**
     * Waits until the running processor has committed chunks of a sampled generation that has not yet
     * made half of its tokens: a kill now interrupts a generation whose regeneration must draw the
     * same tokens, and with hundreds of tokens to go it is not finishing at the very moment.
     */
    private void awaitEarlyInASampledGeneration(CommittedReplies replies, Map<String, Planned> byId, long sinceMillis, int kill)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Predicate<InferenceResponse> early = r -> {
            Planned p = byId.get(r.getRequestId());
            return p != null && p.sampled() && r.getRespondedAt().toEpochMilli() >= sinceMillis
                    && r.getGeneratedTokens() < p.request().getGeneration().getMaxNewTokens() / 2;
        };
        while (replies.streaming(early) < 1) {
            replies.checkReading();
            assertTrue(System.nanoTime() < deadline, "kill " + kill + ": no sampled generation was seen streaming within 60 s, "
                    + "so a kill would not land mid-generation (" + replies.records() + " records read; " + summary(replies) + "):\n"
                    + children.get(children.size() - 1).log());
            Thread.sleep(5);
        }
    }

    /** What the committed records say so far: records by status and final flag, and one error, for a failure message. */
    private static String summary(CommittedReplies replies) {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        String error = null;
        for (List<InferenceResponse> records : replies.byRequest().values()) {
            for (InferenceResponse r : records) {
                counts.merge(r.getStatus() + (r.getFinalChunk() ? " final " + r.getFinishReason() : " chunk"), 1, Integer::sum);
                if (error == null && r.getError() != null) {
                    error = r.getError();
                }
            }
        }
        return counts + (error == null ? "" : ", e.g. '" + error + "'");
    }

    /** Waits until every one of {@code ids} has its final record; fails after {@code seconds}. */
    private void awaitFinished(CommittedReplies replies, List<String> ids, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (replies.finished(ids) < ids.size()) {
            replies.checkReading();
            assertTrue(System.nanoTime() < deadline, replies.finished(ids) + " of " + ids.size() + " generations finished within "
                    + seconds + " s (" + replies.records() + " records read):\n" + children.get(children.size() - 1).log());
            Thread.sleep(50);
        }
    }

    /** Sends the requests evenly over {@code seconds} (at once for 0), counting what the broker took. */
    private void produce(List<InferenceRequest> requests, int seconds, AtomicInteger sent) {
        Map<String, Object> cfg = new HashMap<>(infrastructure.clientProperties());
        cfg.put("enable.idempotence", "true");
        cfg.put("acks", "all");
        long start = System.nanoTime();
        try (KafkaProducer<String, InferenceRequest> producer = new KafkaProducer<>(cfg, Topics.REQUESTS.keySerde().serializer(),
                Topics.REQUESTS.valueSerializer(cfg))) {
            for (int i = 0; i < requests.size(); i++) {
                long wait = start + (long) (i * (seconds * 1e9 / requests.size())) - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                InferenceRequest r = requests.get(i);
                producer.send(new ProducerRecord<>(Topics.REQUESTS.name(), r.getRequestId(), r), (m, e) -> {
                    if (e == null) {
                        sent.incrementAndGet();
                    }
                });
            }
            producer.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
