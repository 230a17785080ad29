package dev.eestream.ops.commands;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.eestream.core.key.EeKey;
import dev.eestream.core.key.KeyFiles;
import dev.eestream.core.model.ClassLabels;
import dev.eestream.core.model.ClientProfile;
import dev.eestream.core.model.LengthBuckets;
import dev.eestream.core.model.transform.ModelTransformer;
import dev.eestream.ops.privacy.Corpus;
import dev.eestream.ops.privacy.PrivacyBenchmark;
import dev.eestream.ops.support.Passphrases;
import dev.eestream.ops.support.SourceModels;
import dev.eestream.ops.support.Tokenizers;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.ModelBundle;
import dev.eestream.runtime.model.ModelManifest;
import dev.eestream.runtime.model.Task;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

@Command(name = "benchmark-privacy", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure what each party recovers: the processor's operator holding the public base weights "
                + "(sorted-row matching for π, column matching for ρ, a zero-shot classifier's label names and σ by "
                + "embedding every vocabulary word), the operator without those weights who also reads the topic "
                + "(homophones grouped by the model's equal rows, then frequency analysis), a reader of the request topic "
                + "without weights (frequency analysis by rank and by neighbours at 10^3 … 10^6 ciphertext tokens, with "
                + "statistics from an unrelated corpus and from the traffic's own domain; with homophones, attacks built "
                + "for them; a homophonic-cipher solver over a bigram model, blind, knowing 1 in 100 requests, and with "
                + "unrelated statistics), what anyone on the topic sees for free (special tokens, lengths, repeated "
                + "requests), and what length buckets leave of request lengths. Prints a table. By default it attacks "
                + "models it makes from the base model with the key; --model attacks yours.",
            "The corpora are files from Debian packages, fetched once by scripts/fetch-privacy-corpora.sh; nothing is "
                + "downloaded when the benchmark runs."})
public final class BenchmarkPrivacyCommand implements Callable<Integer> {
    @Option(names = "--corpus", required = true, paramLabel = "PATH",
            description = "The traffic: a file or directory of text (HTML paragraphs, fortune cookies or blank-line "
                    + "paragraphs; .gz read too). A third of its texts are sent as requests, a third serve as the attacker's "
                    + "same-domain statistics, and a third as the client's sample that homophones are allotted by.")
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

    @Option(names = "--homophones", paramLabel = "N[,N…]", split = ",", defaultValue = "1",
            description = "Homophone budgets to measure, each against the same traffic: 1 is none, N gives about N ciphertext "
                    + "ids per token (default: ${DEFAULT-VALUE}).")
    List<Integer> homophones;

    @Option(names = "--allotment", paramLabel = "RULE", defaultValue = "proportional",
            description = "How homophones are shared out: proportional (by the token counts of a held-out third of the "
                    + "traffic's corpus, as encrypt-model --homophone-corpus does) or uniform (default: ${DEFAULT-VALUE}).")
    String allotment;

    @Option(names = "--length-buckets", paramLabel = "LIST", defaultValue = "16,32,64,128",
            description = "Request lengths clients pad to (encrypt-model --length-buckets), for the length attacks: a comma "
                    + "list, powers-of-two, or none to skip them (default: ${DEFAULT-VALUE}).")
    String lengthBuckets;

    @Option(names = "--solver-budgets", paramLabel = "LIST", defaultValue = "10000,100000,1000000",
            description = "Traffic sizes in tokens the homophonic-cipher solver runs at (a comma list), or none to skip it. "
                    + "It takes seconds to 15 minutes per size and homophone budget on 2 cores; the known-plaintext trial "
                    + "runs at 100000 and the unrelated-statistics one at 1000000, when listed (default: ${DEFAULT-VALUE}).")
    String solverBudgets;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Attack your own EE model, as encrypt-model wrote it with --key KEY, instead of those made here: "
                    + "weight matching on its token table, its label names if it is a zero-shot classifier, and the "
                    + "traffic encrypted with its homophones. Its client profile (DIR.client.json) scores the attacks; "
                    + "--base-model must be the public model it was made from.")
    Path model;

    @Option(names = "--labels", paramLabel = "\"a,b,c\"", defaultValue = "sports,finance,cooking,politics,weather,music,"
            + "health,travel",
            description = "The labels of the zero-shot classifier made for the label attack (default: ${DEFAULT-VALUE}).")
    String labels;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!allotment.equals("proportional") && !allotment.equals("uniform")) {
            throw new EeException("--allotment must be proportional or uniform, got '" + allotment + "'");
        }
        for (int n : homophones) {
            if (n < 1 || n > 64) {
                throw new EeException("--homophones takes budgets from 1 to 64, got " + n);
            }
        }
        List<Integer> buckets = lengthBuckets.strip().equals("none") ? null : LengthBuckets.parse(lengthBuckets).sizes();
        List<Long> solverSizes = parseSolverBudgets(solverBudgets);
        PrivacyBenchmark.UserModel user = null;
        if (model != null) {
            if (key == null) {
                throw new EeException("--model needs --key, the key the model was encrypted with: it scores the attacks");
            }
            CommandLine.ParseResult given = spec.commandLine().getParseResult();
            if (java.util.stream.Stream.of("--homophones", "--allotment", "--labels", "--length-buckets")
                    .anyMatch(given::hasMatchedOption)) {
                throw new EeException("--homophones, --allotment, --labels and --length-buckets describe the models made "
                        + "here; with --model the model's own homophones, labels and length buckets are attacked");
            }
        }
        EeKey k = key != null ? KeyFiles.read(key, Passphrases.fromEnv(passphraseEnv)) : EeKey.generate();
        if (model != null) {
            ModelBundle bundle = ModelBundle.at(model);
            if (!bundle.isComplete()) {
                throw new EeException(model + " holds no EE model (model.onnx and manifest.json, as encrypt-model writes)");
            }
            ClientProfile profile = ClientProfile.read(ClientProfile.besides(model));
            profile.requireKey(k);
            ModelManifest m = bundle.readManifest();
            if (m.taskKind() == Task.GENERATE) {
                throw new EeException("benchmark-privacy attacks classify and embed models; " + model + " generates");
            }
            user = new PrivacyBenchmark.UserModel(model.toString(), ModelTransformer.read(bundle.modelFile()), m, profile);
            buckets = profile.lengthBuckets();
        }
        ModelProto base = SourceModels.read(baseModel);
        String tokenizerName = SourceModels.tokenizerFor(baseModel, tokenizer);
        PrivacyBenchmark.Setup setup = new PrivacyBenchmark.Setup(k, base, Tokenizers.load(tokenizerName),
                Corpus.read(corpus), Corpus.read(referenceCorpus),
                corpus.toString(), referenceCorpus.toString(), homophones, allotment.equals("proportional"),
                buckets,
                ClassLabels.fromList(labels), user, solverSizes);
        new PrivacyBenchmark(spec.commandLine().getOut()).run(setup);
        return 0;
    }

    private static List<Long> parseSolverBudgets(String list) {
        if (list.strip().equals("none")) {
            return List.of();
        }
        List<Long> sizes = new java.util.ArrayList<>();
        for (String part : list.split(",")) {
            long size;
            try {
                size = Long.parseLong(part.strip());
            } catch (NumberFormatException e) {
                throw new EeException("--solver-budgets takes a comma list of token counts or none, got '" + list + "'");
            }
            if (size < 100) {
                throw new EeException("--solver-budgets: each size must be at least 100 tokens, got " + size);
            }
            sizes.add(size);
        }
        return List.copyOf(sizes);
    }
}
