package dev.eestream.ops.commands;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.model.BundledModel;
import dev.eestream.core.model.ClassLabels;
import dev.eestream.core.model.ClassifierKind;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.LengthBuckets;
import dev.eestream.core.model.ModelEncryptor;
import dev.eestream.core.model.ModelWriter;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.Pooling;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.TokenFrequencies;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.ops.support.KeyOptions;
import dev.eestream.ops.support.ModelReadingOptions;
import dev.eestream.ops.support.SourceModels;
import dev.eestream.ops.support.StageProgress;
import dev.eestream.ops.support.Tokenizers;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "encrypt-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a plaintext ONNX transformer into its Equivariant-Encryption form for one task.",
            "Writes OUT/model.onnx (the only thing a server ever gets; with OUT/model.onnx_data for a large model),",
            "OUT/manifest.json (server-safe facts) and, beside the directory, OUT.client.json (label names and tokenizer",
            "for the client; owner-only). For classify, a fine-tuned classifier (an output logits [batch, C], as Hugging",
            "Face exports AutoModelForSequenceClassification) keeps its own head, with its class rows permuted; any other",
            "model gets a zero-shot head that compares its sentence embedding with those of the labels. A model exported",
            "with external data (model.onnx + model.onnx_data) is read with its data files, which must lie beside it."})
