package dev.eestream.processor;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The processor's build cannot reach key code: not in main code, not even in its tests. The Maven
 * enforcer refuses such a dependency; this checks what actually ended up on the classpath.
 */
class TrustBoundaryTest {
    @ParameterizedTest
    @ValueSource(strings = {"dev.eestream.core.key.EeKey", "dev.eestream.core.key.KeyFiles",
        "dev.eestream.core.tokenizer.PrivateTokenizer", "dev.eestream.core.model.transform.ModelTransformer",
        "dev.eestream.core.decrypt.OutputDecryptor", "dev.eestream.client.consumer.ResponseDecryptor", "dev.eestream.gateway.Gateway",
        "ai.djl.huggingface.tokenizers.HuggingFaceTokenizer"})
    void keyAndTokenizerCodeIsNotOnTheClasspath(String className) {
        assertThrows(ClassNotFoundException.class, () -> Class.forName(className));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/all-minilm-l6-v2.onnx", "/all-minilm-l6-v2-tokenizer.json"})
    void noPlaintextModelIsOnTheClasspath(String resource) {
        assertNull(TrustBoundaryTest.class.getResource(resource));
    }
}
