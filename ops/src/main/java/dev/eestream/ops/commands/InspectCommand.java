package dev.eestream.ops.commands;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ModelInspection;
import dev.eestream.core.model.ModelInspector;
import dev.eestream.ops.support.EncryptModelLines;
import dev.eestream.ops.support.InspectionText;
import dev.eestream.ops.support.ModelReadingOptions;
import dev.eestream.ops.support.Tokenizers;
import dev.eestream.runtime.EeException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Say what encrypt-model would do with a model, before any work: its token-id input and other "
                + "inputs, the tasks it can serve (classify with its own head or zero-shot, embed, generate), whether the "
                + "hidden permutation is possible or which node blocks it, its family and size, and the encrypt-model "
                + "command lines that would work. Every task's transform is run in memory with a throwaway key; nothing "
                + "is written.")
public final class InspectCommand implements Callable<Integer> {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "An .onnx file (its external data files, if any, beside it), or 'all-minilm-l6-v2'.")
    String modelArgument;

    @Option(names = "--model", paramLabel = "MODEL", description = "The same as the MODEL argument, as encrypt-model takes it.")
    String modelOption;

    @Option(names = "--tokenizer", paramLabel = "TOKENIZER",
            description = "The model's tokenizer.json, to check that it belongs to the model as encrypt-model does (optional).")
    String tokenizer;

    @Mixin
    ModelReadingOptions reading;

    @Option(names = "--json", description = "Print the facts as one JSON object, for machines.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String model = model();
        ModelInspector.Options options = reading.inspectorOptions(
                tokenizer == null ? null : Tokenizers.load(tokenizer).vocabSize());
        Optional<BundledModel> bundled = BundledModel.byId(model);
        ModelInspection inspection;
        try {
            inspection = bundled.isPresent() ? ModelInspector.inspect(bundled.get(), options)
                    : ModelInspector.inspect(Path.of(model), options);
        } catch (OutOfMemoryError e) {
            // The transforms copy what they rewrite, as encrypt-model does: about twice the weights at once.
            throw new EeException(String.format(Locale.ROOT, "the Java heap (%.1f GB) is too small to inspect %s; give it "
                    + "about twice the model's weights, e.g. EESTREAM_JAVA_OPTS=-Xmx16g", Runtime.getRuntime().maxMemory() / 1e9,
                    model));
        }
        List<String> commandLines = new EncryptModelLines(model, tokenizer, reading.given()).of(inspection);
        if (json) {
            JsonObject tree = GSON.toJsonTree(inspection).getAsJsonObject();
            tree.add("encryptModel", GSON.toJsonTree(commandLines));
            spec.commandLine().getOut().println(GSON.toJson(tree));
        } else {
            spec.commandLine().getOut().print(InspectionText.render(inspection, commandLines));
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    private String model() {
        if (modelArgument != null && modelOption != null) {
            throw new EeException("name the model once: as the argument or with --model, not both");
        }
        if (modelArgument == null && modelOption == null) {
            throw new EeException("name the model to inspect: eestream inspect MODEL.onnx (or all-minilm-l6-v2)");
        }
        return modelArgument != null ? modelArgument : modelOption;
    }
}
