package dev.eestream.core.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

/** Decodes plaintext token ids to text with the model's own tokenizer; the seam tests and callers plug into. */
@FunctionalInterface
public interface TokenDecoder {
    String decode(long[] plainIds);

    /** Hugging Face's decoder, skipping special tokens or not. */
    static TokenDecoder of(HuggingFaceTokenizer tokenizer, boolean skipSpecialTokens) {
        return ids -> tokenizer.decode(ids, skipSpecialTokens);
    }
}
