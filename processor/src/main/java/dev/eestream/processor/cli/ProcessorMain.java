package dev.eestream.processor.cli;

import dev.eestream.runtime.EeException;
import java.util.function.Function;
import picocli.CommandLine;

/**
 * The processor's own entry point, for the server image: the {@code processor} command without the
 * rest of the {@code eestream} command line (and so without the key code the rest needs).
 */
public final class ProcessorMain {
    /** Exit code for errors in what the user gave (a bad setting, a missing file). */
    public static final int EXIT_USER_ERROR = 1;

    private ProcessorMain() {
    }

    /** The processor command with its settings table in --help and one-line user errors. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new ProcessorCommand()).setCaseInsensitiveEnumValuesAllowed(true)
                .setCommandName("eestream-processor");
        cl.getCommandSpec().usageMessage().footer(ProcessorCommand.settingsTable());
        cl.setExecutionExceptionHandler(userErrors("eestream-processor"));
        return cl;
    }

    /** Prints an {@link EeException} as one line, without a stack trace; anything else is a bug and propagates. */
    public static CommandLine.IExecutionExceptionHandler userErrors(String program) {
        return userErrors(program, EeException::getMessage);
    }

    /** As {@link #userErrors(String)}, with the message said by {@code describe}. */
    public static CommandLine.IExecutionExceptionHandler userErrors(String program, Function<EeException, String> describe) {
        return (e, commandLine, parseResult) -> {
            if (e instanceof EeException ee) {
                commandLine.getErr().println(program + ": error: " + describe.apply(ee));
                commandLine.getErr().flush();
                return EXIT_USER_ERROR;
            }
            throw e;
        };
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
