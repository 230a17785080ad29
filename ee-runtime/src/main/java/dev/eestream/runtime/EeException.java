package dev.eestream.runtime;

import java.util.Optional;

/**
 * An error caused by input the user can fix (a bad file, a wrong passphrase, an unsupported model).
 * Its message is written for the user in the library's own terms; command-line tools print it
 * without a stack trace. When one setting of the library fixes it, {@link #setting()} names it, so
 * a caller with settings of its own (the CLI's flags) can say how to fix it in its own terms.
 */
public class EeException extends RuntimeException {
    private final String problem;
    private final String setting;

    public EeException(String message) {
        this(message, null, null);
    }

    public EeException(String message, Throwable cause) {
        this(message, null, cause);
    }

    /**
     * @param problem what is wrong, without how to fix it
     * @param setting the library setting that fixes it (e.g. {@code idsInput}), or null
     */
    public EeException(String problem, String setting, Throwable cause) {
        super(setting == null ? problem : problem + " (setting: " + setting + ")", cause);
        this.problem = problem;
        this.setting = setting;
    }

    /** An error that the named setting fixes. */
    public static EeException fixedBy(String setting, String problem) {
        return new EeException(problem, setting, null);
    }

    /** What is wrong, without the setting that fixes it. */
    public String problem() {
        return problem;
    }

    /** The library setting that fixes it, if one does. */
    public Optional<String> setting() {
        return Optional.ofNullable(setting);
    }
}
