package dev.eestream.ops.support;

import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ModelInspection;
import dev.eestream.core.model.ModelInspection.TaskOutcome;
import java.util.ArrayList;
import java.util.List;

/**
 * The encrypt-model command lines that would succeed on an inspected model, one per possible task,
 * carrying the model-reading options the inspection was given so the outcome is the same.
 *
 * @param model      the model as the user named it (a path or a bundled model id)
 * @param tokenizer  the --tokenizer value given, or null
 * @param passThrough the options that change the transform's outcome, as given (e.g. "--ids-input", "ids")
 */
public record EncryptModelLines(String model, String tokenizer, List<String> passThrough) {

    public List<String> of(ModelInspection inspection) {
        List<String> lines = new ArrayList<>();
        for (TaskOutcome outcome : inspection.tasks()) {
            if (outcome.possible()) {
                lines.add(line(outcome));
            }
        }
        return lines;
    }

    private String line(TaskOutcome outcome) {
        List<String> words = new ArrayList<>(List.of("eestream", "encrypt-model", "--key", "KEY", "--model", quoted(model)));
        if (tokenizer != null) {
            words.addAll(List.of("--tokenizer", quoted(tokenizer)));
        } else if (BundledModel.byId(model).isEmpty()) {
            words.addAll(List.of("--tokenizer", "tokenizer.json"));
        }
        words.addAll(List.of("--task", outcome.task()));
        if ("own-head".equals(outcome.classifier())) {
            words.addAll(List.of("--config", "config.json"));
        } else if ("zero-shot".equals(outcome.classifier())) {
            words.addAll(List.of("--labels", "\"a,b,c\""));
        } else if ("generate".equals(outcome.task())) {
            words.addAll(List.of("--tokenizer-config", "tokenizer_config.json"));
        }
        passThrough.forEach(word -> words.add(quoted(word)));
        words.addAll(List.of("--out", "DIR"));
        return String.join(" ", words);
    }

    private static String quoted(String word) {
        return word.matches("[A-Za-z0-9._/:=@%+-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }
}
