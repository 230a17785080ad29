package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.onnx.OpaqueNames;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.KvCacheNames;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
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
 * the zero-shot head (cosine against label prototypes). The model comes out with opaque names ({@link OpaqueNames}):
 * nothing in it names the source model's tensors or says which of them were permuted.
 */
public final class ModelTransformer {
    private static final SecureRandom ENCRYPTION_IDS = new SecureRandom();
    private static final Set<Integer> ID_TYPES = Set.of(TensorProto.DataType.INT64_VALUE, TensorProto.DataType.INT32_VALUE);

    private ModelTransformer() {
    }

    /** The outcome: the model a server may hold, and its manifest. */
    /**
     * @param keyId             the key's public id, for the client profile (never the manifest); null without a key
     * @param hiddenPermutation whether ρ was applied, for the person running the transform (never the manifest)
     */
    public record Result(ModelProto model, ModelManifest manifest, String keyId, boolean hiddenPermutation) {
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
        List.copyOf(g.inputs()).forEach(in -> g.widenInt32Input(in.getName()));
        String ids = findIdsInput(g, spec.idsInput());
        TensorProto table = embeddingTable(g, ids);
        long[] tableDims = OnnxTensors.dims(table);
        int vocab = Math.toIntExact(tableDims[0]);
        int tableWidth = Math.toIntExact(tableDims[1]);
        int hidden = spec.task() == Task.GENERATE ? tableWidth : residualWidth(g, spec.sourceOutput(), tableWidth);
        if (spec.tokenizerVocabSize() != null && spec.tokenizerVocabSize() != vocab) {
            throw new EeException("the tokenizer has " + spec.tokenizerVocabSize() + " token ids but the model's embedding "
                    + "table '" + table.getName() + "' has " + vocab + " rows: this tokenizer does not belong to this model");
        }
        long paddingId = paddingIdCompared(g, ids);
        int maxLength = maxSequenceLength(g, spec, table.getName(), tableWidth, paddingId);
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
            if (spec.pooling() != Pooling.MEAN) {
                throw new EeException("the model has its own classifier head, which does its own pooling; pooling applies "
                        + "to embed and zero-shot classify");
            }
            output = ClassifierHead.LOGITS;
            width = ownHead.get().classCount();
            required.put(1, PermutationKind.LABELS);
            TaskHeads.exposeOnly(g, TaskHeads.asFloat(g, ownHead.get().output()), output, "batch", width);
        } else {
            switch (task) {
                case EMBED, CLASSIFY -> {
                    if (g.input(mask).isEmpty()) {
                        throw EeException.fixedBy("attentionMaskInput", "the model has no attention-mask input '" + mask
                                + "' to pool with");
                    }
                    String states = findOutput(g, spec.sourceOutput(), 3, hidden, "hidden states");
                    String embedding = TaskHeads.poolNormalize(g, TaskHeads.asFloat(g, states), mask, spec.pooling());
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

        Homophones homophones = spec.homophones() != null && spec.homophones().any() ? spec.homophones() : null;
        if (homophones != null) {
            if (spec.key() == null) {
                throw EeException.fixedBy("homophones", "homophones need a key");
            }
            if (homophones.vocabSize() != vocab) {
                throw new EeException("the homophones are for " + homophones.vocabSize() + " tokens, but the model's "
                        + "embedding table '" + table.getName() + "' has " + vocab + " rows");
            }
        }
        // With homophones the model's ids are the V′ slots: every vocabulary row is copied to its token's slots, then π-permuted.
        int cipherVocab = homophones != null ? homophones.slotCount() : vocab;
        if (task == Task.GENERATE) {
            width = cipherVocab;
        }
        Map<PermutationKind, Permutation> perms = new EnumMap<>(PermutationKind.class);
        perms.put(PermutationKind.VOCAB, spec.key() != null ? spec.key().vocabPermutation(cipherVocab)
                : Permutation.identity(cipherVocab));
        if (hiddenPerm) {
            perms.put(PermutationKind.HIDDEN, spec.key().hiddenPermutation(hidden));
            if (tableWidth != hidden) {
                perms.put(PermutationKind.EMBEDDING, spec.key().permutation(PermutationKind.EMBEDDING, tableWidth));
            }
        }
        if (task == Task.CLASSIFY) {
            perms.put(PermutationKind.LABELS, spec.key() != null ? spec.key().labelPermutation(width) : Permutation.identity(width));
        }
        int[] tokenOfSlot = homophones != null ? homophones.tokenOfSlot() : null;
        PermutationPropagation analysis = new PermutationPropagation(g, perms, hiddenPerm, ids, tokenOfSlot);
        analysis.run();
        analysis.requireOutput(output, required);
        if (decoder != null) {
            decoder.presentOutputs().forEach(analysis::requireOffResidualStream);
        }
        g.prune();
        if (homophones != null && decoder != null) {
            TaskHeads.resizeOutput(g, output, 2, cipherVocab);
        }

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
                spec.key() == null ? null : newEncryptionId(), ids, g.input(mask).isPresent() ? mask : null, typeIds,
                output, width, cipherVocab, hidden, maxLength, task == Task.CLASSIFY ? width : 0,
                decoder == null ? 0 : decoder.layers(), decoder == null ? 0 : decoder.kvHeads(),
                decoder == null ? 0 : decoder.headSize(), padId(g, paddingId, perms.get(PermutationKind.VOCAB)),
                homophones != null && decoder != null ? ModelManifest.encodeMultiplicities(
                        multiplicities(homophones, tokenOfSlot, perms.get(PermutationKind.VOCAB))) : null, null);
        // Names go only now: every refusal above names the source model's nodes, as its owner knows them.
        return new Result(OpaqueNames.scrub(g.build()), manifest, spec.key() == null ? null : spec.key().keyId(),
                hiddenPerm);
    }

    /** 128 random bits: ties a model's answers to its client profile without saying whose key it is. */
    private static String newEncryptionId() {
        byte[] bits = new byte[16];
        ENCRYPTION_IDS.nextBytes(bits);
        return HexFormat.of().formatHex(bits);
    }

    /** For each ciphertext id Π(s), the number of slots of its token. */
    private static int[] multiplicities(Homophones h, int[] tokenOfSlot, Permutation slots) {
        int[] out = new int[tokenOfSlot.length];
        for (int s = 0; s < out.length; s++) {
            out[slots.apply(s)] = h.count(tokenOfSlot[s]);
        }
        return out;
    }

    /**
     * Plaintext sessions pad with id 0. Where padding can change other rows' results (a DynamicQuantizeLinear takes its
     * scale from the whole batch) or the graph reads the ids' values (RoBERTa's position ids), the EE model pads with
     * the ciphertext of 0, so its pad rows are the plaintext ones.
     */
    private static long padId(MutableGraph g, long paddingIdCompared, Permutation vocab) {
        boolean batchWide = g.nodes().stream().anyMatch(node -> node.getOpType().equals("DynamicQuantizeLinear"));
        return batchWide || paddingIdCompared >= 0 ? vocab.apply(0) : 0;
    }

    /**
     * The token id the graph compares its ids with (RoBERTa, XLM-R and MPNet: position ids count from
     * {@code input_ids != padding_idx}, so they start at padding_idx + 1), or -1.
     */
    private static long paddingIdCompared(MutableGraph g, String ids) {
        for (int reader : readersThroughCasts(g, ids)) {
            NodeProto n = g.node(reader);
            if (n.getOpType().equals("Equal") && n.getInputCount() == 2) {
                for (String operand : n.getInputList()) {
                    if (g.isInitializer(operand) && OnnxTensors.elementCount(OnnxTensors.dims(g.initializer(operand))) == 1) {
                        int type = g.initializer(operand).getDataType();
                        if (type == TensorProto.DataType.INT64_VALUE || type == TensorProto.DataType.INT32_VALUE) {
                            return OnnxTensors.longValues(g.initializer(operand))[0];
                        }
                    }
                }
            }
        }
        return -1;
    }

    /** The nodes that read {@code ids}, directly or through Cast and Identity. */
    private static List<Integer> readersThroughCasts(MutableGraph g, String ids) {
        List<Integer> readers = new ArrayList<>();
        List<String> frontier = new ArrayList<>(List.of(ids));
        for (int depth = 0; depth < 4 && !frontier.isEmpty(); depth++) {
            List<String> next = new ArrayList<>();
            for (String t : frontier) {
                for (int i : g.consumersOf(t)) {
                    NodeProto n = g.node(i);
                    readers.add(i);
                    if (n.getOpType().equals("Cast") || n.getOpType().equals("Identity")) {
                        next.add(n.getOutput(0));
                    }
                }
            }
            frontier = next;
        }
        return readers;
    }

    /**
     * The residual stream's width: that of the hidden-states output (the one asked for, else one as wide as the
     * token table, else the only rank-3 output). It differs from the token table's width in a factorised embedding
     * (ALBERT), where ρ enters at the projection.
     */
    private static int residualWidth(MutableGraph g, String requested, int tableWidth) {
        List<Long> widths = new ArrayList<>();
        for (ValueInfoProto o : g.outputs()) {
            List<TensorShapeProto.Dimension> dims = o.getType().getTensorType().getShape().getDimList();
            if (dims.size() == 3 && dims.get(2).getDimValue() > 0) {
                if (o.getName().equals(requested)) {
                    return Math.toIntExact(dims.get(2).getDimValue());
                }
                widths.add(dims.get(2).getDimValue());
            }
        }
        if (requested == null && widths.size() == 1) {
            return Math.toIntExact(widths.get(0));
        }
        return widths.isEmpty() ? squareWeightWidth(g, tableWidth) : tableWidth;
    }

    /**
     * Without a hidden-states output (a classifier that exposes only its logits): the token table's width if a square
     * weight of that width exists (BERT's attention projections), else the width most square weights have (a
     * factorised embedding's residual stream), else the table's width.
     */
    private static int squareWeightWidth(MutableGraph g, int tableWidth) {
        Map<Long, Integer> counts = new java.util.HashMap<>();
        for (TensorProto t : g.initializers().values()) {
            if (t.getDimsCount() == 2 && t.getDims(0) == t.getDims(1) && t.getDims(0) > 1) {
                counts.merge(t.getDims(0), 1, Integer::sum);
            }
        }
        if (counts.isEmpty() || counts.containsKey((long) tableWidth)) {
            return tableWidth;
        }
        return Math.toIntExact(counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey());
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
        return new TokenEmbedding(ids, table.getName(), Math.toIntExact(dims[0]),
                residualWidth(g, null, Math.toIntExact(dims[1])));
    }

    /**
     * A model's token-id input and the table π permutes the rows of; {@code hiddenSize} is the residual stream's width
     * (wider than the table in a factorised embedding).
     */
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
        for (int i : readersThroughCasts(g, ids)) {
            NodeProto n = g.node(i);
            String table = n.getOpType().equals("Gather") && n.getInputCount() == 2 ? constantBehind(g, n.getInput(0)) : null;
            if (table != null && (n.getInput(1).equals(ids) || isCastOf(g, n.getInput(1), ids))) {
                return g.initializer(table);
            }
            if (isEmbedLayerNorm(n) && (n.getInput(0).equals(ids) || isCastOf(g, n.getInput(0), ids))
                    && g.isInitializer(n.getInput(2))) {
                return g.initializer(n.getInput(2)); // ORT's fused embeddings: input_ids, segment ids, word table, ...
            }
        }
        return null;
    }