public final class EncryptModelCommand implements Callable<Integer> {
    private static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    @Mixin
    KeyOptions key;

    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "An .onnx file (its external data files, if any, beside it), or 'all-minilm-l6-v2' for the model "
                    + "bundled with eestream.")
    String model;

    @Option(names = "--tokenizer", paramLabel = "TOKENIZER",
            description = "The model's tokenizer.json (not needed for a bundled model).")
    String tokenizer;

    @Option(names = "--task", required = true, paramLabel = "TASK",
            description = "classify (a fine-tuned classifier with its own head, output logits [batch, C]: its logits, "
                    + "permuted by the label permutation; any other model: zero-shot scores over --labels), embed (sentence "
                    + "embedding) or generate (a decoder in the optimum text-generation-with-past layout: logits permuted by "
                    + "the vocabulary permutation, KV cache kept).")
    String task;

    @Option(names = "--labels", paramLabel = "\"a,b,c\"",
            description = "Comma-separated label names (classify): for a model with its own head, one per class in class "
                    + "order; for zero-shot, the texts the documents are compared with.")
    String labels;

    @Option(names = "--config", paramLabel = "config.json",
            description = "The model's Hugging Face config.json (classify, instead of --labels): its id2label names the "
                    + "classes of a model with its own head.")
    Path config;

    @Option(names = "--tokenizer-config", paramLabel = "FILE",
            description = "The model's tokenizer_config.json (generate): its BOS/EOS and end-of-turn ids and chat template go "
                    + "into the client profile.")
    Path tokenizerConfig;

    @Option(names = "--hidden-permutation", negatable = true, paramLabel = "",
            description = "Apply ρ along the residual stream (default: on for embed, off otherwise).")
    Boolean hiddenPermutation;

    @Option(names = "--pooling", paramLabel = "POOLING",
            description = "How embed and zero-shot classify pool the token states into one vector, as the model was "
                    + "trained: mean (masked mean: all-MiniLM, e5) or cls (the first token: BGE) (default: mean).")
    String pooling;

    @Option(names = "--homophones", paramLabel = "N",
            description = "Give each token about N ciphertext ids on average (2-64), drawn at random per occurrence, so the same "
                    + "text never encrypts the same way twice; the embedding rows (and a generation head's rows) are copied to "
                    + "match and outputs stay exact. With --homophone-corpus frequent tokens get more ids, which flattens "
                    + "the ids' frequencies; without it every token gets N. The counts go to the client profile only. "
                    + "Measured against a homophonic-cipher solver: 8 held it to 3 % of 10^6 ids under one key, 4 did not; "
                    + "use 8 and rotate the key before 10^6 ids (README, Threat model) (default: 1, no homophones).")
    Integer homophones;

    @Option(names = "--homophone-corpus", paramLabel = "FILE",
            description = "UTF-8 text, one text per line, like the traffic the model will see: token frequencies for "
                    + "--homophones.")
    Path homophoneCorpus;

    @Option(names = "--length-buckets", paramLabel = "LIST",
            description = "Hide request lengths (classify, embed): clients pad each request to the smallest of these lengths "
                    + "that holds it (the model's maximum length is always one) with filler after its end token, which the "
                    + "processor cuts off before inference, so outputs and inference cost stay as they were. A comma list "
                    + "such as 16,32,64,128, or powers-of-two. The manifest then lists the end token's ciphertext ids, "
                    + "which tells the processor each request's length (default: off).")
    String lengthBuckets;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--model-id", paramLabel = "ID", description = "Model id (default: the output directory's name).")
    String modelId;

    @Option(names = "--external-data", paramLabel = "WHEN", defaultValue = "auto",
            description = "Write the EE model's weights to OUT/model.onnx_data: auto (when they exceed 1.5 GiB; one file "
                    + "cannot exceed 2 GiB), always or never (default: ${DEFAULT-VALUE}).")
    String externalData;

    @Option(names = "--force", description = "Replace an existing model in --out.")
    boolean force;

    @Mixin
    ModelReadingOptions reading;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        Task t = Task.parse(task);
        ModelWriter.ExternalDataMode dataMode = ModelWriter.ExternalDataMode.parse(externalData);
        String id = modelId != null ? modelId : out.toAbsolutePath().normalize().getFileName().toString();
        if (!MODEL_ID.matcher(id).matches()) {
            throw new EeException("model id '" + id + "' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        ModelBundle bundle = ModelBundle.at(out);
        if (!force && bundle.existsAny()) {
            throw new EeException("output directory " + out + " already holds a model; pass --force to replace it");
        }
        if (labels != null && config != null) {
            throw new EeException("give the label names once: --labels or --config, not both");
        }
        List<String> labelList = labels != null ? ClassLabels.fromList(labels) : config != null ? ClassLabels.fromConfig(config) : null;
        if (t == Task.CLASSIFY && labelList == null) {
            throw new EeException("--task classify needs --labels \"a,b,c\" (or --config config.json for a model with its own "
                    + "classifier head)");
        }
        if (t != Task.CLASSIFY && labelList != null) {
            throw new EeException((labels != null ? "--labels" : "--config") + " only applies to --task classify");
        }
        if (t == Task.GENERATE && pooling != null) {
            throw new EeException("--pooling only applies to --task embed and classify");
        }
        Pooling poolingMode = pooling == null ? Pooling.MEAN : Pooling.parse(pooling);
        if (t != Task.GENERATE && tokenizerConfig != null) {
            throw new EeException("--tokenizer-config only applies to --task generate");
        }
        if (homophoneCorpus != null && homophones == null) {
            throw new EeException("--homophone-corpus only applies with --homophones N");
        }
        if (homophones != null && (homophones < 1 || homophones > 64)) {
            throw new EeException("--homophones must be between 1 and 64 ids per token, got " + homophones);
        }
        LengthBuckets buckets = lengthBuckets == null ? null : LengthBuckets.parse(lengthBuckets);
        if (buckets != null && t == Task.GENERATE) {
            throw new EeException("--length-buckets only applies to --task classify and embed: a generation prompt has no "
                    + "end token after which the processor could cut the padding");
        }
        if (buckets != null && (homophones == null || homophones < 2)) {
            // Measured: without homophones [SEP] is one id in every request, and finding it gives every length away.
            spec.commandLine().getErr().println("length buckets without homophones: [SEP] is then one id that stands in "
                    + "every request, and a reader of the topic who looks for it learns every length; add --homophones N "
                    + "--homophone-corpus FILE");
        }
        EeKey k = key.load();
        String tokenizerName = SourceModels.tokenizerFor(model, tokenizer);
        Homophones allotted = null;
        ModelTransformer.Result result;
        try (StageProgress progress = new StageProgress("encrypt-model", t == Task.CLASSIFY ? 4 : 3)) {
            progress.stage("reading model");
            TokenizerJson tokenizerJson = Tokenizers.load(tokenizerName);
            // Read before the transform, so that a bad config fails fast and nothing is written.
            ClientProfile.Generation generation = tokenizerConfig == null ? null
                    : ClientProfile.Generation.of(TokenizerConfig.read(tokenizerConfig, tokenizerJson));
            if (homophones != null && homophones > 1) {
                if (homophoneCorpus != null) {
                    TokenFrequencies frequencies = TokenFrequencies.of(tokenizerJson, homophoneCorpus);
                    allotted = Homophones.proportional(frequencies.counts(), homophones);
                    spec.commandLine().getErr().printf("homophones: %d ids for %d tokens, allotted by %,d tokens of %,d texts "
                            + "in %s%n", allotted.slotCount(), allotted.vocabSize(), frequencies.tokens(), frequencies.texts(),
                            homophoneCorpus);
                } else {
                    allotted = Homophones.uniform(tokenizerJson.vocabSize(), homophones);
                    spec.commandLine().getErr().printf("homophones: %d ids for each token, without a corpus: repeats are "
                            + "hidden but frequent tokens still have frequent ids (give --homophone-corpus)%n", homophones);
                }
            }
            ModelProto source = SourceModels.read(model);
            long weights = ExternalData.weightBytes(source);
            TransformSpec transform = reading.applyTo(TransformSpec.builder(t).key(k).hiddenPermutation(hiddenPermutation)
                    .modelId(id).pooling(poolingMode).homophones(allotted)).build();
            try {
                result = ModelEncryptor.encrypt(source, tokenizerJson, transform, labelList, progress::stage);
                if (buckets != null) {
                    result = ModelEncryptor.withLengthBuckets(result, tokenizerJson, k, allotted);
                    // The longest request a client sends: the model's or the tokenizer's limit, whichever is shorter.
                    Integer own = tokenizerJson.truncationLength();
                    int longest = result.manifest().maxSequenceLength();
                    buckets = buckets.upTo(own == null ? longest : Math.min(longest, own));
                }
            } catch (OutOfMemoryError e) {
                source = null;
                throw new EeException(String.format(java.util.Locale.ROOT, "the Java heap (%.1f GB) is too small to encrypt "
                        + "a model with %.2f GB of weights; give it about twice the weights, e.g. EESTREAM_JAVA_OPTS=-Xmx%dg",
                        Runtime.getRuntime().maxMemory() / 1e9, weights / 1e9, (long) Math.ceil(2.2 * weights / (1L << 30))));
            }
            progress.stage("writing " + out);
            ModelWriter.write(bundle, result, dataMode, true);
            // A bundled tokenizer stays a name; a file becomes an absolute path, so the profile works from anywhere.
            String tokenizerRef = BundledModel.byId(tokenizerName).isPresent() ? tokenizerName
                    : Path.of(tokenizerName).toAbsolutePath().toString();
            ClientProfile.of(result, labelList, tokenizerRef, generation, allotted, buckets)
                    .write(ClientProfile.besides(out), true);
        }
        ModelManifest m = result.manifest();
        double seconds = (System.nanoTime() - started) / 1e9;
        ClassifierKind classifier = ClassifierKind.of(m);
        String taskDescription = classifier == null ? m.task()
                : m.task() + (classifier == ClassifierKind.OWN_HEAD ? ", the model's own head" : ", zero-shot");
        spec.commandLine().getOut().printf("wrote EE model '%s' (%s, %d outputs, hidden permutation %s, %s, key %s) to %s in "
                + "%.1f s%n", m.modelId(), taskDescription, m.outputWidth(), result.hiddenPermutation() ? "on" : "off",
                allotted == null ? "no homophones" : String.format(java.util.Locale.ROOT, "%.2f ids per token",
                        (double) allotted.slotCount() / allotted.vocabSize()), result.keyId(), out, seconds);
        if (buckets != null) {
            spec.commandLine().getOut().printf("  length buckets %s: clients pad each request to one of these lengths%n",
                    buckets);
        }
        String serverFiles = bundle.hasData() ? bundle.modelFile() + " + " + bundle.dataFile().getFileName() : bundle.modelFile().toString();
        spec.commandLine().getOut().printf("  server files: %s (%.1f MB), %s%n  client profile (owner-only, keep with the key): %s%n",
                serverFiles, bundle.modelSize() / 1e6, bundle.manifestFile(), ClientProfile.besides(out));
        return 0;
    }
}
