package dev.eestream.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The server-side tests run a tiny EE model kept as a resource of ee-runtime's tests, because the
 * processor's build must not reach the transformer. This test regenerates it from the tiny encoder
 * with a fixed key and checks the resource is exactly that. After a deliberate change to the tiny
 * encoder or the transform, rewrite it with {@code -Deestream.rewrite.tiny.bundle=true}.
 */
class TinyBundleResourceTest {
    private static final Path RESOURCE = Path.of("..", "ee-runtime/src/test/resources/dev/eestream/runtime/tiny-embed");

    @Test
    void theServerSideTinyBundleIsTheTinyEncoderTransformed() throws Exception {
        byte[] secret = new byte[EeKey.SECRET_BYTES];
        Arrays.fill(secret, (byte) 7);
        ModelTransformer.Result r = ModelTransformer.transform(TinyModels.encoder(7, null),
                TransformSpec.builder(Task.EMBED).key(EeKey.fromSecret(secret)).modelId("tiny-embed").build());
        ModelBundle committed = ModelBundle.at(RESOURCE);
        if (Boolean.getBoolean("eestream.rewrite.tiny.bundle")) {
            committed.write(r.modelBytes(), r.manifest(), true);
        }
        // Each encryption draws its own random encryption id: everything else must be as committed.
        String committedId = committed.readManifest().encryptionId();
        assertTrue(committedId != null && committedId.matches("[0-9a-f]{32}"), "committed encryption id " + committedId);
        assertEquals(r.manifest().withEncryptionId(committedId), committed.readManifest());
        assertArrayEquals(r.modelBytes(), committed.readModel());
        assertEquals(TinyModels.ENCODER_VOCAB, committed.readManifest().vocabSize());
        assertEquals(TinyModels.MAX_POSITIONS, committed.readManifest().maxSequenceLength());
    }
}
