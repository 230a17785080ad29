package dev.eestream.runtime;


/**
 * An error caused by input the user can fix (a bad file, a wrong passphrase, an unsupported model).
 * Its message is written for the user; command-line tools print it without a stack trace.
 */
public class EeException extends RuntimeException {
    public EeException(String message) {
        super(message);
    }

    public EeException(String message, Throwable cause) {
        super(message, cause);
    }
}
