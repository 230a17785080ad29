package dev.eestream.kafka.local.registry;

/**
 * A schema log that cannot be used: damaged other than by an interrupted last write, in use by another
 * registry, or unreadable. The message names the file and says what is wrong, for a user to act on.
 */
public final class SchemaLogException extends RuntimeException {
    private final boolean damaged;

    private SchemaLogException(String message, boolean damaged, Throwable cause) {
        super(message, cause);
        this.damaged = damaged;
    }

    /** The file's content is no history a registry writes: only a backup or a new log helps. */
    static SchemaLogException damaged(String message) {
        return new SchemaLogException(message, true, null);
    }

    /** The file is fine as far as is known, but cannot be used now (in use, unreadable). */
    static SchemaLogException unusable(String message, Throwable cause) {
        return new SchemaLogException(message, false, cause);
    }

    /** Whether the file's content is at fault, rather than access to it. */
    public boolean damaged() {
        return damaged;
    }
}
