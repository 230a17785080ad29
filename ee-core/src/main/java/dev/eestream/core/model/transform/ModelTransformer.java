package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a plaintext ONNX transformer into its Equivariant-Encryption form for one task: π on the
 * token-embedding rows (and any vocabulary head), optionally ρ along the residual stream, σ on the
 * classifier's class axis, the task head appended in-graph, and every other output removed. For
 * classify, a model with its own classifier head ({@link ClassifierHead}: a fine-tuned
 * {@code logits} [batch, C] output) keeps it, with σ on its class rows and bias; any other model gets
 * the zero-shot head (cosine against label prototypes).
 */
public final class ModelTransformer {
    private static final Set<Integer> ID_TYPES = Set.of(TensorProto.DataType.INT64_VALUE, TensorProto.DataType.INT32_VALUE);

    private ModelTransformer() {
    }

    /** The outcome: the model a server may hold, and its manifest. */
    public record Result(ModelProto model, ModelManifest manifest) {
        /** The model as one self-contained file; see {@code ModelWriter} for a model over protobuf's 2 GB limit. */
        public byte[] modelBytes() {
            if (ExternalData.weightBytes(model) >= ExternalData.PROTOBUF_LIMIT) {
                throw EeException.fixedBy("externalData", "the EE model is over protobuf's 2 GB limit for one file");
            }
            return model.toByteArray();
        }
    }

    /**
     * Reads an .onnx file, with any external data it refers to (files beside it, such as optimum's
     * {@code model.onnx_data}) loaded into the model: the transform rewrites the weights themselves.
     */
    public static ModelProto read(Path file) throws IOException {
        return ExternalData.inline(readFile(file), file.toAbsolutePath().getParent(), file.toString());
    }

