package dev.eestream.ops.commands;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.ops.privacy.Corpus;
import dev.eestream.ops.privacy.PrivacyBenchmark;
import dev.eestream.ops.support.Passphrases;
import dev.eestream.ops.support.SourceModels;
import dev.eestream.ops.support.Tokenizers;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "benchmark-privacy", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure what each party recovers: the processor's operator holding the public base weights "
                + "(sorted-row matching for π, column matching for ρ), a reader of the request topic without weights "
                + "(frequency analysis by rank and by neighbours at 10^3 … 10^6 ciphertext tokens, with statistics from "
                + "an unrelated corpus and from the traffic's own domain), and what anyone on the topic sees for free "
                + "(special tokens, lengths, repeated requests). Prints a table.",
            "The corpora are files from Debian packages, fetched once by scripts/fetch-privacy-corpora.sh; nothing is "
                + "downloaded when the benchmark runs."})
public final class BenchmarkPrivacyCommand implements Callable<Integer> {
    @Option(names = "--corpus", required = true, paramLabel = "PATH",
            description = "The traffic: a file or directory of text (HTML paragraphs, fortune cookies or blank-line "
                    + "paragraphs; .gz read too). Half of its texts are sent as requests, the other half serve as "
                    + "same-domain statistics.")
    Path corpus;

    @Option(names = "--reference-corpus", required = true, paramLabel = "PATH",
            description = "The attacker's statistics from an unrelated public corpus, read the same way.")
    Path referenceCorpus;

    @Option(names = "--key", paramLabel = "KEY", description = "Key file (default: a new throwaway key).")
    Path key;

    @Option(names = "--passphrase-env", paramLabel = "VAR",
            description = "Name of the environment variable holding the key file's passphrase (never the passphrase itself).")
    String passphraseEnv;

    @Option(names = "--base-model", paramLabel = "MODEL",
            description = "The public base model the attacker holds, an .onnx file, or 'all-minilm-l6-v2' "
                    + "(default: ${DEFAULT-VALUE}).", defaultValue = "all-minilm-l6-v2")
    String baseModel;

    @Option(names = "--tokenizer", paramLabel = "TOKENIZER",
            description = "The base model's tokenizer.json (not needed for the bundled model).")
    String tokenizer;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        EeKey k = key != null ? KeyFiles.read(key, Passphrases.fromEnv(passphraseEnv)) : EeKey.generate();
        ModelProto base = SourceModels.read(baseModel);
        String tokenizerName = SourceModels.tokenizerFor(baseModel, tokenizer);
        PrivacyBenchmark.Setup setup = new PrivacyBenchmark.Setup(k, base, Tokenizers.load(tokenizerName),
                Corpus.read(corpus), Corpus.read(referenceCorpus),
                corpus.toString(), referenceCorpus.toString());
        new PrivacyBenchmark(spec.commandLine().getOut()).run(setup);
        return 0;
    }
}
