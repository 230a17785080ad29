package dev.eestream.ops.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eestream.runtime.EeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class UserErrorsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern FIXED_BY = Pattern.compile("EeException\\.fixedBy\\(\"([A-Za-z]+)\"");
    private static final Pattern FLAG_IN_A_STRING = Pattern.compile("\"[^\"]*\\s--[a-z][a-z-]+[^\"]*\"");

    @Test
    void aSettingBecomesItsFlagAndAPlainErrorStaysAsItIs() {
        EeException e = EeException.fixedBy("idsInput", "cannot find the model's token-id input");
        assertEquals("cannot find the model's token-id input (setting: idsInput)", e.getMessage());
        assertEquals("cannot find the model's token-id input; name it with --ids-input", UserErrors.describe(e));
        assertEquals("bad file", UserErrors.describe(new EeException("bad file")));
    }

    /** Every setting a library names in an error has advice in the CLI's terms, and no library spells a flag. */
    @Test
    void everySettingTheLibrariesNameHasAdviceAndNoLibraryNamesAFlag() throws IOException {
        Set<String> named = new TreeSet<>();
        for (String module : new String[] {"ee-runtime", "ee-core", "consumer-client", "producer-client", "schemas", "gateway"}) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(f);
                    Matcher m = FIXED_BY.matcher(text);
                    while (m.find()) {
                        named.add(m.group(1));
                    }
                    Matcher flag = FLAG_IN_A_STRING.matcher(text);
                    assertFalse(flag.find(), f + " names a CLI flag in a message: " + (flag.hitEnd() ? "" : flag.group()));
                }
            }
        }
        assertTrue(named.size() >= 8, "found " + named);
        assertTrue(UserErrors.ADVICE.keySet().containsAll(named), "settings without advice: " + named);
    }
}
