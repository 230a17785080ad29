package dev.eestream.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import com.google.gson.JsonParser;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.model.ClassifierKind;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.TinyClassifiers;
import dev.eestream.core.model.TinyModels;
import dev.eestream.core.model.onnx.ExternalData;
import dev.eestream.core.model.synthetic.SyntheticDecoderSpec;
import dev.eestream.core.model.synthetic.SyntheticDecoders;
import dev.eestream.core.model.synthetic.SyntheticTokenizers;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line as a user runs it, in-process: exit codes, output, files and their permissions. */
class CliTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = EestreamCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path keygen(String name, String... extra) {
        Path key = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of("keygen", "--out", key.toString()));
        args.addAll(List.of(extra));
        Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return key;
    }

    @Test
    void anUnknownCommandOrOptionBesideHelpIsStillAnError() {
        Run unknownCommand = run("benchmark", "--help");
        assertEquals(2, unknownCommand.exit(), unknownCommand.out() + unknownCommand.err());
        assertTrue(unknownCommand.err().contains("Unmatched argument at index 0: 'benchmark'"), unknownCommand.err());
        Run unknownOption = run("encrypt-model", "--bogus", "--help");
        assertEquals(2, unknownOption.exit(), unknownOption.out() + unknownOption.err());
        assertTrue(unknownOption.err().contains("Unknown option: '--bogus'"), unknownOption.err());
        assertEquals(0, run("encrypt-model", "--help").exit());
    }

    @Test
    void everyCommandHasHelp() {
        Run top = run("--help");
        assertEquals(0, top.exit());
        for (String command : new CommandLine(new EestreamCli()).getSubcommands().keySet()) {
            Run r = run(command, "--help");
            assertEquals(0, r.exit(), command);
            assertTrue(r.out().contains("Usage: eestream " + command), command + ": " + r.out());
            assertTrue(top.out().contains(command), "top-level help lists " + command);
        }
    }

    @Test
    void keygenWritesAnOwnerOnlyKeyAndRefusesToOverwrite() throws Exception {
        Path key = keygen("a.key");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        String before = Files.readString(key);
        Run again = run("keygen", "--out", key.toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, again.exit());
        assertTrue(again.err().contains("--force"), again.err());
        assertEquals(before, Files.readString(key));
        assertEquals(0, run("keygen", "--out", key.toString(), "--force").exit());
        assertNotEquals(before, Files.readString(key));
    }

    @Test
    void encryptPrintsCiphertextIdsThatDecryptBack() {
        Path key = keygen("k");
        Run enc = run("encrypt", "--key", key.toString(), "--text", "Private inference over Kafka.");
        assertEquals(0, enc.exit(), enc.err());
        var ids = JsonParser.parseString(enc.out().trim()).getAsJsonArray();
        assertTrue(ids.size() >= 5);
        assertNotEquals(101, ids.get(0).getAsInt(), "[CLS] must not appear in the clear");
        Run dec = run("decrypt", "--key", key.toString(), "--ids", enc.out().trim());
        assertEquals(0, dec.exit(), dec.err());
        assertEquals("private inference over kafka.", dec.out().trim());
        Run other = run("decrypt", "--key", keygen("other").toString(), "--ids", enc.out().trim());
        assertNotEquals("private inference over kafka.", other.out().trim());
    }

    @Test
    void encryptInputPrintsOneArrayPerLineInOrderAndEachDecryptsBack() throws Exception {
        Path key = keygen("k");
        List<String> lines = List.of("Private inference over Kafka.", "The second line, longer than the first one.", "",
                "Third line with ünïcode and numbers 42.");
        Path input = dir.resolve("texts.txt");
        Files.write(input, lines, StandardCharsets.UTF_8);
        Run enc = run("encrypt", "--key", key.toString(), "--input", input.toString());
        assertEquals(0, enc.exit(), enc.err());
        assertEquals("", enc.err());
        List<String> arrays = enc.out().lines().toList();
        assertEquals(lines.size(), arrays.size(), enc.out());
        for (int i = 0; i < lines.size(); i++) {
            // Line i is what --text gives for line i (an empty line: the special tokens alone), and decrypts back to it.
            assertEquals(run("encrypt", "--key", key.toString(), "--text", lines.get(i)).out().trim(), arrays.get(i));
            Run dec = run("decrypt", "--key", key.toString(), "--ids", arrays.get(i));
            assertEquals(0, dec.exit(), dec.err());
            assertEquals(lines.get(i).toLowerCase(java.util.Locale.ROOT).replace("ü", "u").replace("ï", "i"), dec.out().trim());
        }
        assertEquals(2, JsonParser.parseString(arrays.get(2)).getAsJsonArray().size(), "[CLS] and [SEP], encrypted");

        // Standard input, as in: producer | eestream encrypt --input - | consumer
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream(Files.readAllBytes(input)));
            Run piped = run("encrypt", "--key", key.toString(), "--input", "-");
            assertEquals(0, piped.exit(), piped.err());
            assertEquals(enc.out(), piped.out());
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void encryptWithAProfileUsesTheModelsTokenizerAndLengthAndRefusesAnotherKey() throws Exception {
        Path key = keygen("k");
        Path model = tinyEncoder();
        Path tokenizer = tinyTokenizer();
        Path out = dir.resolve("models").resolve("tiny-embed");
        assertEquals(0, run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer",
                tokenizer.toString(), "--task", "embed", "--out", out.toString()).exit());
        Path profile = ClientProfile.besides(out);
        StringBuilder longLine = new StringBuilder();
        for (int i = 0; i < TinyModels.MAX_POSITIONS + 8; i++) {
            longLine.append(" w").append(1 + i % (TinyModels.ENCODER_VOCAB - 1));
        }
        Path input = dir.resolve("words.txt");
        Files.write(input, List.of("w3 w4 w5", "w7", longLine.toString().trim()), StandardCharsets.UTF_8);
        Run enc = run("encrypt", "--key", key.toString(), "--profile", profile.toString(), "--input", input.toString());
        assertEquals(0, enc.exit(), enc.err());
        List<String> arrays = enc.out().lines().toList();
        assertEquals(3, arrays.size());
        assertEquals("w3 w4 w5", run("decrypt", "--key", key.toString(), "--tokenizer", tokenizer.toString(), "--ids",
                arrays.get(0)).out().trim());
        assertEquals("w7", run("decrypt", "--key", key.toString(), "--tokenizer", tokenizer.toString(), "--ids",
                arrays.get(1)).out().trim());
        assertEquals(TinyModels.MAX_POSITIONS, JsonParser.parseString(arrays.get(2)).getAsJsonArray().size(),
                "cut at the model's maximum length from the profile");
        assertEquals(5, JsonParser.parseString(run("encrypt", "--key", key.toString(), "--profile", profile.toString(),
                "--max-length", "5", "--text", longLine.toString()).out()).getAsJsonArray().size());

        Run otherKey = run("encrypt", "--key", keygen("other").toString(), "--profile", profile.toString(), "--text", "w3");
        assertEquals(EestreamCli.EXIT_USER_ERROR, otherKey.exit());
        assertTrue(otherKey.err().startsWith("eestream: error: model 'tiny-embed' was encrypted with key "), otherKey.err());
        assertEquals("", otherKey.out());
        assertRefused("either --tokenizer or --profile", "encrypt", "--key", key.toString(), "--profile", profile.toString(),
                "--tokenizer", tokenizer.toString(), "--text", "w3");
        assertRefused("client profile " + dir.resolve("none.client.json") + " does not exist", "encrypt", "--key",
                key.toString(), "--profile", dir.resolve("none.client.json").toString(), "--text", "w3");
    }

    @Test
    void encryptInputErrorsAreOneLineAndPrintNothingHalfWay() throws Exception {
        Path key = keygen("k");
        Run missing = run("encrypt", "--key", key.toString(), "--input", dir.resolve("no-such.txt").toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, missing.exit());
        assertEquals("eestream: error: input file " + dir.resolve("no-such.txt") + " does not exist", missing.err().trim());
        assertEquals("", missing.out());
        assertRefused("is a directory", "encrypt", "--key", key.toString(), "--input", dir.toString());

        Path unreadable = dir.resolve("secret.txt");
        Files.writeString(unreadable, "text\n");
        Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("-w-------"));
        if (!Files.isReadable(unreadable)) { // root reads anything
            assertRefused("cannot read input file " + unreadable + ": permission denied", "encrypt", "--key", key.toString(),
                    "--input", unreadable.toString());
        }

        // Two good lines, then bytes that are not UTF-8: the two arrays are printed whole, then one error line.
        Path bad = dir.resolve("latin1.txt");
        byte[] good = "first line\nsecond line\n".getBytes(StandardCharsets.UTF_8);
        byte[] latin1 = "caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] bytes = java.util.Arrays.copyOf(good, good.length + latin1.length);
        System.arraycopy(latin1, 0, bytes, good.length, latin1.length);
        Files.write(bad, bytes);
        Run r = run("encrypt", "--key", key.toString(), "--input", bad.toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit());
        assertEquals("eestream: error: " + bad + " line 3 is not UTF-8 text (2 lines were encrypted)", r.err().trim());
        assertEquals(2, r.out().lines().count(), r.out());
        assertTrue(r.out().endsWith("]\n"), r.out());

        Run both = run("encrypt", "--key", key.toString(), "--text", "x", "--input", bad.toString());
        assertEquals(2, both.exit());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
        Run neither = run("encrypt", "--key", key.toString());
        assertEquals(2, neither.exit());
        assertTrue(neither.err().contains("--text") && neither.err().contains("--input"), neither.err());
    }

    @Test
    void passphraseProtectedKeysNeedTheRightPassphrase() {
        // The passphrase is read from a named environment variable; PATH and HOME exist in every test run.
        Path key = keygen("sealed.key", "--passphrase-env", "PATH");
        assertEquals(0, run("encrypt", "--key", key.toString(), "--passphrase-env", "PATH", "--text", "x").exit());
        Run wrong = run("encrypt", "--key", key.toString(), "--passphrase-env", "HOME", "--text", "x");
        assertEquals(EestreamCli.EXIT_USER_ERROR, wrong.exit());
        assertTrue(wrong.err().contains("wrong passphrase"), wrong.err());
        Run none = run("encrypt", "--key", key.toString(), "--text", "x");
        assertTrue(none.err().contains("passphrase-protected"), none.err());
        // The key library names its setting; the CLI says which flag sets it.
        assertTrue(none.err().contains("pass --passphrase-env VAR") && !none.err().contains("(setting:"), none.err());
        Run missing = run("encrypt", "--key", key.resolveSibling("no-such.key").toString(), "--text", "x");
        assertTrue(missing.err().contains("does not exist; create one with: eestream keygen --out"), missing.err());
        Run unset = run("encrypt", "--key", key.toString(), "--passphrase-env", "EESTREAM_NO_SUCH_VARIABLE", "--text", "x");
        assertTrue(unset.err().contains("EESTREAM_NO_SUCH_VARIABLE"), unset.err());
    }

    @Test
    void aKeyFileOthersCanReadIsRefusedWithAClearError() throws Exception {
        Path key = keygen("shared.key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r-----"));
        Run r = run("encrypt", "--key", key.toString(), "--text", "x");
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit());
        assertTrue(r.err().startsWith("eestream: error: ") && r.err().contains("chmod 600"), r.err());
        assertEquals("", r.out(), "nothing encrypted with a key others could read");
    }

    @Test
    void benchmarkEeRunsAndSaysWhichDeviceRan() {
        Run r = run("benchmark-ee", "--task", "classify", "--device", "cuda", "--batch-sizes", "1", "--lengths", "8",
                "--min-pairs", "2", "--seconds", "0");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("EE/plaintext throughput ratio"), r.out());
        if (!Files.exists(Path.of("/dev/nvidia0"))) {
            assertTrue(r.out().contains("cuda is not available: both sessions run on cpu"), r.out());
        }
        assertRefused("unknown device 'gpu'", "benchmark-ee", "--device", "gpu");
    }

    /** The tiny decoder of the ee-core tests, given by the size options. */
    private static final List<String> TINY_DECODER = List.of("--vocab-size", "96", "--hidden-size", "32", "--layers", "2",
            "--heads", "4", "--context-length", "64", "--batch-sizes", "2", "--prompt-length", "5", "--new-tokens", "4",
            "--pairs", "3", "--seconds", "0");

    private static Run benchmarkGenerate(String... extra) {
        List<String> args = new ArrayList<>(List.of("benchmark-generate"));
        args.addAll(TINY_DECODER);
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    @Test
    void benchmarkGenerateChecksEeTokensAgainstPlaintextThenPrintsARatio() {
        for (String family : List.of("llama", "gpt2")) {
            Run r = benchmarkGenerate("--family", family);
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("synthetic " + family + " decoder (random weights): vocabulary 96, hidden 32"), r.out());
            assertTrue(r.out().contains("batch 2: EE greedy tokens decrypted with π⁻¹ equal plaintext greedy tokens: "
                    + "2 sequences x 4 tokens"), r.out());
            // batch, plaintext tok/s, EE tok/s, ratio, two TTFTs, and exactly the 3 pairs asked for
            assertTrue(r.out().matches("(?s).*\\n\\s+2(\\s+\\d+\\.\\d+){5}\\s+3\\n.*"), r.out());
            assertTrue(r.out().contains("EE/plaintext decode throughput ratio: geometric mean "), r.out());
        }
        Run control = benchmarkGenerate("--control", "--no-hidden-permutation");
        assertEquals(0, control.exit(), control.err());
        assertTrue(control.out().contains("hidden permutation off"), control.out());
        assertTrue(control.out().contains("plaintext#2 greedy tokens equal plaintext greedy tokens"), control.out());
        assertTrue(control.out().contains("A/A control decode throughput ratio"), control.out());
    }

    @Test
    void benchmarkGenerateRefusesOptionsItCannotRun() {
        assertRefused("exceed the context length 64", "benchmark-generate", "--context-length", "64", "--prompt-length", "60",
                "--new-tokens", "8");
        assertRefused("multiple of the heads", "benchmark-generate", "--hidden-size", "30");
        assertRefused("GPT-2 has no grouped-query attention", "benchmark-generate", "--family", "gpt2", "--kv-heads", "2");
        assertRefused("unknown decoder family 'bert'", "benchmark-generate", "--family", "bert");
        assertRefused("--batch-sizes must be positive", "benchmark-generate", "--batch-sizes", "0");
        assertRefused("--pairs must be at least 1", "benchmark-generate", "--pairs", "0");
        Run typo = run("benchmark-generate", "--new-tokens", "many");
        assertEquals(CommandLine.ExitCode.USAGE, typo.exit());
        assertTrue(typo.err().contains("--new-tokens"), typo.err());
    }

    @Test
    void benchmarkGeneratePipelineRefusesABacklogItCannotRun() {
        assertRefused("--prompt-tokens must be MIN-MAX or N, got 'few'", "benchmark-generate-pipeline", "--prompt-tokens", "few");
        assertRefused("ranges must be MIN-MAX with 1 <= MIN <= MAX", "benchmark-generate-pipeline", "--new-tokens", "9-3");
        assertRefused("exceed the context length 64", "benchmark-generate-pipeline", "--context-length", "64",
                "--prompt-tokens", "4-40", "--new-tokens", "30");
        assertRefused("at least 20 requests", "benchmark-generate-pipeline", "--requests", "5");
        Run typo = run("benchmark-generate-pipeline", "--max-sequences", "lots");
        assertEquals(CommandLine.ExitCode.USAGE, typo.exit());
        assertTrue(typo.err().contains("--max-sequences"), typo.err());
    }

    @Test
    void aFileThatIsNotAKeyIsRefused() throws Exception {
        Path notKey = dir.resolve("notes.txt");
        Files.writeString(notKey, "{\"hello\": 1}");
        Files.setPosixFilePermissions(notKey, PosixFilePermissions.fromString("rw-------"));
        Run r = run("encrypt", "--key", notKey.toString(), "--text", "x");
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit());
        assertTrue(r.err().contains("not an eestream key file"), r.err());
        assertFalse(r.err().contains("Exception"), "no stack trace for user errors: " + r.err());
    }

    @Test
    void exportTokenizerWritesAnOwnerOnlyPrivateTokenizer() throws Exception {
        Path key = keygen("k");
        Path out = dir.resolve("private.json");
        Run r = run("export-tokenizer", "--key", key.toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
        assertTrue(Files.readString(out).contains("\"WordPiece\""));
        assertEquals(EestreamCli.EXIT_USER_ERROR, run("export-tokenizer", "--key", key.toString(), "--out", out.toString()).exit());
    }

    @Test
    void encryptModelOnAModelGivenByPath() throws Exception {
        Path key = keygen("k");
        Path model = tinyEncoder();
        Path tokenizer = tinyTokenizer();
        Path out = dir.resolve("models").resolve("tiny-topics");
        Run r = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--task", "classify", "--labels", "w3 w4,w5 w6,w7", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        ModelManifest m = ModelBundle.at(out).readManifest();
        assertEquals("tiny-topics", m.modelId());
        assertEquals("classify", m.task());
        assertEquals(3, m.outputWidth());
        assertEquals(TinyModels.ENCODER_VOCAB, m.vocabSize());
        assertEquals(TinyModels.MAX_POSITIONS, m.maxSequenceLength());
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(ModelBundle.at(out).modelFile())));
        Path profile = ClientProfile.besides(out);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(profile)));
        assertEquals(List.of("w3 w4", "w5 w6", "w7"), ClientProfile.read(profile).labels());
        assertFalse(Files.readString(ModelBundle.at(out).manifestFile()).contains("w5 w6"), "label names stay with the client");
        OnnxMl.ModelProto written = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(ModelBundle.at(out).modelFile()));
        assertEquals(List.of("scores"), written.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).toList());
        // The written model names nothing of its source: opaque node and tensor names beside its inputs and output.
        assertTrue(written.getGraph().getInitializerList().stream().allMatch(t -> t.getName().matches("t[0-9]+")));
        assertTrue(written.getGraph().getNodeList().stream().allMatch(n -> n.getName().matches("n[0-9]+")));
        assertEquals("", written.getDocString());

        Run again = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--task", "embed", "--out", out.toString());
        assertEquals(EestreamCli.EXIT_USER_ERROR, again.exit());
        assertTrue(again.err().contains("--force"), again.err());
        Run forced = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer",
                tokenizer.toString(), "--task", "embed", "--out", out.toString(), "--force");
        assertEquals(0, forced.exit());
        assertTrue(forced.out().contains("hidden permutation on"), forced.out());
        ModelManifest embedManifest = ModelBundle.at(out).readManifest();
        assertEquals("embed", embedManifest.task());
        // The server learns neither whose key it is nor which permutations were applied; the random encryption id
        // is the profile's, and a new one each time.
        String manifestText = Files.readString(ModelBundle.at(out).manifestFile());
        assertFalse(manifestText.contains("keyId") || manifestText.contains("hiddenPermutation")
                || manifestText.contains(dev.eestream.core.key.KeyFiles.read(key, null).keyId()), manifestText);
        assertTrue(embedManifest.encryptionId().matches("[0-9a-f]{32}"), embedManifest.encryptionId());
        assertEquals(embedManifest.encryptionId(), ClientProfile.read(ClientProfile.besides(out)).encryptionId());
        assertEquals(0, run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer",
                tokenizer.toString(), "--task", "embed", "--out", out.toString(), "--force").exit());
        assertNotEquals(embedManifest.encryptionId(), ModelBundle.at(out).readManifest().encryptionId());

        // [CLS] pooling: the head gathers position 0 instead of averaging.
        assertEquals(0, run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer",
                tokenizer.toString(), "--task", "embed", "--pooling", "cls", "--out", out.toString(), "--force").exit());
        OnnxMl.ModelProto cls = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(ModelBundle.at(out).modelFile()));
        assertTrue(cls.getGraph().getNodeList().stream().anyMatch(n -> readsFirstPosition(cls, n)), "a Gather of position 0");
        assertRefused("unknown pooling 'max': use mean or cls", "encrypt-model", "--key", key.toString(), "--model",
                model.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--pooling", "max", "--out",
                out.toString(), "--force");

        // Homophones: allotted by a corpus, the counts in the client profile only; encrypt --profile draws them afresh.
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "w3 w3 w3 w4\nw3 w5\n\nw3 w3 w6\n");
        Run h = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--task", "embed", "--homophones", "4", "--homophone-corpus", corpus.toString(), "--out", out.toString(), "--force");
        assertEquals(0, h.exit(), h.err());
        assertTrue(h.out().contains("4.00 ids per token") && h.err().contains("allotted by 9 tokens of 3 texts"),
                h.out() + h.err());
        ClientProfile withHomophones = ClientProfile.read(ClientProfile.besides(out));
        assertEquals(withHomophones.homophones().slotCount(), ModelBundle.at(out).readManifest().vocabSize());
        assertTrue(withHomophones.homophones().count(3) > withHomophones.homophones().count(9), "w3 is the corpus's commonest");
        assertFalse(Files.readString(ModelBundle.at(out).manifestFile()).contains(withHomophones.homophoneCounts()));
        Run first = run("encrypt", "--key", key.toString(), "--profile", ClientProfile.besides(out).toString(), "--text", "w3 w3 w3");
        Run second = run("encrypt", "--key", key.toString(), "--profile", ClientProfile.besides(out).toString(), "--text", "w3 w3 w3");
        assertEquals(0, first.exit(), first.err());
        assertNotEquals(first.out(), second.out(), "homophones: one text, two ciphertexts");
        Run back = run("decrypt", "--key", key.toString(), "--profile", ClientProfile.besides(out).toString(), "--ids",
                first.out().strip());
        assertEquals("w3 w3 w3", back.out().strip(), back.err());
        assertRefused("--homophones must be between 1 and 64 ids per token, got 65", "encrypt-model", "--key", key.toString(),
                "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--homophones", "65",
                "--out", out.toString(), "--force");
        assertRefused("--homophone-corpus only applies with --homophones N", "encrypt-model", "--key", key.toString(),
                "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--homophone-corpus",
                corpus.toString(), "--out", out.toString(), "--force");
        assertRefused("corpus " + dir.resolve("none.txt") + " does not exist", "encrypt-model", "--key", key.toString(),
                "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--homophones", "2",
                "--homophone-corpus", dir.resolve("none.txt").toString(), "--out", out.toString(), "--force");
    }

    /** A fine-tuned classifier as Hugging Face exports it (model.onnx with its own logits head, config.json with id2label). */
    @Test
    void encryptModelKeepsAFineTunedClassifiersHeadAndNamesItsClassesFromConfig() throws Exception {
        Path key = keygen("k");
        Path model = dir.resolve("sentiment.onnx");
        Files.write(model, TinyClassifiers.bert(5, 3).toByteArray());
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"id2label\": {\"0\": \"negative\", \"1\": \"neutral\", \"2\": \"positive\"}}");
        Path tokenizer = tinyTokenizer();
        Path out = dir.resolve("models").resolve("sentiment");
        Run r = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--task", "classify", "--config", config.toString(), "--hidden-permutation", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("(classify, the model's own head, 3 outputs, hidden permutation on"), r.out());
        ModelManifest m = ModelBundle.at(out).readManifest();
        assertEquals("logits", m.output());
        assertEquals(3, m.labelCount());
        assertEquals("token_type_ids", m.tokenTypeIdsInput());
        ClientProfile profile = ClientProfile.read(ClientProfile.besides(out));
        assertEquals(List.of("negative", "neutral", "positive"), profile.labels());
        assertEquals(ClassifierKind.OWN_HEAD, profile.classifier());
        assertFalse(Files.readString(ModelBundle.at(out).manifestFile()).contains("neutral"), "label names stay with the client");

        String[] base = {"encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer",
            tokenizer.toString(), "--task", "classify", "--force", "--out", out.toString()};
        assertClassifyRefused("has 3 classes (output 'logits' [batch, 3]), but 2 label names were given", base, "--labels", "bad,good");
        assertClassifyRefused("--labels or --config, not both", base, "--labels", "a,b,c", "--config", config.toString());
        Files.writeString(config, "{\"id2label\": {\"0\": \"negative\", \"2\": \"positive\"}}");
        assertClassifyRefused("must name every class from 0 on", base, "--config", config.toString());
        assertClassifyRefused("does not exist", base, "--config", dir.resolve("nowhere.json").toString());
        assertEquals(List.of("negative", "neutral", "positive"), ClientProfile.read(ClientProfile.besides(out)).labels(),
                "a refused run leaves the model as it was");
    }

    private static void assertClassifyRefused(String why, String[] base, String... extra) {
        List<String> args = new ArrayList<>(List.of(base));
        args.addAll(List.of(extra));
        Run r = run(args.toArray(String[]::new));
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit(), String.join(" ", args) + " -> " + r.out() + r.err());
        assertEquals(1, r.err().lines().count(), "one line, no stack trace: " + r.err());
        assertTrue(r.err().contains(why), "expected '" + why + "' in: " + r.err());
    }

    /** A decoder in the optimum with-past layout, as a user's export would be, with its tokenizer and tokenizer config. */
    @Test
    void encryptModelOnADecoderKeepsTheCacheAndPutsTheChatFactsInTheProfile() throws Exception {
        Path key = keygen("k");
        Path model = dir.resolve("decoder.onnx");
        Files.write(model, SyntheticDecoders.build(SyntheticDecoderSpec.builder(SyntheticDecoderSpec.Family.LLAMA).vocabSize(64)
                .hiddenSize(32).layers(2).heads(4).kvHeads(2).intermediateSize(64).contextLength(48).build()).toByteArray());
        Path tokenizer = dir.resolve("tokenizer.json");
        Files.writeString(tokenizer, SyntheticTokenizers.numberedWords(64).text());
        String template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\\n{% endfor %}";
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"bos_token\": \"<s>\", "
                + "\"eos_token\": \"</s>\", \"chat_template\": \"" + template + "\"}");
        Path out = dir.resolve("models").resolve("tiny-chat");

        Run r = run("encrypt-model", "--key", key.toString(), "--model", model.toString(), "--tokenizer", tokenizer.toString(),
                "--tokenizer-config", config.toString(), "--task", "generate", "--hidden-permutation", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        ModelManifest m = ModelBundle.at(out).readManifest();
        assertEquals("generate", m.task());
        assertEquals(List.of(2, 2, 8, 48), List.of(m.layerCount(), m.kvHeads(), m.headSize(), m.maxSequenceLength()));
        assertTrue(r.out().contains("hidden permutation on"), r.out());
        OnnxMl.ModelProto written = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(ModelBundle.at(out).modelFile()));
        assertEquals(List.of("logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"),
                written.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).sorted().toList());
        ClientProfile.Generation g = ClientProfile.read(ClientProfile.besides(out)).generation();
        assertEquals(List.of(1L, 2L, List.of(2L)), java.util.Arrays.asList(g.bosId(), g.eosId(), g.stopIds()));
        assertEquals(template.replace("\\n", "\n"), g.chatTemplate());
        assertFalse(Files.readString(ModelBundle.at(out).manifestFile()).contains("messages"), "the chat template stays with the client");

        // The same decoder exported with external data (optimum's model.onnx + model.onnx_data), encrypted with external data.
        Path exportDir = Files.createDirectories(dir.resolve("export"));
        OnnxMl.ModelProto source = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model));
        ExternalData.Split split = ExternalData.split(source, "model.onnx_data", ExternalData.DEFAULT_MIN_BYTES);
        Files.write(exportDir.resolve("model.onnx"), split.modelBytes());
        try (var data = Files.newOutputStream(exportDir.resolve("model.onnx_data"))) {
            split.writeData(data);
        }
        Path external = dir.resolve("models").resolve("tiny-chat-external");
        Run withData = run("encrypt-model", "--key", key.toString(), "--model", exportDir.resolve("model.onnx").toString(),
                "--tokenizer", tokenizer.toString(), "--task", "generate", "--external-data", "always", "--out", external.toString());
        assertEquals(0, withData.exit(), withData.err());
        assertTrue(withData.out().contains("model.onnx + model.onnx_data"), withData.out());
        assertTrue(ModelBundle.at(external).hasData());
        assertEquals(m.layerCount(), ModelBundle.at(external).readManifest().layerCount());
        assertRefused("external data must be auto, always or never, not 'sometimes'", "encrypt-model", "--key", key.toString(),
                "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--task", "generate", "--external-data",
                "sometimes", "--out", dir.resolve("models").resolve("no-mode").toString());

        Path other = dir.resolve("models").resolve("refused");
        assertRefused("--tokenizer-config only applies to --task generate", "encrypt-model", "--key", key.toString(), "--model",
                model.toString(), "--tokenizer", tokenizer.toString(), "--tokenizer-config", config.toString(), "--task", "embed",
                "--out", other.toString());
        assertRefused("--pooling only applies to --task embed and classify", "encrypt-model", "--key", key.toString(),
                "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--task", "generate", "--pooling", "cls",
                "--out", other.toString());
        Path badConfig = dir.resolve("not-a-config.json");
        Files.writeString(badConfig, "[1, 2]");
        assertRefused("tokenizer_config.json", "encrypt-model", "--key", key.toString(), "--model", model.toString(),
                "--tokenizer", tokenizer.toString(), "--tokenizer-config", badConfig.toString(), "--task", "generate",
                "--out", other.toString());
        assertFalse(Files.exists(other), "nothing written for a refused run");
    }

    /**
     * Length buckets on the bundled model: the manifest lists the end token's ciphertext id, the profile the buckets;
     * encrypt --profile pads each text to its bucket and decrypt --profile gives the text back without the filler.
     */
    @Test
    void encryptModelWithLengthBuckets() throws Exception {
        Path key = keygen("k");
        Path out = dir.resolve("minilm-buckets");
        Run r = run("encrypt-model", "--key", key.toString(), "--model", "all-minilm-l6-v2", "--task", "classify",
                "--labels", "sports,finance", "--length-buckets", "16, 32", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("length buckets 16,32,128"), r.out()); // the tokenizer cuts at 128
        assertTrue(r.err().contains("length buckets without homophones: [SEP] is then one id"), r.err());
        ModelManifest m = ModelBundle.at(out).readManifest();
        EeKey k = dev.eestream.core.key.KeyFiles.read(key, null);
        assertArrayEquals(new long[] {k.vocabPermutation(30522).apply(102)}, m.endIdList(), "[SEP]'s ciphertext id");
        Path profile = ClientProfile.besides(out);
        assertEquals(List.of(16, 32, 128), ClientProfile.read(profile).lengthBuckets());

        Path texts = dir.resolve("texts.txt");
        Files.writeString(texts, "The match went to penalties.\n" + "word ".repeat(20) + "\n" + "word ".repeat(40) + "\n");
        Run padded = run("encrypt", "--key", key.toString(), "--profile", profile.toString(), "--input", texts.toString());
        assertEquals(0, padded.exit(), padded.err());
        List<String> lines = padded.out().lines().toList();
        assertEquals(List.of(16, 32, 128), lines.stream().map(l -> JsonParser.parseString(l).getAsJsonArray().size()).toList());
        Run back = run("decrypt", "--key", key.toString(), "--profile", profile.toString(), "--ids", lines.get(0));
        assertEquals("the match went to penalties.", back.out().strip(), back.err());
        assertRefused("holds the end token", "encrypt", "--key", key.toString(), "--profile", profile.toString(), "--text",
                "one [SEP] two");

        String[] tiny = {"encrypt-model", "--key", key.toString(), "--model", tinyEncoder().toString(), "--tokenizer",
            tinyTokenizer().toString(), "--out", dir.resolve("refused").toString()};
        assertRefused("length buckets need a tokenizer that starts and ends each text with its own special token", concat(tiny,
                "--task", "embed", "--length-buckets", "16"));
        assertRefused("--length-buckets only applies to --task classify and embed", concat(tiny, "--task", "generate",
                "--length-buckets", "16"));
        assertRefused("length buckets must rise: [16, 8]", concat(tiny, "--task", "embed", "--length-buckets", "16,8"));
        assertRefused("'x' is not a number", concat(tiny, "--task", "embed", "--length-buckets", "16,x"));
        assertFalse(Files.exists(dir.resolve("refused")), "nothing written for a refused run");
    }

    /** benchmark-privacy on a user's model: refusals before any corpus is read. */
    @Test
    void benchmarkPrivacyOnAUsersModelNeedsItsKeyAndItsModel() throws Exception {
        Path key = keygen("k");
        String[] base = {"benchmark-privacy", "--corpus", dir.resolve("traffic").toString(), "--reference-corpus",
            dir.resolve("reference").toString()};
        Path empty = Files.createDirectories(dir.resolve("no-model"));
        assertRefused("--model needs --key, the key the model was encrypted with", concat(base, "--model", empty.toString()));
        assertRefused("with --model the model's own homophones, labels and length buckets are attacked", concat(base, "--model",
                empty.toString(), "--key", key.toString(), "--homophones", "4"));
        assertRefused(empty + " holds no EE model", concat(base, "--model", empty.toString(), "--key", key.toString()));
        assertRefused("length buckets must rise", concat(base, "--length-buckets", "32,16"));
        assertRefused("--solver-budgets takes a comma list of token counts or none, got '10000,lots'",
                concat(base, "--solver-budgets", "10000,lots"));
        assertRefused("each size must be at least 100 tokens, got 5", concat(base, "--solver-budgets", "5"));
    }

    private static String[] concat(String[] first, String... rest) {
        String[] all = java.util.Arrays.copyOf(first, first.length + rest.length);
        System.arraycopy(rest, 0, all, first.length, rest.length);
        return all;
    }

    @Test
    void encryptModelOnTheBundledModel() throws Exception {
        Path key = keygen("k");
        Path out = dir.resolve("minilm");
        Run r = run("encrypt-model", "--key", key.toString(), "--model", "all-minilm-l6-v2", "--task", "embed",
                "--out", out.toString(), "--model-id", "minilm-embed");
        assertEquals(0, r.exit(), r.err());
        ModelManifest m = ModelBundle.at(out).readManifest();
        assertEquals("minilm-embed", m.modelId());
        assertEquals(384, m.outputWidth());
        assertEquals(30522, m.vocabSize());
        assertTrue(r.out().contains("hidden permutation on"), r.out());
    }

    @Test
    void encryptModelRefusesWhatItCannotDoSafely() throws Exception {
        Path key = keygen("k");
        Path tokenizer = tinyTokenizer();
        Path noIds = dir.resolve("no-ids.onnx");
        Files.write(noIds, floatOnlyModel().toByteArray());
        assertRefused("cannot find the model's token-id input", "encrypt-model", "--key", key.toString(), "--model",
                noIds.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--out", dir.resolve("o1").toString());
        assertRefused("does not belong to this model", "encrypt-model", "--key", key.toString(), "--model", "all-minilm-l6-v2",
                "--tokenizer", tokenizer.toString(), "--task", "embed", "--out", dir.resolve("o2").toString());
        Path garbage = dir.resolve("garbage.onnx");
        Files.writeString(garbage, "this is not a model");
        assertRefused("not an ONNX model", "encrypt-model", "--key", key.toString(), "--model", garbage.toString(),
                "--tokenizer", tokenizer.toString(), "--task", "embed", "--out", dir.resolve("o3").toString());
        // An export that keeps its weights beside the .onnx file (models over 2 GB) without its data file: refused by name.
        OnnxMl.ModelProto tiny = TinyModels.encoder(3, null);
        OnnxMl.GraphProto.Builder graph = tiny.getGraph().toBuilder();
        graph.setInitializer(0, graph.getInitializer(0).toBuilder().clearRawData().clearFloatData()
                .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("model.onnx_data")));
        Path external = dir.resolve("external.onnx");
        Files.write(external, tiny.toBuilder().setGraph(graph).build().toByteArray());
        assertRefused("initializer 'word_embeddings' keeps its data in " + dir.resolve("model.onnx_data") + ", which does not exist",
                "encrypt-model", "--key", key.toString(), "--model",
                external.toString(), "--tokenizer", tokenizer.toString(), "--task", "embed", "--out", dir.resolve("o7").toString());
        assertRefused("needs --labels", "encrypt-model", "--key", key.toString(), "--model", "all-minilm-l6-v2",
                "--task", "classify", "--out", dir.resolve("o4").toString());
        assertRefused("plaintext basis", "encrypt-model", "--key", key.toString(), "--model", "all-minilm-l6-v2",
                "--task", "embed", "--no-hidden-permutation", "--out", dir.resolve("o5").toString());
        Path sealed = keygen("sealed", "--passphrase-env", "PATH");
        assertRefused("wrong passphrase", "encrypt-model", "--key", sealed.toString(), "--passphrase-env", "HOME",
                "--model", "all-minilm-l6-v2", "--task", "embed", "--out", dir.resolve("o6").toString());
        for (String o : List.of("o1", "o2", "o3", "o4", "o5", "o6")) {
            assertFalse(Files.exists(ModelBundle.at(dir.resolve(o)).modelFile()), "nothing written for a refused run: " + o);
        }
    }

    /** Refusals that need no broker: settings the processor would refuse, a missing profile. */
    @Test
    void generateRefusesBadSettingsInOneLineBeforeConnecting() throws Exception {
        Path key = keygen("k");
        String[] base = {"generate", "--bootstrap", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--key", key.toString(),
            "--model-id", "tiny-chat", "--models", dir.toString(), "--prompt", "w3"};
        assertGenerateRefused("--max-new-tokens must be at least 1", base, "--max-new-tokens", "0");
        assertGenerateRefused("--temperature must be 0 (greedy) or a positive number", base, "--temperature", "-1");
        assertGenerateRefused("--top-p must be in (0, 1]", base, "--top-p", "1.5");
        assertGenerateRefused("--top-k must be 0 (off) or positive", base, "--top-k", "-2");
        assertGenerateRefused("no client profile for model 'tiny-chat'", base);
        Run typo = run("generate", "--prompt", "w3", "--max-new-tokens", "many");
        assertEquals(2, typo.exit(), typo.err());
        assertTrue(typo.err().contains("--max-new-tokens"), typo.err());
    }

    /** Refusals of the gateway that need no broker: what would expose the key, files that are not right. */
    @Test
    void gatewayRefusesInOneLineBeforeConnecting() throws Exception {
        Path key = keygen("k");
        Path models = Files.createDirectories(dir.resolve("models"));
        String[] base = {"gateway", "--bootstrap", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--key", key.toString(),
            "--models", models.toString(), "--port", "0"};
        assertGenerateRefused("no client profiles found in " + models, base);
        String keyId = dev.eestream.core.key.KeyFiles.read(key, null).keyId();
        new ClientProfile(ClientProfile.FORMAT, 1, "m", keyId, "embed", List.of(),
                "all-minilm-l6-v2", 30522, 384, 512, null).write(models.resolve("m.client.json"), false);
        assertGenerateRefused("without API keys would let anyone who reaches it use your key; give --api-keys FILE", base,
                "--host", "0.0.0.0");
        Path apiKeys = dir.resolve("api-keys");
        Files.writeString(apiKeys, "sk-0123456789abcdef0123\n");
        Files.setPosixFilePermissions(apiKeys, PosixFilePermissions.fromString("rw-r--r--"));
        assertGenerateRefused("API key file " + apiKeys + " is accessible to others", base, "--api-keys", apiKeys.toString());
        Path other = keygen("other");
        String[] withOtherKey = base.clone();
        withOtherKey[6] = other.toString();
        Run r = run(withOtherKey);
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit(), r.err());
        assertTrue(r.err().contains("skipping model 'm'") && r.err().contains("no client profile matches the key"), r.err());
        Run typo = run("gateway", "--key", key.toString(), "--prot", "8080");
        assertEquals(2, typo.exit(), typo.err());
        assertTrue(typo.err().contains("--prot"), typo.err());
    }

    private static void assertGenerateRefused(String why, String[] base, String... extra) {
        List<String> args = new ArrayList<>(List.of(base));
        args.addAll(List.of(extra));
        Run r = run(args.toArray(String[]::new));
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit(), String.join(" ", args) + " -> " + r.out() + r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(why), "expected '" + why + "' in: " + r.err());
        assertEquals("", r.out(), "nothing on stdout");
    }

    private static void assertRefused(String why, String... args) {
        Run r = run(args);
        assertEquals(EestreamCli.EXIT_USER_ERROR, r.exit(), String.join(" ", args) + " -> " + r.out() + r.err());
        assertTrue(r.err().contains(why), "expected '" + why + "' in: " + r.err());
    }

    /** Whether {@code n} gathers index 0 along axis 1 ([CLS] pooling: the first position's state). */
    private static boolean readsFirstPosition(OnnxMl.ModelProto model, OnnxMl.NodeProto n) {
        if (!n.getOpType().equals("Gather") || n.getAttributeList().stream().noneMatch(a -> a.getName().equals("axis") && a.getI() == 1)) {
            return false;
        }
        return model.getGraph().getInitializerList().stream().anyMatch(t -> t.getName().equals(n.getInput(1))
                && t.getDimsCount() == 0 && dev.eestream.core.model.onnx.OnnxTensors.longValues(t)[0] == 0);
    }

    /** The tiny encoder (seed 3) as an .onnx file. */
    private Path tinyEncoder() throws Exception {
        Path model = dir.resolve("tiny.onnx");
        Files.write(model, TinyModels.encoder(3, null).toByteArray());
        return model;
    }

    /** A WordLevel tokenizer over the tiny encoder's 50 ids: "[UNK]" = 0, "w1" … "w49". */
    private Path tinyTokenizer() throws Exception {
        StringBuilder vocab = new StringBuilder("\"[UNK]\": 0");
        for (int i = 1; i < TinyModels.ENCODER_VOCAB; i++) {
            vocab.append(", \"w").append(i).append("\": ").append(i);
        }
        String json = "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [],"
                + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"post_processor\": null,"
                + " \"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "}, \"unk_token\": \"[UNK]\"}}";
        Path file = dir.resolve("tiny-tokenizer.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        return file;
    }

    private static OnnxMl.ModelProto floatOnlyModel() {
        OnnxMl.TypeProto floatType = OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)).build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(OnnxMl.GraphProto.newBuilder().setName("relu")
                        .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("x").setType(floatType))
                        .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y").setType(floatType))
                        .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("x").addOutput("y")))
                .build();
    }
}
