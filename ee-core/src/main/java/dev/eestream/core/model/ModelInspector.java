package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ModelInspection.Architecture;
import dev.eestream.core.model.ModelInspection.Attempt;
import dev.eestream.core.model.ModelInspection.Port;
import dev.eestream.core.model.ModelInspection.Problem;
import dev.eestream.core.model.ModelInspection.Roles;
import dev.eestream.core.model.ModelInspection.TaskOutcome;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.transform.ClassifierHead;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.model.transform.UnsupportedModelException;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Says what encrypting a model would do by doing it: every task's transform is run in memory, with a
 * throwaway key, without and with the hidden permutation, exactly as the encryption step runs it;
 * nothing is written. The rules stay in the transformer, so the inspection cannot disagree with it.
 */
public final class ModelInspector {
    /** Stands in for the context length of a graph without a position table (the real step takes the tokenizer's). */
    private static final int PLACEHOLDER_LENGTH = 512;
    private static final String MAX_LENGTH_SETTING = "maxSequenceLength";

    /**
     * The transform settings that change its outcome; null fields are found by analysis, as in the encryption step.
     *
     * @param tokenizerVocabSize the tokenizer's vocabulary size, checked against the embedding table, or null
     */
    public record Options(String idsInput, String attentionMaskInput, String sourceOutput, Integer maxSequenceLength,
            Integer tokenizerVocabSize) {
        public static Options defaults() {
            return new Options(null, null, null, null, null);
        }
    }

    private final ModelProto model;
    private final Options options;
    private final EeKey key = EeKey.generate();
    private final Map<Task, ModelManifest> manifests = new EnumMap<>(Task.class);
    private ModelTransformer.TokenEmbedding embedding;
    private boolean positionTableMissing;

    private ModelInspector(ModelProto model, Options options) {
        this.model = model;
        this.options = options;
    }