    /** The constant {@code tensor} is, or that a DequantizeLinear reads to make it (static QDQ models); else null. */
    private static String constantBehind(MutableGraph g, String tensor) {
        if (g.isInitializer(tensor)) {
            return tensor;
        }
        int p = g.producerOf(tensor);
        if (p >= 0 && g.node(p).getOpType().equals("DequantizeLinear") && g.isInitializer(g.node(p).getInput(0))) {
            return g.node(p).getInput(0);
        }
        return null;
    }

    /** Whether {@code tensor} is {@code ids} passed through Cast or Identity only. */
    private static boolean isCastOf(MutableGraph g, String tensor, String ids) {
        String t = tensor;
        for (int depth = 0; depth < 4; depth++) {
            int p = g.producerOf(t);
            if (p < 0) {
                return false;
            }
            NodeProto n = g.node(p);
            if (!n.getOpType().equals("Cast") && !n.getOpType().equals("Identity")) {
                return false;
            }
            t = n.getInput(0);
            if (t.equals(ids)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Explicit, else the largest position table read by a Gather or EmbedLayerNormalization: [P, d] (learned
     * positions; less the offset when positions count from a padding id), or any table indexed by the
     * {@code position_ids} input (e.g. rotary cos/sin tables); else the fallback.
     * For a decoder it is the context length.
     */
    private static int maxSequenceLength(MutableGraph g, TransformSpec spec, String wordTable, int hidden, long paddingId) {
        if (spec.maxSequenceLength() != null) {
            return spec.maxSequenceLength();
        }
        long best = -1;
        for (NodeProto n : g.nodes()) {
            String table = n.getOpType().equals("Gather") ? constantBehind(g, n.getInput(0)) : null;
            if (table != null && !table.equals(wordTable)) {
                long[] dims = OnnxTensors.dims(g.initializer(table));
                boolean byPosition = n.getInput(1).equals(KvCacheNames.POSITION_IDS) && g.input(KvCacheNames.POSITION_IDS).isPresent();
                if (dims.length == 2 && (dims[1] == hidden || byPosition) && dims[0] > 2) {
                    best = Math.max(best, dims[0]);
                }
            }
            if (isEmbedLayerNorm(n) && g.isInitializer(n.getInput(3))) {
                best = Math.max(best, OnnxTensors.dims(g.initializer(n.getInput(3)))[0]); // its position table [P, d]
            }
        }
        if (best > 0 && paddingId >= 0 && best > paddingId + 1) {
            // Positions counted from the padding id (RoBERTa: 2 … S + 1 in a table of 514) leave P - padding - 1 of them.
            return Math.toIntExact(best - paddingId - 1);
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
