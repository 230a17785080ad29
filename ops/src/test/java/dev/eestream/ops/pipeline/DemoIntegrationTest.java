package dev.eestream.ops.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.core.model.transform.TransformSpec;
import dev.eestream.core.tokenizer.PrivateTokenizer;
import dev.eestream.ops.EestreamCli;
import dev.eestream.ops.demo.DemoDecoder;
import dev.eestream.ops.demo.GenerationDemo;
import dev.eestream.runtime.model.Task;
import dev.eestream.runtime.session.DecoderSession;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code eestream demo} end to end on a real broker (local mode), as CI runs it: both summary lines say every
 * answer equals plaintext, the demo says the decoder's weights are random, and each decrypted generation is the
 * continuation this test computes itself from the plaintext decoder.
 */
@Tag("integration")
class DemoIntegrationTest {
    private static final Pattern DOCUMENTS = Pattern.compile("(?m)^(\\d+) documents, (\\d+) equal to plaintext inference, [0-9.]+ docs/s$");
    private static final Pattern GENERATIONS = Pattern.compile("(?m)^(\\d+) generations, (\\d+) equal to plaintext generation, in [0-9.]+ s$");

    @TempDir
    Path work;

    @Test
    void everyDocumentAndEveryGenerationEqualsPlaintext() throws Exception {
        Path documents = work.resolve("docs.jsonl");
        Files.writeString(documents, """
                {"id": "a", "text": "The central bank raised interest rates again."}
                {"id": "b", "text": "The striker scored twice in the final."}
                {"id": "c", "text": "A new vaccine trial showed strong results."}
                """);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = EestreamCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("demo", "--documents", documents.toString(), "--work-dir", work.resolve("demo").toString());
        String text = out.toString();
        System.out.println(text);
        assertEquals(0, exit, text + err);

        Matcher docs = DOCUMENTS.matcher(text);
        assertTrue(docs.find(), text);
        assertEquals("3", docs.group(1));
        assertEquals(docs.group(1), docs.group(2), "CI's check: " + docs.group());
        Matcher gens = GENERATIONS.matcher(text);
        assertTrue(gens.find(), text);
        assertEquals(Integer.toString(GenerationDemo.PROMPTS.size()), gens.group(1));
        assertEquals(gens.group(1), gens.group(2), gens.group());
        assertTrue(text.contains("weights are RANDOM") && text.contains("gibberish"), "the demo says plainly the text means nothing");
        assertTrue(text.contains("\"Chat with your own model\""), "the pointer to the README section");

        // The decrypted text of each prompt is the plaintext decoder's greedy continuation, computed here apart
        // from the demo: BOS in front, EOS ends it.
        DemoDecoder decoder = DemoDecoder.build();
        ModelTransformer.Result plain = ModelTransformer.transform(decoder.model(),
                TransformSpec.builder(Task.GENERATE).modelId("plain").build());
        long eos = SyntheticTokenizers.EOS_ID;
        try (DecoderSession session = DecoderSession.open(plain.modelBytes(), plain.manifest());
             PrivateTokenizer tok = PrivateTokenizer.open(decoder.tokenizer(), null, decoder.spec().vocabSize(), null)) {
            for (String prompt : GenerationDemo.PROMPTS) {
                long[] words = tok.encodePlain(prompt);
                long[] ids = new long[words.length + 1];
                ids[0] = SyntheticTokenizers.BOS_ID;
                System.arraycopy(words, 0, ids, 1, words.length);
                long[] generated = session.greedy(ids, GenerationDemo.NEW_TOKENS, Set.of(eos)).ids();
                if (generated.length > 0 && generated[generated.length - 1] == eos) {
                    generated = Arrays.copyOf(generated, generated.length - 1);
                }
                String continuation = tok.decodePlain(generated);
                assertFalse(continuation.isBlank(), prompt);
                assertTrue(text.contains("  prompt     \"" + prompt + "\"\n"), prompt);
                assertTrue(text.contains("    decrypted  \"" + continuation + "\""), "'" + prompt + "' continued by '"
                        + continuation + "' in:\n" + text);
            }
        }
        assertTrue(text.contains("(streamed: printed as it arrived"), text);

        // What the demo leaves in its work directory: the decoder as an export, its EE form and client profile.
        Path models = work.resolve("demo").resolve("models");
        assertTrue(Files.isRegularFile(models.resolve(GenerationDemo.MODEL_ID).resolve("model.onnx")));
        ClientProfile profile = ClientProfile.read(ClientProfile.besides(models.resolve(GenerationDemo.MODEL_ID)));
        assertEquals(Task.GENERATE, Task.parse(profile.task()));
        assertEquals((Long) eos, profile.generation().eosId());
        assertTrue(Files.isRegularFile(work.resolve("demo").resolve("random-decoder-export").resolve("tokenizer_config.json")));
    }
}
