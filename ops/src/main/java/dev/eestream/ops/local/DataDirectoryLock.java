package dev.eestream.ops.local;

import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Local mode's hold on its data directory, taken before the broker touches it: a second local mode on the same
 * directory is refused at once, where it used to get far enough to crash the first one's broker and damage its
 * metadata log. The operating system releases the lock when the process dies, so a SIGKILL leaves none behind.
 */
final class DataDirectoryLock implements AutoCloseable {
    static final String FILE = ".eestream-local.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static DataDirectoryLock acquire(Path dataDirectory) throws IOException {
        Files.createDirectories(dataDirectory);
        FileChannel channel = FileChannel.open(dataDirectory.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this same process
        }
        if (lock == null) {
            channel.close();
            throw new EeException("the data directory " + dataDirectory + " is in use by another local mode; stop that one, "
                    + "or give this one another --data-dir");
        }
        return new DataDirectoryLock(channel, lock);
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            // the process is ending or the file is gone: the lock goes with it
        }
    }
}
