package dev.eestream.ops.support;

import dev.eestream.runtime.EeException;

/** Passphrases come from environment variables, so they never appear in shell history or process lists. */
public final class Passphrases {
    private Passphrases() {
    }

    /** The passphrase in {@code variable}, or null when no variable is named. */
    public static char[] fromEnv(String variable) {
        return fromEnv(variable, "--passphrase-env");
    }

    /** As {@link #fromEnv(String)}, for the variable named by {@code option}. */
    public static char[] fromEnv(String variable, String option) {
        if (variable == null) {
            return null;
        }
        String value = System.getenv(variable);
        if (value == null || value.isEmpty()) {
            throw new EeException("environment variable " + variable + " (named by " + option + ") is not set or empty");
        }
        return value.toCharArray();
    }
}
