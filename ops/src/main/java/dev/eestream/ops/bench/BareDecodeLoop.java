package dev.eestream.ops.bench;

import dev.eestream.runtime.session.DecoderSession;
import dev.eestream.runtime.session.DecoderState;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy decoding of a backlog straight on ONNX Runtime, with at most {@code maxSequences}
 * sequences at once, as the processor's decode loop schedules them but without Kafka, state store
 * or threads: the yardstick of the generation pipeline benchmark. Continuous batching prefills new
 * sequences between steps as others finish; static batching starts the next batch only when the
 * whole last one has finished.
 */
final class BareDecodeLoop {
    /** Generated ids per request, and when each finished, in nanoseconds from the start. */
    record Result(long[][] ids, long[] doneNanos) {
        long tokens() {
            long n = 0;
            for (long[] r : ids) {
                n += r.length;
            }
            return n;
        }
    }

    private BareDecodeLoop() {
    }

    static Result run(DecoderSession session, GenerateWorkload work, int maxSequences, boolean continuous) {
        int n = work.size();
        int context = session.manifest().maxSequenceLength();
        List<List<Long>> generated = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            generated.add(new ArrayList<>());
        }
        long[] done = new long[n];
        long start = System.nanoTime();
        int next = 0;
        List<Integer> running = new ArrayList<>();
        List<DecoderState> states = new ArrayList<>();
        while (next < n || !running.isEmpty()) {
            if (continuous || running.isEmpty()) {
                List<long[]> prompts = new ArrayList<>();
                while (next < n && running.size() + prompts.size() < maxSequences) {
                    prompts.add(work.cipherPrompt(next));
                    running.add(next++);
                }
                if (!prompts.isEmpty()) {
                    states.addAll(session.prefill(prompts));
                }
            }
            List<Integer> continuing = new ArrayList<>();
            List<DecoderState> continuingStates = new ArrayList<>();
            long[] feed = new long[running.size()];
            for (int k = 0; k < running.size(); k++) {
                int i = running.get(k);
                DecoderState s = states.get(k);
                long id = s.argmax();
                generated.get(i).add(id);
                if (generated.get(i).size() >= work.maxNewTokens(i) || s.length() + 1 >= context) {
                    done[i] = System.nanoTime() - start;
                } else {
                    feed[continuing.size()] = id;
                    continuing.add(i);
                    continuingStates.add(s);
                }
            }
            running = continuing;
            states = continuing.isEmpty() ? new ArrayList<>()
                    : new ArrayList<>(session.step(continuingStates, java.util.Arrays.copyOf(feed, continuing.size())));
        }
        long[][] ids = new long[n][];
        for (int i = 0; i < n; i++) {
            ids[i] = generated.get(i).stream().mapToLong(Long::longValue).toArray();
        }
        return new Result(ids, done);
    }
}
