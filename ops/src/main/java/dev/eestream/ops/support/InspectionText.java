package dev.eestream.ops.support;

import dev.eestream.core.model.ModelInspection;
import dev.eestream.core.model.ModelInspection.Architecture;
import dev.eestream.core.model.ModelInspection.Attempt;
import dev.eestream.core.model.ModelInspection.Port;
import dev.eestream.core.model.ModelInspection.Problem;
import dev.eestream.core.model.ModelInspection.TaskOutcome;
import dev.eestream.runtime.EeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** An inspection as aligned "key: value" lines for people; problems in the CLI's terms (flags, not settings). */
public final class InspectionText {
    private static final int KEY_WIDTH = 22;

    private final List<String> lines = new ArrayList<>();

    private InspectionText() {
    }

    public static String render(ModelInspection inspection, List<String> commandLines) {
        InspectionText text = new InspectionText();
        text.describe(inspection, commandLines);
        return String.join(System.lineSeparator(), text.lines) + System.lineSeparator();
    }

    private void describe(ModelInspection inspection, List<String> commandLines) {
        put("model", inspection.model());
        put("size on disk", megabytes(inspection.diskBytes()));
        put("weights", String.format(Locale.ROOT, "%s parameters, %s", count(inspection.parameters()),
                megabytes(inspection.weightBytes())));
        put("opset", inspection.opset() == 0 ? "(none imported)" : String.valueOf(inspection.opset()));
        put("producer", inspection.producer().isEmpty() ? "(not recorded)" : inspection.producer());
        put("family", family(inspection.architecture()));
        put("token ids", role(inspection, inspection.roles().tokenIds()));
        put("attention mask", role(inspection, inspection.roles().attentionMask()));
        put("token type ids", role(inspection, inspection.roles().tokenTypeIds()));
        put("position ids", role(inspection, inspection.roles().positionIds()));
        putAll("inputs", inspection.inputs().stream().map(InspectionText::port).toList());
        putAll("outputs", inspection.outputs().stream().map(InspectionText::port).toList());
        for (TaskOutcome outcome : inspection.tasks()) {
            put(outcome.task(), verdict(outcome));
            put("  hidden permutation", hidden(outcome));
        }
        putAll("encrypt-model", commandLines.isEmpty() ? List.of("(no task is possible)") : commandLines);
    }

    private void put(String key, String value) {
        lines.add(String.format(Locale.ROOT, "%-" + KEY_WIDTH + "s %s", key + ":", value));
    }

    private void putAll(String key, List<String> values) {
        if (values.isEmpty()) {
            put(key, "(none)");
            return;
        }
        put(key, values.get(0));
        values.stream().skip(1).forEach(value -> lines.add(" ".repeat(KEY_WIDTH + 1) + value));
    }

    private static String family(Architecture shape) {
        StringBuilder text = new StringBuilder(shape.family());
        if (shape.vocabSize() == 0) {
            return text.toString();
        }
        text.append(String.format(Locale.ROOT, " (vocabulary %d, hidden size %d", shape.vocabSize(), shape.hiddenSize()));
        if (shape.layers() > 0) {
            text.append(String.format(Locale.ROOT, ", %d layers, %s attention heads, %d KV heads of size %d", shape.layers(),
                    shape.attentionHeads() > 0 ? String.valueOf(shape.attentionHeads()) : "?", shape.kvHeads(), shape.headSize()));
        }
        text.append(shape.maxSequenceLength() > 0 ? ", max sequence length " + shape.maxSequenceLength()
                : ", no position table: max length from the tokenizer or --max-length");
        return text.append(')').toString();
    }

    private static String role(ModelInspection inspection, String name) {
        if (name == null) {
            return "-";
        }
        return inspection.inputs().stream().filter(port -> port.name().equals(name)).findFirst().map(InspectionText::port)
                .orElse(name);
    }

    private static String port(Port port) {
        return port.name() + " " + port.type() + " [" + String.join(", ", port.shape()) + "]";
    }

    private static String verdict(TaskOutcome outcome) {
        if (!outcome.possible()) {
            return "no: " + inCliTerms(outcome.problem());
        }
        if ("own-head".equals(outcome.classifier())) {
            return "yes, the model's own head (logits [batch, " + outcome.classes() + "]; name the classes with --config "
                    + "config.json or --labels)";
        }
        if ("zero-shot".equals(outcome.classifier())) {
            return "yes, zero-shot (cosine against the embeddings of the --labels texts)";
        }
        return "yes";
    }

    private static String hidden(TaskOutcome outcome) {
        Attempt hidden = outcome.hidden();
        if (!outcome.possible() && !hidden.possible() && hidden.problem().equals(outcome.problem())) {
            return "-";
        }
        String state = hidden.possible() ? "possible" : hidden.problem().node() != null
                ? "blocked by node '" + hidden.problem().node() + "': " + inCliTerms(hidden.problem())
                : "not possible: " + inCliTerms(hidden.problem());
        if (outcome.hiddenByDefault()) {
            return state + (hidden.possible() ? " (on, required)" : " (required)");
        }
        return state + (hidden.possible() ? " (off by default; --hidden-permutation turns it on)" : "");
    }

    private static String inCliTerms(Problem problem) {
        EeException error = problem.setting() == null ? new EeException(problem.message())
                : EeException.fixedBy(problem.setting(), problem.message());
        return UserErrors.describe(error);
    }

    private static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String count(long parameters) {
        return parameters >= 1_000_000 ? String.format(Locale.ROOT, "%.1f M", parameters / 1e6) : String.valueOf(parameters);
    }
}
