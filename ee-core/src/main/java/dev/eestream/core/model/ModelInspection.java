package dev.eestream.core.model;

import java.util.List;

/**
 * What encrypting a model would do, found by trying it ({@link ModelInspector}): the file, its inputs
 * and outputs, the shape of the network, and for each task whether the transform succeeds without
 * and with the hidden permutation ρ, and if not, why.
 *
 * @param model       the path or bundled model id inspected
 * @param diskBytes   the model file plus its external data files
 * @param weightBytes bytes of all initializer data
 * @param parameters  elements of all initializers
 * @param opset       the default-domain opset, or 0 when the model imports none
 * @param producer    producer name and version as the exporter wrote them (may be empty)
 */
public record ModelInspection(String model, long diskBytes, long weightBytes, long parameters, int opset, String producer,
        List<Port> inputs, List<Port> outputs, Roles roles, Architecture architecture, List<TaskOutcome> tasks) {

    /** A graph input or output: element type and shape, symbolic dimensions by name, unknown ones as "?". */
    public record Port(String name, String type, List<String> shape) {
    }

    /** Which inputs eestream fills with what; null when the model has no such input (or it could not be found). */
    public record Roles(String tokenIds, String attentionMask, String tokenTypeIds, String positionIds) {
    }

    /**
     * The network's shape as the transform sees it. Decoder fields are 0 for an encoder (or a decoder
     * whose generate transform failed); {@code attentionHeads} is hidden / head size, the usual layout.
     *
     * @param family            "encoder" (no KV cache), "decoder" (KV-cache inputs) or "unknown" (no token-id input found)
     * @param maxSequenceLength from the graph's position table, or 0 when the graph has none
     */
    public record Architecture(String family, int vocabSize, int hiddenSize, int maxSequenceLength, int layers,
            int attentionHeads, int kvHeads, int headSize) {
    }

    /**
     * One task, tried with a throwaway key as encrypt-model would run it.
     *
     * @param task            classify, embed or generate
     * @param possible        whether encrypt-model succeeds with its default hidden permutation for this task
     * @param problem         why not (null when possible)
     * @param hidden          the transform with ρ on
     * @param hiddenByDefault whether encrypt-model turns ρ on for this task unless told otherwise
     * @param classifier      for classify: "own-head" or "zero-shot"; null otherwise
     * @param classes         for an own head, its class count C; else 0
     */
    public record TaskOutcome(String task, boolean possible, Problem problem, Attempt hidden, boolean hiddenByDefault,
            String classifier, int classes) {
    }

    /** One transform tried: whether it succeeded, else the problem. */
    public record Attempt(boolean possible, Problem problem) {
        static Attempt succeeded() {
            return new Attempt(true, null);
        }
    }

    /**
     * Why a transform refused.
     *
     * @param message what is wrong, in the library's words
     * @param setting the transform setting that fixes it (e.g. {@code idsInput}), or null
     * @param node    the graph node the analysis stopped at, or null when no one node is to blame
     */
    public record Problem(String message, String setting, String node) {
    }

    /** The outcome for a task. */
    public TaskOutcome task(String id) {
        return tasks.stream().filter(outcome -> outcome.task().equals(id)).findFirst().orElseThrow();
    }
}