    /** Reads an .onnx file as it is: external initializers keep their references to the data files. */
    public static ModelProto readFile(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in, file.toString());
        } catch (NoSuchFileException e) {
            throw new EeException("model file " + file + " does not exist");
        }
    }

    /** Reads a self-contained model from a stream (external data has no directory to be found in). */
    public static ModelProto read(InputStream in, String what) throws IOException {
        ModelProto m = parse(in, what);
        if (ExternalData.isUsed(m)) {
            throw new EeException(what + " keeps its weights in external data files " + ExternalData.locations(m)
                    + "; read it from its file, with the data files beside it");
        }
        return m;
    }

    private static ModelProto parse(InputStream in, String what) throws IOException {
        try {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            ModelProto m = ModelProto.parseFrom(coded);
            if (!m.hasGraph() || m.getGraph().getNodeCount() == 0) {
                throw new EeException(what + " is not an ONNX model (no graph)");
            }
            return m;
        } catch (InvalidProtocolBufferException e) {
            throw new EeException(what + " is not an ONNX model: " + e.getMessage(), e);
        }
    }

    public static Result transform(ModelProto source, TransformSpec spec) {
        MutableGraph g = MutableGraph.of(source);
        String ids = findIdsInput(g, spec.idsInput());
        TensorProto table = embeddingTable(g, ids);
        long[] tableDims = OnnxTensors.dims(table);
        int vocab = Math.toIntExact(tableDims[0]);
        int hidden = Math.toIntExact(tableDims[1]);
        if (spec.tokenizerVocabSize() != null && spec.tokenizerVocabSize() != vocab) {
            throw new EeException("the tokenizer has " + spec.tokenizerVocabSize() + " token ids but the model's embedding "
                    + "table '" + table.getName() + "' has " + vocab + " rows: this tokenizer does not belong to this model");
        }
        int maxLength = maxSequenceLength(g, spec, table.getName(), hidden);
        if (spec.task() != Task.GENERATE && g.input(KvCacheNames.past(0, true)).isPresent()) {
            throw new EeException("the model has a KV cache (" + KvCacheNames.past(0, true) + "): it is a decoder, "
                    + "to be encrypted for the generate task");
        }

        Task task = spec.task();
        boolean hiddenPerm = spec.hiddenPermutation() && spec.key() != null;
        if (task == Task.EMBED && spec.key() != null && !hiddenPerm) {
            throw EeException.fixedBy("hiddenPermutation", "an embed model without the hidden permutation would hand the "
                    + "server embeddings in the plaintext basis, which reveal the text; embed needs the hidden permutation");
        }
        String output;
        int width;
        DecoderLayout decoder = null;
        Map<Integer, PermutationKind> required = new java.util.TreeMap<>();
        String mask = spec.attentionMaskInput() != null ? spec.attentionMaskInput() : "attention_mask";
        Optional<ClassifierHead> ownHead = task == Task.CLASSIFY ? ClassifierHead.find(g, spec.sourceOutput()) : Optional.empty();
        if (ownHead.isPresent()) {
            // A fine-tuned classifier: its own head's logits, σ on the class axis; no zero-shot head is added.
            if (spec.labelPrototypes() != null) {
                throw new EeException("the model has its own classifier head (output '" + ownHead.get().output()
                        + "'); label prototypes are for zero-shot classification with an embedding model");
            }
            output = ClassifierHead.LOGITS;
            width = ownHead.get().classCount();
            required.put(1, PermutationKind.LABELS);
            TaskHeads.exposeOnly(g, ownHead.get().output(), output, "batch", width);
        } else {
            switch (task) {
                case EMBED, CLASSIFY -> {
                    if (g.input(mask).isEmpty()) {
                        throw EeException.fixedBy("attentionMaskInput", "the model has no attention-mask input '" + mask
                                + "' to pool with");
                    }
                    String states = findOutput(g, spec.sourceOutput(), 3, hidden, "hidden states");
                    String embedding = TaskHeads.meanPoolNormalize(g, states, mask);
                    if (task == Task.EMBED) {
                        output = TaskHeads.EMBEDDING_OUTPUT;
                        width = hidden;
                        if (hiddenPerm) {
                            required.put(1, PermutationKind.HIDDEN);
                        }
                        TaskHeads.exposeOnly(g, embedding, output, "batch", width);
                    } else {
                        float[][] prototypes = spec.labelPrototypes();
                        if (prototypes == null || prototypes.length < 2) {
                            throw new EeException("classify needs at least two labels");
                        }
                        for (float[] p : prototypes) {
                            if (p.length != hidden) {
                                throw new EeException("label prototypes have width " + p.length + " but the model's hidden width is " + hidden);
                            }
                        }
                        output = TaskHeads.SCORES_OUTPUT;
                        width = prototypes.length;
                        required.put(1, PermutationKind.LABELS);
                        TaskHeads.exposeOnly(g, TaskHeads.zeroShotScores(g, embedding, prototypes), output, "batch", width);
                    }
                }
                case GENERATE -> {
                    if (g.input(mask).isEmpty()) {
                        throw EeException.fixedBy("attentionMaskInput", "the decoder has no attention-mask input '" + mask
                                + "' to mark padding with");
                    }
                    decoder = DecoderLayout.of(g);
                    String logits = findOutput(g, spec.sourceOutput() != null ? spec.sourceOutput()
                            : g.isGraphOutput(KvCacheNames.LOGITS) ? KvCacheNames.LOGITS : null, 3, vocab, "vocabulary logits");
                    output = KvCacheNames.LOGITS;
                    width = vocab;
                    required.put(2, PermutationKind.VOCAB);
                    TaskHeads.keepOutputs(g, logits, output, decoder.presentOutputs());
                }
                default -> throw new IllegalStateException(task.toString());
            }
        }

        Map<PermutationKind, Permutation> perms = new EnumMap<>(PermutationKind.class);
        perms.put(PermutationKind.VOCAB, spec.key() != null ? spec.key().vocabPermutation(vocab) : Permutation.identity(vocab));
        if (hiddenPerm) {
            perms.put(PermutationKind.HIDDEN, spec.key().hiddenPermutation(hidden));
        }
        if (task == Task.CLASSIFY) {
            perms.put(PermutationKind.LABELS, spec.key() != null ? spec.key().labelPermutation(width) : Permutation.identity(width));
        }
        PermutationPropagation analysis = new PermutationPropagation(g, perms, hiddenPerm, ids);
        analysis.run();
        analysis.requireOutput(output, required);
        if (decoder != null) {
            decoder.presentOutputs().forEach(analysis::requireOffResidualStream);
        }
        g.prune();

        String typeIds = null;
        for (ValueInfoProto in : g.inputs()) {
            String name = in.getName();
            if (name.equals(ids) || name.equals(mask)) {
                continue;
            }
            if (decoder != null) {
                if (!name.equals(KvCacheNames.POSITION_IDS) && !KvCacheNames.isPast(name)) {
                    throw new EeException("the decoder has an input '" + name + "' that eestream does not know how to fill "
                            + "(it fills token ids, the attention mask, position ids and the past_key_values cache)");
                }
                continue;
            }
            if (name.contains("token_type")) {
                typeIds = name;
            } else {
                throw new EeException("the model has an input '" + name + "' that eestream does not know how to fill "
                        + "(it fills token ids, the attention mask and token type ids)");
            }
        }
        ModelManifest manifest = new ModelManifest(ModelManifest.FORMAT, ModelManifest.VERSION, spec.modelId(), task.id(),
                spec.key() == null ? null : spec.key().keyId(), ids, g.input(mask).isPresent() ? mask : null, typeIds,
                output, width, vocab, hidden, maxLength, hiddenPerm, task == Task.CLASSIFY ? width : 0,
                decoder == null ? 0 : decoder.layers(), decoder == null ? 0 : decoder.kvHeads(),
                decoder == null ? 0 : decoder.headSize(), padId(g, perms.get(PermutationKind.VOCAB)));
        return new Result(g.build(), manifest);
    }

    /**
     * Plaintext sessions pad with id 0. Where padding can change other rows' results (a DynamicQuantizeLinear takes its
     * scale from the whole batch), the EE model pads with the ciphertext of 0, so its pad rows are the plaintext ones.
     */
    private static long padId(MutableGraph g, Permutation vocab) {
        boolean batchWide = g.nodes().stream().anyMatch(node -> node.getOpType().equals("DynamicQuantizeLinear"));
        return batchWide ? vocab.apply(0) : 0;
    }

    /**
     * The token-id input and the embedding table it indexes, found exactly as {@link #transform} finds them.
     *
     * @param idsInput the input asked for, or null to find it
     */
    public static TokenEmbedding tokenEmbedding(ModelProto source, String idsInput) {
        MutableGraph g = MutableGraph.of(source);
        String ids = findIdsInput(g, idsInput);
        TensorProto table = embeddingTable(g, ids);
        long[] dims = OnnxTensors.dims(table);
        return new TokenEmbedding(ids, table.getName(), Math.toIntExact(dims[0]), Math.toIntExact(dims[1]));
    }

    /** A model's token-id input and the [vocabulary, hidden] table π permutes the rows of. */
    public record TokenEmbedding(String idsInput, String table, int vocabSize, int hiddenSize) {
    }

    /** The named input, else {@code input_ids}, else the one integer input that indexes an embedding table. */
    private static String findIdsInput(MutableGraph g, String requested) {
        if (requested != null) {
            if (g.input(requested).isEmpty()) {
                throw new EeException("the model has no input named '" + requested + "'; its inputs are "
                        + g.inputs().stream().map(ValueInfoProto::getName).toList());
            }
            return requested;
        }
        if (g.input("input_ids").isPresent() && lookupTable(g, "input_ids") != null) {
            return "input_ids";
        }
        List<String> candidates = new ArrayList<>();
        for (ValueInfoProto in : g.inputs()) {
            if (ID_TYPES.contains(in.getType().getTensorType().getElemType()) && lookupTable(g, in.getName()) != null) {
                candidates.add(in.getName());
            }
        }
        if (candidates.size() != 1) {
            throw EeException.fixedBy("idsInput", "cannot find the model's token-id input (an integer input read by a Gather "
                    + "over an embedding table); inputs are " + g.inputs().stream().map(ValueInfoProto::getName).toList()
                    + (candidates.isEmpty() ? "" : ", candidates " + candidates));
        }
        return candidates.get(0);
    }

    private static final java.util.Set<Integer> EMBEDDING_TYPES = java.util.Set.of(TensorProto.DataType.FLOAT_VALUE,
            TensorProto.DataType.FLOAT16_VALUE, TensorProto.DataType.INT8_VALUE, TensorProto.DataType.UINT8_VALUE);

    private static TensorProto embeddingTable(MutableGraph g, String ids) {
        TensorProto t = lookupTable(g, ids);
        if (t == null) {
            throw new EeException("input '" + ids + "' is not read by a Gather over an embedding table, so it is not a "
                    + "token-id input eestream can encrypt");
        }
        // Whole rows move, so a quantized table (its scale and zero point per tensor or per column) permutes exactly too.
        if (t.getDimsCount() != 2 || !EMBEDDING_TYPES.contains(t.getDataType())) {
            throw new EeException("the embedding table '" + t.getName() + "' is not a 2-D matrix of float, float16, int8 or uint8");
        }
        return t;
    }

    private static boolean isEmbedLayerNorm(NodeProto n) {
        return n.getOpType().equals("EmbedLayerNormalization") && n.getInputCount() > 3;
    }

    /** The initializer a Gather (or EmbedLayerNormalization) reads rows of with {@code ids} (through Cast/Identity), or null. */
    private static TensorProto lookupTable(MutableGraph g, String ids) {
        List<String> frontier = new ArrayList<>(List.of(ids));
        for (int depth = 0; depth < 4 && !frontier.isEmpty(); depth++) {
            List<String> next = new ArrayList<>();
            for (String t : frontier) {
                for (int i : g.consumersOf(t)) {
                    NodeProto n = g.node(i);
                    if (n.getOpType().equals("Gather") && n.getInput(1).equals(t) && g.isInitializer(n.getInput(0))) {
                        return g.initializer(n.getInput(0));
                    }
                    if (isEmbedLayerNorm(n) && n.getInput(0).equals(t) && g.isInitializer(n.getInput(2))) {
                        return g.initializer(n.getInput(2)); // ORT's fused embeddings: input_ids, segment ids, word table, ...
                    }
                    if (n.getOpType().equals("Cast") || n.getOpType().equals("Identity")) {
                        next.add(n.getOutput(0));
                    }
                }
            }
            frontier = next;
        }
        return null;
    }

    /**
     * Explicit, else the largest position table read by a Gather or EmbedLayerNormalization: [P, d] (learned positions), or any
     * table indexed by the {@code position_ids} input (e.g. rotary cos/sin tables); else the fallback.
     * For a decoder it is the context length.
     */
    private static int maxSequenceLength(MutableGraph g, TransformSpec spec, String wordTable, int hidden) {
        if (spec.maxSequenceLength() != null) {
            return spec.maxSequenceLength();
        }
        long best = -1;
        for (NodeProto n : g.nodes()) {
            if (n.getOpType().equals("Gather") && g.isInitializer(n.getInput(0)) && !n.getInput(0).equals(wordTable)) {
                long[] dims = OnnxTensors.dims(g.initializer(n.getInput(0)));
                boolean byPosition = n.getInput(1).equals(KvCacheNames.POSITION_IDS) && g.input(KvCacheNames.POSITION_IDS).isPresent();
                if (dims.length == 2 && (dims[1] == hidden || byPosition) && dims[0] > 2) {
                    best = Math.max(best, dims[0]);
                }
            }
            if (isEmbedLayerNorm(n) && g.isInitializer(n.getInput(3))) {
                best = Math.max(best, OnnxTensors.dims(g.initializer(n.getInput(3)))[0]); // its position table [P, d]
            }
        }
        if (best > 0) {
            return Math.toIntExact(best);
        }
        if (spec.fallbackMaxSequenceLength() != null) {
            return spec.fallbackMaxSequenceLength();
        }
        throw EeException.fixedBy("maxSequenceLength", "cannot tell the model's maximum sequence length (no position table)");
    }

    /** The requested output, else the first graph output of the given rank whose last dim is {@code lastDim}. */
    private static String findOutput(MutableGraph g, String requested, int rank, int lastDim, String what) {
        if (requested != null) {
            if (!g.isGraphOutput(requested)) {
                throw new EeException("the model has no output named '" + requested + "'; its outputs are "
                        + g.outputs().stream().map(ValueInfoProto::getName).toList());
            }
            return requested;
        }
        for (ValueInfoProto o : g.outputs()) {
            List<TensorShapeProto.Dimension> dims = o.getType().getTensorType().getShape().getDimList();
            if (dims.size() == rank && dims.get(rank - 1).getDimValue() == lastDim) {
                return o.getName();
            }
        }
        throw EeException.fixedBy("sourceOutput", "cannot find the model's " + what + " output (rank " + rank
                + ", last dimension " + lastDim + ") among " + g.outputs().stream().map(ValueInfoProto::getName).toList());
    }
}