    /** Inspects an .onnx file, with its external data files beside it. */
    public static ModelInspection inspect(Path file, Options options) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new EeException("model file " + file + (Files.exists(file) ? " is not a file" : " does not exist"));
        }
        ModelProto raw = ModelTransformer.readFile(file);
        Path dir = file.toAbsolutePath().getParent();
        long diskBytes = Files.size(file);
        for (String location : ExternalData.locations(raw)) {
            Path data = dir.resolve(location).normalize();
            diskBytes += Files.isRegularFile(data) ? Files.size(data) : 0;
        }
        ModelProto model = ExternalData.inline(raw, dir, file.toString());
        return new ModelInspector(model, options).run(file.toString(), diskBytes);
    }

    /** Inspects a model bundled with eestream. */
    public static ModelInspection inspect(BundledModel bundled, Options options) throws IOException {
        byte[] bytes;
        try (InputStream in = bundled.openModel()) {
            bytes = in.readAllBytes();
        }
        ModelProto model = ModelTransformer.read(new ByteArrayInputStream(bytes), "bundled model " + bundled.id());
        return new ModelInspector(model, options).run(bundled.id(), bytes.length);
    }

    /** Inspects a model already in memory (its size on disk taken as its serialized size). */
    public static ModelInspection inspect(ModelProto model, String name, Options options) {
        return new ModelInspector(model, options).run(name, model.getSerializedSize());
    }

    private ModelInspection run(String name, long diskBytes) {
        try {
            embedding = ModelTransformer.tokenEmbedding(model, options.idsInput());
        } catch (EeException e) {
            embedding = null; // every task's transform fails on it too, and says why
        }
        List<TaskOutcome> tasks = new ArrayList<>();
        for (Task task : Task.values()) {
            tasks.add(outcome(task));
        }
        return new ModelInspection(name, diskBytes, ExternalData.weightBytes(model), parameters(), opset(), producer(),
                ports(model.getGraph().getInputList()), ports(model.getGraph().getOutputList()), roles(), architecture(), tasks);
    }

    private TaskOutcome outcome(Task task) {
        String classifier = null;
        int classes = 0;
        Problem headProblem = null;
        if (task == Task.CLASSIFY) {
            try {
                Optional<ClassifierHead> head = ClassifierHead.find(model, options.sourceOutput());
                classifier = head.isPresent() ? "own-head" : "zero-shot";
                classes = head.map(ClassifierHead::classCount).orElse(0);
            } catch (EeException e) {
                headProblem = problem(e);
            }
        }
        if (headProblem != null) {
            return new TaskOutcome(task.id(), false, headProblem, new Attempt(false, headProblem), false, null, 0);
        }
        boolean zeroShot = "zero-shot".equals(classifier);
        Attempt hidden = attempt(task, true, zeroShot);
        // Embed without ρ is always refused (its output would be in the plaintext basis): its default is ρ on.
        Attempt byDefault = task.hiddenPermutationByDefault() ? hidden : attempt(task, false, zeroShot);
        return new TaskOutcome(task.id(), byDefault.possible(), byDefault.problem(), hidden, task.hiddenPermutationByDefault(),
                classifier, classes);
    }

    private Attempt attempt(Task task, boolean hiddenPermutation, boolean zeroShot) {
        try {
            return transform(task, hiddenPermutation, zeroShot, options.maxSequenceLength());
        } catch (EeException e) {
            if (options.maxSequenceLength() == null && e.setting().filter(MAX_LENGTH_SETTING::equals).isPresent()) {
                // The encryption step takes the tokenizer's length then; whether the rest works is still worth knowing.
                positionTableMissing = true;
                try {
                    return transform(task, hiddenPermutation, zeroShot, PLACEHOLDER_LENGTH);
                } catch (EeException again) {
                    return new Attempt(false, problem(again));
                }
            }
            return new Attempt(false, problem(e));
        }
    }

    private Attempt transform(Task task, boolean hiddenPermutation, boolean zeroShot, Integer maxLength) {
        TransformSpec.Builder spec = TransformSpec.builder(task).key(key).hiddenPermutation(hiddenPermutation)
                .modelId("inspect").idsInput(options.idsInput()).attentionMaskInput(options.attentionMaskInput())
                .sourceOutput(options.sourceOutput()).maxSequenceLength(maxLength)
                .tokenizerVocabSize(options.tokenizerVocabSize());
        if (zeroShot && embedding != null) {
            spec.labelPrototypes(standInPrototypes(embedding.hiddenSize()));
        }
        ModelManifest manifest = ModelTransformer.transform(model, spec.build()).manifest();
        manifests.putIfAbsent(task, manifest);
        return Attempt.succeeded();
    }

    /**
     * Two unit vectors standing in for the label embeddings of a zero-shot head: the head is a MatMul
     * after pooling, so what the analysis proves does not depend on their values.
     */
    private static float[][] standInPrototypes(int hidden) {
        float[][] prototypes = new float[2][hidden];
        prototypes[0][0] = 1f;
        prototypes[1][hidden - 1] = 1f;
        return prototypes;
    }

    private static Problem problem(EeException e) {
        String node = e instanceof UnsupportedModelException unsupported ? unsupported.nodeName() : null;
        return new Problem(e.problem(), e.setting().orElse(null), node == null || node.isEmpty() ? null : node);
    }

    private boolean hasKvCache() {
        return model.getGraph().getInputList().stream().anyMatch(in -> in.getName().equals(KvCacheNames.past(0, true)));
    }

    private Architecture architecture() {
        String family = hasKvCache() ? "decoder" : embedding != null ? "encoder" : "unknown";
        ModelManifest manifest = manifests.getOrDefault(Task.GENERATE, manifests.values().stream().findFirst().orElse(null));
        if (manifest == null) {
            return new Architecture(family, embedding == null ? 0 : embedding.vocabSize(),
                    embedding == null ? 0 : embedding.hiddenSize(), 0, 0, 0, 0, 0);
        }
        int headSize = manifest.headSize();
        int heads = headSize > 0 && manifest.hiddenSize() % headSize == 0 ? manifest.hiddenSize() / headSize : 0;
        return new Architecture(family, manifest.vocabSize(), manifest.hiddenSize(),
                positionTableMissing ? 0 : manifest.maxSequenceLength(), manifest.layerCount(), heads, manifest.kvHeads(), headSize);
    }

    private Roles roles() {
        String positionIds = hasInput(KvCacheNames.POSITION_IDS) ? KvCacheNames.POSITION_IDS : null;
        Optional<ModelManifest> manifest = manifests.values().stream().findFirst();
        if (manifest.isPresent()) {
            return new Roles(manifest.get().idsInput(), manifest.get().attentionMaskInput(), manifest.get().tokenTypeIdsInput(),
                    positionIds);
        }
        String mask = options.attentionMaskInput() != null ? options.attentionMaskInput() : "attention_mask";
        String tokenTypes = model.getGraph().getInputList().stream().map(ValueInfoProto::getName)
                .filter(inputName -> inputName.contains("token_type")).findFirst().orElse(null);
        return new Roles(embedding == null ? null : embedding.idsInput(), hasInput(mask) ? mask : null, tokenTypes, positionIds);
    }

    private boolean hasInput(String name) {
        return model.getGraph().getInputList().stream().anyMatch(in -> in.getName().equals(name));
    }

    private long parameters() {
        long total = 0;
        for (TensorProto tensor : model.getGraph().getInitializerList()) {
            long elements = 1;
            for (long dim : tensor.getDimsList()) {
                elements *= dim;
            }
            total += elements;
        }
        return total;
    }

    private int opset() {
        return model.getOpsetImportList().stream().filter(imp -> imp.getDomain().isEmpty() || imp.getDomain().equals("ai.onnx"))
                .mapToInt(imp -> (int) imp.getVersion()).findFirst().orElse(0);
    }

    private String producer() {
        return (model.getProducerName() + " " + model.getProducerVersion()).trim();
    }

    private static List<Port> ports(List<ValueInfoProto> values) {
        List<Port> ports = new ArrayList<>();
        for (ValueInfoProto value : values) {
            TensorProto.DataType type = TensorProto.DataType.forNumber(value.getType().getTensorType().getElemType());
            List<String> shape = new ArrayList<>();
            for (TensorShapeProto.Dimension dim : value.getType().getTensorType().getShape().getDimList()) {
                shape.add(dim.hasDimValue() ? String.valueOf(dim.getDimValue()) : dim.hasDimParam() ? dim.getDimParam() : "?");
            }
            ports.add(new Port(value.getName(), type == null ? "?" : type.name().toLowerCase(Locale.ROOT), shape));
        }
        return ports;
    }
}
