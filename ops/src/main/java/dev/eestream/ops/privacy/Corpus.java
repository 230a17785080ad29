package dev.eestream.ops.privacy;

import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Texts to attack with, read from files that ship in Debian packages (the Python documentation's HTML, fortune
 * cookie files) or any text file: one text per paragraph (HTML), per cookie ({@code %}-separated fortune files) or
 * per blank-line-separated paragraph (anything else). Directories are read recursively, in name order; {@code .gz}
 * files are unpacked.
 */
public final class Corpus {
    private static final Pattern SCRIPTS = Pattern.compile("(?is)<(script|style)[^>]*>.*?</\\1>");
    private static final Pattern BLOCKS = Pattern.compile("(?i)</?(p|li|h[1-6]|pre|div|dt|dd|br|tr|td|th|table|section|blockquote)[^>]*>");
    private static final Pattern TAGS = Pattern.compile("<[^>]*>");
    private static final Pattern PARAGRAPHS = Pattern.compile("\\n\\s*\\n");
    private static final Pattern FORTUNES = Pattern.compile("\\n%\\n");
    private static final Pattern SPACE = Pattern.compile("\\s+");
    private static final int MIN_WORDS = 3;
    private static final int MAX_CHARS = 2000;

    private Corpus() {
    }

    public static List<String> read(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new EeException("corpus " + path + " does not exist (see the README's privacy section for the Debian "
                    + "packages the benchmark reads)");
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(path)) {
            files = walk.filter(Files::isRegularFile).filter(Corpus::isText).sorted().toList();
        }
        List<String> texts = new ArrayList<>();
        for (Path file : files) {
            texts.addAll(texts(file));
        }
        if (texts.isEmpty()) {
            throw new EeException("corpus " + path + " holds no text to read");
        }
        return texts;
    }

    /** Fortune index files (.dat) and binaries are skipped; everything else is read as UTF-8 text. */
    private static boolean isText(Path file) {
        String name = file.getFileName().toString();
        return !name.endsWith(".dat") && !name.endsWith(".png") && !name.endsWith(".js") && !name.endsWith(".css")
                && !name.endsWith(".inv") && !name.endsWith(".svg") && !name.endsWith(".pdf");
    }

    private static List<String> texts(Path file) throws IOException {
        String name = file.getFileName().toString();
        String content;
        try (InputStream in = name.endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file)) : Files.newInputStream(file)) {
            content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String base = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
        String[] parts;
        if (base.endsWith(".html") || base.endsWith(".htm")) {
            parts = PARAGRAPHS.split(unescape(TAGS.matcher(BLOCKS.matcher(SCRIPTS.matcher(content).replaceAll(" "))
                    .replaceAll("\n\n")).replaceAll("")));
        } else if (content.contains("\n%\n")) {
            parts = FORTUNES.split(content);
        } else {
            parts = PARAGRAPHS.split(content);
        }
        List<String> out = new ArrayList<>();
        for (String part : parts) {
            String text = SPACE.matcher(part).replaceAll(" ").strip();
            if (text.length() > MAX_CHARS) {
                text = text.substring(0, MAX_CHARS);
            }
            if (text.split(" ").length >= MIN_WORDS) {
                out.add(text);
            }
        }
        return out;
    }

    private static String unescape(String html) {
        return html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
                .replace("&nbsp;", " ").replace("&#8217;", "'").replace("&#8220;", "\"").replace("&#8221;", "\"")
                .replace("&amp;", "&");
    }
}
