package dev.eestream.ops.privacy;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.core.model.onnx.OnnxTensors;
import dev.eestream.core.model.transform.ModelTransformer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * The attack of whoever holds the EE model file and the public base model it was made from (the processor's
 * operator): π only moves whole rows of the token table and ρ only moves columns, so a row's values, sorted, are the
 * same in both tables. Matching sorted rows recovers π; matching columns over the matched rows then recovers ρ.
 * No guess list, no traffic. The figures are scored against the true key, which the benchmark holds and the
 * attacker does not use.
 */
final class WeightMatching {
    /** Rows used to tell columns apart: enough that no two columns agree on all of them. */
    private static final int COLUMN_PROBE_ROWS = 64;

    /**
     * @param vocab         rows of the token table
     * @param piRecovered   ciphertext ids whose plaintext the attack names correctly
     * @param piAmbiguous   ciphertext ids whose sorted row matches more than one base row (the attack guesses the first)
     * @param piSeconds     time to recover π, tables read
     * @param width         columns of the token table
     * @param rhoRecovered  columns whose place the attack names correctly
     * @param rhoSeconds    time to recover ρ once π is known
     * @param eeColumnOf    the attack's ρ: for each column of the base table, the EE table's column it found (-1: none)
     */
    record Outcome(int vocab, int piRecovered, int piAmbiguous, double piSeconds, int width, int rhoRecovered,
            double rhoSeconds, int[] eeColumnOf) {
    }

    private WeightMatching() {
    }

    /**
     * @param rho the true column permutation of the table (identity for a model without ρ)
     */
    static Outcome attack(ModelProto base, ModelProto ee, String eeIdsInput, Permutation pi, Permutation rho) {
        return attack(base, ee, eeIdsInput, pi::invert, rho);
    }

    /**
     * @param plainOf the true token of each ciphertext id (with homophones, several ids share one)
     * @param rho     the true column permutation of the table (identity for a model without ρ)
     */
    static Outcome attack(ModelProto base, ModelProto ee, String eeIdsInput, IntUnaryOperator plainOf, Permutation rho) {
        long started = System.nanoTime();
        long[][] baseRows = rows(table(base, null));
        long[][] eeRows = rows(table(ee, eeIdsInput));
        Map<LongsKey, List<Integer>> bySortedRow = new HashMap<>();
        for (int t = 0; t < baseRows.length; t++) {
            bySortedRow.computeIfAbsent(LongsKey.sorted(baseRows[t]), key -> new ArrayList<>()).add(t);
        }
        int[] guessedPlain = new int[eeRows.length];
        int[] candidateCount = new int[eeRows.length];
        int recovered = 0;
        int ambiguous = 0;
        for (int c = 0; c < eeRows.length; c++) {
            List<Integer> candidates = bySortedRow.getOrDefault(LongsKey.sorted(eeRows[c]), List.of());
            guessedPlain[c] = candidates.isEmpty() ? -1 : candidates.get(0);
            candidateCount[c] = candidates.size();
            ambiguous += candidates.size() > 1 ? 1 : 0;
            recovered += guessedPlain[c] >= 0 && plainOf.applyAsInt(c) == guessedPlain[c] ? 1 : 0;
        }
        double piSeconds = (System.nanoTime() - started) / 1e9;

        long rhoStarted = System.nanoTime();
        int[] probes = probeRows(candidateCount);
        int width = baseRows[0].length;
        Map<LongsKey, Integer> eeColumns = new HashMap<>();
        for (int col = 0; col < width; col++) {
            eeColumns.put(column(eeRows, probes, col, null), col);
        }
        int rhoRecovered = 0;
        int[] eeColumnOf = new int[width];
        for (int col = 0; col < width; col++) {
            Integer guessed = eeColumns.get(column(baseRows, probes, col, guessedPlain));
            eeColumnOf[col] = guessed == null ? -1 : guessed;
            rhoRecovered += guessed != null && guessed == rho.apply(col) ? 1 : 0;
        }
        return new Outcome(eeRows.length, recovered, ambiguous, piSeconds, width, rhoRecovered,
                (System.nanoTime() - rhoStarted) / 1e9, eeColumnOf);
    }

    /**
     * The model file's own grouping of homophones, with no public weights: a token's ids share one row of the token
     * table, bit for bit (ρ moves every row's columns alike). Each ciphertext id maps to the first id with its row.
     */
    static Map<Long, Long> equalRows(ModelProto ee, String eeIdsInput) {
        TensorProto table = table(ee, eeIdsInput);
        int rows = Math.toIntExact(OnnxTensors.dims(table)[0]);
        ByteBuffer raw = ByteBuffer.wrap(OnnxTensors.rawBytes(table));
        int rowBytes = raw.capacity() / rows;
        // Rows compared as byte slices of the table (a ByteBuffer compares its remaining bytes): no copy of the table.
        Map<ByteBuffer, Long> first = new HashMap<>();
        Map<Long, Long> groups = new HashMap<>();
        for (int c = 0; c < rows; c++) {
            Long id = (long) c;
            groups.put(id, first.computeIfAbsent(raw.slice(c * rowBytes, rowBytes), k -> id));
        }
        return groups;
    }

    /** Ciphertext ids whose sorted row matched exactly one base row, spread over the vocabulary. */
    private static int[] probeRows(int[] candidateCount) {
        List<Integer> unique = new ArrayList<>();
        int step = Math.max(1, candidateCount.length / (4 * COLUMN_PROBE_ROWS));
        for (int c = 0; c < candidateCount.length && unique.size() < COLUMN_PROBE_ROWS; c += step) {
            if (candidateCount[c] == 1) {
                unique.add(c);
            }
        }
        return unique.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Column {@code col} over the probe rows: EE rows by ciphertext id, base rows by the plaintext guessed for them. */
    private static LongsKey column(long[][] rows, int[] probes, int col, int[] plainOfCipher) {
        long[] values = new long[probes.length];
        for (int i = 0; i < probes.length; i++) {
            int row = plainOfCipher == null ? probes[i] : plainOfCipher[probes[i]];
            values[i] = rows[row][col];
        }
        return new LongsKey(values);
    }

    private static TensorProto table(ModelProto model, String idsInput) {
        ModelTransformer.TokenEmbedding embedding = ModelTransformer.tokenEmbedding(model, idsInput);
        return MutableGraph.of(model).initializer(embedding.table());
    }

    /** The table's rows as the raw bit patterns of their elements: equal values, equal patterns, whatever the type. */
    private static long[][] rows(TensorProto table) {
        long[] dims = OnnxTensors.dims(table);
        int rows = Math.toIntExact(dims[0]);
        int cols = Math.toIntExact(dims[1]);
        int size = OnnxTensors.elementSize(table.getDataType());
        ByteBuffer raw = ByteBuffer.wrap(OnnxTensors.rawBytes(table)).order(ByteOrder.LITTLE_ENDIAN);
        long[][] out = new long[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r][c] = switch (size) {
                    case 1 -> raw.get();
                    case 2 -> raw.getShort();
                    case 4 -> raw.getInt();
                    default -> raw.getLong();
                };
            }
        }
        return out;
    }
}
