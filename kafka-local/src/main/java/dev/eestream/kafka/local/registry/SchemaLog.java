package dev.eestream.kafka.local.registry;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A schema registry's registrations on disk, so that its ids and schemas survive a restart: an
 * append-only file, one {@link Registration} per line, each line the CRC32C of its JSON in 8 hex digits,
 * a space, and the JSON. {@link #append} returns only once the line is on disk (fsync), so an id the
 * registry answers with is never lost to a crash.
 *
 * <p>A crash in the middle of an append leaves at most a torn last line; opening skips it with a warning
 * and cuts it off, so the next append starts on a line of its own. Its id was never answered. A bad line
 * anywhere else is refused rather than skipped: skipping it could give its id to a second schema. The
 * file is locked while open, so two registries never write it at once.
 */
public final class SchemaLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SchemaLog.class);
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
    private static final int CHECKSUM_DIGITS = 8;

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private final List<Registration> registrations;
    // Guarded by this: why appends are refused, after a failed one could not be undone.
    private String unusableBecause;

    private SchemaLog(Path file, FileChannel channel, FileLock lock, List<Registration> registrations) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
        this.registrations = List.copyOf(registrations);
    }

    /**
     * Opens the log at {@code file}, creating it (and its directories) if missing, and reads it.
     *
     * @throws SchemaLogException if it cannot be read, is damaged other than at its last line, or is in use
     */
    public static SchemaLog open(Path file) {
        Path absolute = file.toAbsolutePath();
        FileChannel channel = null;
        try {
            Path directory = absolute.getParent();
            Files.createDirectories(directory);
            boolean created = !Files.exists(absolute);
            channel = FileChannel.open(absolute, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = lockOf(channel, absolute);
            if (created) {
                // The new file's name must be on disk too, or a crash could lose the whole file.
                syncDirectory(directory);
                syncDirectory(directory.getParent());
            }
            return new SchemaLog(absolute, channel, lock, readAndRepair(channel, absolute));
        } catch (IOException e) {
            closeQuietly(channel);
            throw SchemaLogException.unusable("cannot open the schema log " + absolute + ": " + e, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    /** What the log held when it was opened, in the order it was written. */
    public List<Registration> registrations() {
        return registrations;
    }

    /**
     * Appends {@code registration} and returns once it is on disk. A failed append is cut off again, so
     * the log stays readable; if even that fails, every later append is refused.
     */
    public synchronized void append(Registration registration) throws IOException {
        if (unusableBecause != null) {
            throw new IOException("the schema log " + file + " takes no more writes since one failed: " + unusableBecause);
        }
        ByteBuffer line = ByteBuffer.wrap(line(registration));
        long end = channel.size();
        try {
            long position = end;
            while (line.hasRemaining()) {
                position += channel.write(line, position);
            }
            // The file's size is metadata: force(true), or the line could be on disk and still unread.
            channel.force(true);
        } catch (IOException e) {
            undo(end, e);
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            // closing the channel releases the lock too
        }
        closeQuietly(channel);
    }

    /** One line: checksum, space, JSON, newline. */
    static byte[] line(Registration registration) {
        JsonObject json = new JsonObject();
        json.addProperty("subject", registration.subject());
        json.addProperty("version", registration.version());
        json.addProperty("id", registration.id());
        json.addProperty("schema", registration.schema());
        byte[] body = GSON.toJson(json).getBytes(StandardCharsets.UTF_8);
        byte[] prefix = (String.format("%08x", checksum(body, 0, body.length)) + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] line = new byte[prefix.length + body.length + 1];
        System.arraycopy(prefix, 0, line, 0, prefix.length);
        System.arraycopy(body, 0, line, prefix.length, body.length);
        line[line.length - 1] = '\n';
        return line;
    }

    private void undo(long end, IOException failure) {
        try {
            channel.truncate(end);
            channel.force(true);
        } catch (IOException e) {
            failure.addSuppressed(e);
            unusableBecause = failure.toString();
        }
    }

    private static List<Registration> readAndRepair(FileChannel channel, Path file) throws IOException {
        byte[] bytes = readAll(channel, file);
        History history = new History(file);
        int start = 0;
        int lineNumber = 0;
        while (start < bytes.length) {
            lineNumber++;
            int newline = indexOfNewline(bytes, start);
            int end = newline < 0 ? bytes.length : newline;
            boolean last = newline < 0 || newline + 1 == bytes.length;
            try {
                Registration registration = parse(bytes, start, end);
                if (newline >= 0) {
                    history.add(registration, lineNumber);
                    start = newline + 1;
                    continue;
                }
            } catch (UnreadableLine e) {
                if (!last) {
                    throw SchemaLogException.damaged("the schema log " + file + " is damaged at line " + lineNumber + " (" + e.getMessage()
                            + "), not at its end, where a crash could have torn it; skipping that line could give its schema id "
                            + "to a second schema");
                }
            }
            // A last line without its newline, or one that does not check out: an append a crash interrupted.
            log.warn("Schema log {}: skipped its torn last line ({} bytes), most likely an append that a crash interrupted before "
                    + "its schema id was answered", file, bytes.length - start);
            channel.truncate(start);
            channel.force(true);
            break;
        }
        return history.registrations;
    }

    private static Registration parse(byte[] bytes, int start, int end) throws UnreadableLine {
        int bodyStart = start + CHECKSUM_DIGITS + 1;
        if (end < bodyStart || bytes[bodyStart - 1] != ' ') {
            throw new UnreadableLine("no checksum");
        }
        long expected;
        try {
            expected = Long.parseLong(new String(bytes, start, CHECKSUM_DIGITS, StandardCharsets.US_ASCII), 16);
        } catch (NumberFormatException e) {
            throw new UnreadableLine("no checksum");
        }
        if (checksum(bytes, bodyStart, end - bodyStart) != expected) {
            throw new UnreadableLine("checksum mismatch");
        }
        try {
            JsonObject json = JsonParser.parseString(new String(bytes, bodyStart, end - bodyStart, StandardCharsets.UTF_8))
                    .getAsJsonObject();
            return new Registration(text(json, "subject"), json.get("version").getAsInt(), json.get("id").getAsInt(), text(json, "schema"));
        } catch (RuntimeException e) {
            throw new UnreadableLine("not a registration: " + e.getMessage());
        }
    }

    private static String text(JsonObject json, String name) {
        JsonElement value = json.get(name);
        if (value == null || !value.isJsonPrimitive()) {
            throw new IllegalArgumentException("no " + name);
        }
        return value.getAsString();
    }

    private static long checksum(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return crc.getValue();
    }

    private static byte[] readAll(FileChannel channel, Path file) throws IOException {
        long size = channel.size();
        if (size > Integer.MAX_VALUE - 16) {
            throw SchemaLogException.damaged("the schema log " + file + " is too large to be one (" + size + " bytes)");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) size);
        while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) >= 0) {
            // read until full: a read may return fewer bytes than asked for
        }
        return buffer.array();
    }

    private static int indexOfNewline(byte[] bytes, int from) {
        for (int index = from; index < bytes.length; index++) {
            if (bytes[index] == '\n') {
                return index;
            }
        }
        return -1;
    }

    private static FileLock lockOf(FileChannel channel, Path file) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this JVM
        }
        if (lock == null) {
            throw SchemaLogException.unusable("the schema log " + file + " is in use by another schema registry", null);
        }
        return lock;
    }

    private static void syncDirectory(Path directory) {
        if (directory == null) {
            return;
        }
        try (FileChannel handle = FileChannel.open(directory, StandardOpenOption.READ)) {
            handle.force(true);
        } catch (IOException e) {
            // Not every platform can sync a directory; there, the file system's own ordering has to do.
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            // nothing was written that a close could lose: every append was forced
        }
    }

    /** The registrations read so far, checked to be a history a registry could have written. */
    private static final class History {
        private final Path file;
        private final List<Registration> registrations = new ArrayList<>();
        private final Map<Integer, String> schemasById = new HashMap<>();
        private final Map<String, Integer> latestVersions = new HashMap<>();

        History(Path file) {
            this.file = file;
        }

        void add(Registration registration, int lineNumber) {
            String known = schemasById.putIfAbsent(registration.id(), registration.schema());
            if (known != null && !known.equals(registration.schema())) {
                throw inconsistent(lineNumber, "gives schema id " + registration.id() + " to a second schema");
            }
            int expected = latestVersions.getOrDefault(registration.subject(), 0) + 1;
            if (registration.version() != expected) {
                throw inconsistent(lineNumber, "is version " + registration.version() + " of subject '" + registration.subject()
                        + "', where version " + expected + " was due");
            }
            latestVersions.put(registration.subject(), expected);
            registrations.add(registration);
        }

        private SchemaLogException inconsistent(int lineNumber, String problem) {
            return SchemaLogException.damaged("the schema log " + file + " is inconsistent: line " + lineNumber + " " + problem);
        }
    }

    /** Why a line does not read as a registration. */
    private static final class UnreadableLine extends Exception {
        UnreadableLine(String reason) {
            super(reason, null, false, false);
        }
    }
}
