package dev.eestream.ops;

import dev.eestream.ops.commands.BenchmarkEeCommand;
import dev.eestream.ops.commands.BenchmarkGatewayCommand;
import dev.eestream.ops.commands.BenchmarkPrivacyCommand;
import dev.eestream.ops.commands.BenchmarkGenerateCommand;
import dev.eestream.ops.commands.BenchmarkGeneratePipelineCommand;
import dev.eestream.ops.commands.BenchmarkPipelineCommand;
import dev.eestream.ops.commands.ChatCommand;
import dev.eestream.ops.commands.ClassifyCommand;
import dev.eestream.ops.commands.ConsumeCommand;
import dev.eestream.ops.commands.DecryptCommand;
import dev.eestream.ops.commands.DecryptStreamCommand;
import dev.eestream.ops.commands.DemoCommand;
import dev.eestream.ops.commands.EncryptCommand;
import dev.eestream.ops.commands.EncryptModelCommand;
import dev.eestream.ops.commands.GatewayCommand;
import dev.eestream.ops.commands.GenerateCommand;
import dev.eestream.ops.commands.InspectCommand;
import dev.eestream.ops.commands.ExportTokenizerCommand;
import dev.eestream.ops.commands.KeygenCommand;
import dev.eestream.ops.commands.LocalCommand;
import dev.eestream.ops.support.UserErrors;
import dev.eestream.processor.cli.ProcessorCommand;
import dev.eestream.processor.cli.ProcessorMain;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code eestream} command line. */
@Command(name = "eestream", mixinStandardHelpOptions = true, version = "eestream 0.1.0",
        description = "Private AI inference as a Kafka stream: Equivariant-Encryption models on ciphertext token ids.",
        subcommands = {DemoCommand.class, KeygenCommand.class, EncryptCommand.class, DecryptCommand.class,
            ExportTokenizerCommand.class, InspectCommand.class, EncryptModelCommand.class, LocalCommand.class, ProcessorCommand.class,
            ClassifyCommand.class, GenerateCommand.class, ChatCommand.class, GatewayCommand.class, ConsumeCommand.class, DecryptStreamCommand.class, BenchmarkEeCommand.class,
            BenchmarkGenerateCommand.class, BenchmarkGeneratePipelineCommand.class, BenchmarkPipelineCommand.class, BenchmarkGatewayCommand.class, BenchmarkPrivacyCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Keys and key-derived files stay on the trusted side; model directories go to the server.",
            "Run 'eestream COMMAND --help' for a command's options."})
public final class EestreamCli implements Runnable {
    /** Exit code for errors in what the user gave (bad file, wrong passphrase, unsupported model). */
    public static final int EXIT_USER_ERROR = ProcessorMain.EXIT_USER_ERROR;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A command line with eestream's error handling: user errors print one line, no stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EestreamCli()).setCaseInsensitiveEnumValuesAllowed(true);
        cl.getSubcommands().get("processor").getCommandSpec().usageMessage().footer(ProcessorCommand.settingsTable());
        cl.setExecutionExceptionHandler(ProcessorMain.userErrors("eestream", UserErrors::describe));
        // picocli lets --help hide an unknown command or argument ("eestream nonsense --help" would print help and exit 0).
        cl.setExecutionStrategy(parseResult -> {
            for (CommandLine.ParseResult p = parseResult; p != null; p = p.subcommand()) {
                if (!p.unmatched().isEmpty()) {
                    throw new CommandLine.UnmatchedArgumentException(p.commandSpec().commandLine(), p.unmatched());
                }
            }
            return new CommandLine.RunLast().execute(parseResult);
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
