package dev.eestream.core.chat;

import dev.eestream.runtime.EeException;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/** Python's {@code strftime} for the directives chat templates use (Llama 3.1 writes {@code "%d %b %Y"}). */
final class PythonStrftime {
    private static final Map<Character, String> PATTERNS = Map.ofEntries(
            Map.entry('Y', "yyyy"), Map.entry('y', "yy"), Map.entry('m', "MM"), Map.entry('d', "dd"),
            Map.entry('B', "MMMM"), Map.entry('b', "MMM"), Map.entry('A', "EEEE"), Map.entry('a', "EEE"),
            Map.entry('H', "HH"), Map.entry('I', "hh"), Map.entry('M', "mm"), Map.entry('S', "ss"),
            Map.entry('p', "a"), Map.entry('j', "DDD"), Map.entry('Z', "zzz"), Map.entry('z', "xx"));

    private PythonStrftime() {
    }

    static String format(String pythonFormat, ZonedDateTime time) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < pythonFormat.length(); i++) {
            char c = pythonFormat.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 1 == pythonFormat.length()) {
                throw new EeException("strftime format \"" + pythonFormat + "\" ends in a lone %");
            }
            char directive = pythonFormat.charAt(++i);
            if (directive == '%') {
                out.append('%');
                continue;
            }
            String pattern = PATTERNS.get(directive);
            if (pattern == null) {
                throw new EeException("the chat template calls strftime_now with %" + directive
                        + ", which eestream does not support (supported: %" + String.join(" %", PATTERNS.keySet().stream()
                        .map(String::valueOf).sorted().toList()) + " %%)");
            }
            // English names, as Python gives in its default C locale.
            out.append(DateTimeFormatter.ofPattern(pattern, Locale.US).format(time));
        }
        return out.toString();
    }
}
