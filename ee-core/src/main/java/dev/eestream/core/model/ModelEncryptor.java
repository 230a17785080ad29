package dev.eestream.core.model;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.CipherVocabulary;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.Homophones;
import dev.eestream.core.model.transform.ClassifierHead;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.core.tokenizer.TokenizerJson;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.ModelSession;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The whole model-encryption step on the trusted side: checks the tokenizer against the model, for
 * classify either checks the labels against the model's own classifier head or (a model without
 * one) computes zero-shot label prototypes with the plaintext model, and builds the EE model.
 */
public final class ModelEncryptor {
    private ModelEncryptor() {
    }

    /**
     * @param labels   label names for classify, in class order (ignored otherwise): one per class of a model with its own
     *                 head, else the texts whose embeddings the zero-shot scores compare against
     * @param progress receives a short line as each stage starts
     */
    public static ModelTransformer.Result encrypt(ModelProto source, TokenizerJson tokenizer, TransformSpec spec,
            List<String> labels, Consumer<String> progress) throws IOException {
        TransformSpec.Builder b = spec.toBuilder().tokenizerVocabSize(tokenizer.vocabSize())
                .fallbackMaxSequenceLength(tokenizer.truncationLength());
        if (spec.task() == Task.CLASSIFY) {
            if (labels == null || labels.size() < 2) {
                throw EeException.fixedBy("labels", "classify needs at least two labels");
            }
            if (labels.stream().anyMatch(String::isBlank) || labels.stream().distinct().count() != labels.size()) {
                throw new EeException("labels must be distinct and non-empty: " + labels);
            }
            Optional<ClassifierHead> ownHead = ClassifierHead.find(source, spec.sourceOutput());
            if (ownHead.isPresent()) {
                requireOneLabelPerClass(ownHead.get(), labels);
                progress.accept("using the model's own classifier head (" + labels.size() + " classes)");
            } else {
                progress.accept("embedding " + labels.size() + " labels with the plaintext model");
                b.labelPrototypes(labelPrototypes(source, tokenizer, spec, labels));
            }
        }
        progress.accept("rewriting the graph");
        return ModelTransformer.transform(source, b.build());
    }

    /**
     * The EE model with length buckets on: its manifest lists every ciphertext id of the tokenizer's end token, after
     * the first of which the processor cuts a request, so clients can pad requests with filler the model never sees.
     * For classify and embed; a generation prompt has no end token to cut at.
     *
     * @param homophones the model's (null for none): the end token's ids are all of its homophones
     */
    public static ModelTransformer.Result withLengthBuckets(ModelTransformer.Result ee, TokenizerJson tokenizer, EeKey key,
            Homophones homophones) throws IOException {
        if (ee.manifest().taskKind() == Task.GENERATE) {
            throw EeException.fixedBy("lengthBuckets", "length buckets are for classify and embed models: a generation "
                    + "prompt has no end token after which the processor could cut the padding");
        }
        if (key == null) {
            throw new EeException("length buckets need a key");
        }
        int end;
        try (PrivateTokenizer plain = PrivateTokenizer.open(tokenizer, null, null, null)) {
            end = plain.endToken();
        }
        CipherVocabulary vocab = key.vocabulary(homophones != null ? homophones : Homophones.none(ee.manifest().vocabSize()));
        return new ModelTransformer.Result(ee.model(), ee.manifest().withEndIds(vocab.cipherIdsOf(end)), ee.keyId(),
                ee.hiddenPermutation());
    }

    private static void requireOneLabelPerClass(ClassifierHead head, List<String> labels) {
        if (labels.size() != head.classCount()) {
            throw EeException.fixedBy("labels", "the model's own classifier head has " + head.classCount() + " classes (output '"
                    + head.output() + "' [batch, " + head.classCount() + "]), but " + labels.size() + " label names were given: "
                    + labels);
        }
    }

    /** Embeddings of the label texts by the plaintext model with the embed head: unit length, in label order. */
    public static float[][] labelPrototypes(ModelProto source, TokenizerJson tokenizer, TransformSpec spec, List<String> labels)
            throws IOException {
        TransformSpec reference = TransformSpec.builder(Task.EMBED).modelId("reference").idsInput(spec.idsInput())
                .attentionMaskInput(spec.attentionMaskInput()).sourceOutput(spec.sourceOutput())
                .maxSequenceLength(spec.maxSequenceLength()).fallbackMaxSequenceLength(tokenizer.truncationLength())
                .pooling(spec.pooling()).build();
        ModelTransformer.Result ref = ModelTransformer.transform(source, reference);
        try (PrivateTokenizer plain = PrivateTokenizer.open(tokenizer, null, ref.manifest().vocabSize(),
                Math.min(ref.manifest().maxSequenceLength(), tokenizer.truncationLength() != null ? tokenizer.truncationLength() : 512));
             ModelSession session = ModelSession.open(ref.modelBytes(), ref.manifest())) {
            List<long[]> ids = new ArrayList<>();
            for (String label : labels) {
                ids.add(plain.encodePlain(label));
            }
            return session.run(ids);
        }
    }
}
