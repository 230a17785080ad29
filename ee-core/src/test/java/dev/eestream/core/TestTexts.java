package dev.eestream.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Varied inputs for equivalence tests: short, long (past any truncation), punctuation, non-ASCII. */
public final class TestTexts {
    private static final String[] WORDS = {"invoice", "payment", "overdue", "kafka", "stream", "the", "model", "patient",
        "diagnosis", "contract", "clause", "liability", "shipment", "delayed", "refund", "customer", "angry", "happy",
        "weather", "football", "election", "vaccine", "encryption", "privacy", "server", "GPU", "latency", "throughput",
        "batch", "token", "über", "naïve", "café", "Zürich", "résumé", "日本語", "中文字符", "Привет", "مرحبا", "😀",
        "🚀", "e=mc²", "3.14159", "$1,000,000", "#hashtag", "@user", "https://example.com/a?b=c", "C++", "don't", "--"};

    private TestTexts() {
    }

    /** {@code count} deterministic texts; every tenth one is long enough to be truncated. */
    public static List<String> varied(int count, long seed) {
        List<String> out = new ArrayList<>(List.of("a", "Hello, world!", "?!?!...;;;", "   leading and trailing   ",
                "Ünïcödé: ÀÉÎÕÜ ß ø å", "中文文本分类测试", "🙂🙃😉 emoji only 🎉", "UPPER CASE SHOUTING TEXT",
                "tab\tseparated\tvalues\nand new lines", "The invoice #4411 is overdue by 30 days; please pay €1,250.00."));
        Random r = new Random(seed);
        while (out.size() < count) {
            int n = out.size() % 10 == 0 ? 300 + r.nextInt(200) : 1 + r.nextInt(40);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append(WORDS[r.nextInt(WORDS.length)]);
                sb.append(r.nextInt(8) == 0 ? ". " : r.nextInt(10) == 0 ? ", " : " ");
            }
            out.add(sb.toString().trim());
        }
        return out;
    }
}
