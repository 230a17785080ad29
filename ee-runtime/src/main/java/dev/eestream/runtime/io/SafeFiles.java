package dev.eestream.runtime.io;

import dev.eestream.runtime.EeException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Writes a whole file or nothing: the bytes go to a temporary file beside the target, which gets
 * its final permissions before any byte is written, and is then moved into place. A reader never
 * sees half a file, and secrets are never readable by others, not even for a moment.
 */
public final class SafeFiles {
    private SafeFiles() {
    }

    /**
     * @param ownerOnly 0600 (key material) rather than 0644
     * @param overwrite replace an existing file; otherwise an existing file is an error and stays intact
     */
    public static void write(Path file, byte[] bytes, boolean ownerOnly, boolean overwrite) throws IOException {
        write(file, out -> out.write(bytes), ownerOnly, overwrite);
    }

    /** What writes a file's content, for files too large to hold in one array. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /** As {@link #write(Path, byte[], boolean, boolean)}, with the content streamed. */
    public static void write(Path file, Content content, boolean ownerOnly, boolean overwrite) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        boolean posix = Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null;
        // createTempFile makes the file 0600 on POSIX file systems.
        Path tmp = Files.createTempFile(dir, ".eestream-", ".tmp");
        try {
            if (!posix && ownerOnly) {
                tmp.toFile().setReadable(false, false);
                tmp.toFile().setReadable(true, true);
                tmp.toFile().setWritable(false, false);
                tmp.toFile().setWritable(true, true);
            } else if (posix && !ownerOnly) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            }
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                content.writeTo(out);
            }
            if (overwrite) {
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                // Not ATOMIC_MOVE: on Linux that is rename(2), which silently replaces an existing file.
                Files.move(tmp, file);
            }
        } catch (FileAlreadyExistsException e) {
            throw EeException.fixedBy("overwrite", file + " already exists");
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Refuses a secret file (a key, API keys) whose POSIX permissions let the group or others read or write it.
     *
     * @param what what the file is, for the message ("key file", "API key file")
     */
    public static void requireOwnerOnly(Path file, String what) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        Set<PosixFilePermission> extra = EnumSet.copyOf(perms);
        extra.removeAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_EXECUTE));
        if (!extra.isEmpty()) {
            throw new EeException(what + " " + file + " is accessible to others (mode "
                    + PosixFilePermissions.toString(perms) + "); make it owner-only with: chmod 600 " + file);
        }
    }
}
