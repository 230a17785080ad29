package dev.eestream.core.model;

import dev.eestream.core.key.LengthPadding;
import dev.eestream.runtime.EeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The request lengths a client pads to, so that readers of the topics see a handful of lengths instead of each text's
 * own. A request of n tokens goes out with the smallest bucket ≥ n tokens; one longer than the largest bucket goes out
 * with the model's maximum length.
 */
public record LengthBuckets(List<Integer> sizes) {
    /** Powers of two from 16: what {@code --length-buckets} means without a list. */
    public static final List<Integer> POWERS_OF_TWO = List.of(16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192);

    public LengthBuckets {
        sizes = List.copyOf(sizes);
        if (sizes.isEmpty()) {
            throw new EeException("length buckets: give at least one length");
        }
        for (int i = 0; i < sizes.size(); i++) {
            if (sizes.get(i) < 2) {
                throw new EeException("length buckets: " + sizes.get(i) + " is too short (a request holds at least its two "
                        + "special tokens)");
            }
            if (i > 0 && sizes.get(i) <= sizes.get(i - 1)) {
                throw new EeException("length buckets must rise: " + sizes);
            }
        }
    }

    /** "16,32,64" (spaces allowed), or "powers-of-two". */
    public static LengthBuckets parse(String text) {
        if (text.strip().equals("powers-of-two")) {
            return new LengthBuckets(POWERS_OF_TWO);
        }
        List<Integer> sizes = new ArrayList<>();
        for (String part : text.split(",")) {
            try {
                sizes.add(Integer.parseInt(part.strip()));
            } catch (NumberFormatException e) {
                throw new EeException("length buckets: '" + part.strip() + "' is not a number (give e.g. 16,32,64,128 or "
                        + "powers-of-two)");
            }
        }
        return new LengthBuckets(sizes);
    }

    /** The buckets a model of this maximum length can take: those up to it, and the maximum itself. */
    public LengthBuckets upTo(int maxLength) {
        return new LengthBuckets(Arrays.stream(LengthPadding.upTo(array(), maxLength)).boxed().toList());
    }

    public int[] array() {
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        return String.join(",", sizes.stream().map(String::valueOf).toList());
    }
}
