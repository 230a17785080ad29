package dev.eestream.core.model.transform;

import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.eestream.core.model.onnx.MutableGraph;
import dev.eestream.runtime.EeException;
import dev.eestream.runtime.model.KvCacheNames;
import java.util.ArrayList;
import java.util.List;

/**
 * The KV cache of a decoder in the optimum {@code text-generation-with-past} layout, read from the
 * graph: {@code past_key_values.{i}.key|value} inputs [batch, kv heads, past, head size] for every
 * layer i, each with its {@code present.{i}.key|value} output.
 */
record DecoderLayout(int layers, int kvHeads, int headSize) {

    static DecoderLayout of(MutableGraph g) {
        int layers = 0;
        while (g.input(KvCacheNames.past(layers, true)).isPresent()) {
            layers++;
        }
        if (layers == 0) {
            throw new EeException("a generate model needs the KV-cache inputs past_key_values.{i}.key and .value of an "
                    + "optimum text-generation-with-past export; this model's inputs are "
                    + g.inputs().stream().map(ValueInfoProto::getName).toList());
        }
        long pastInputs = g.inputs().stream().filter(i -> KvCacheNames.isPast(i.getName())).count();
        if (pastInputs != 2L * layers) {
            throw new EeException("the model has " + pastInputs + " past_key_values inputs but keys for " + layers
                    + " layers (0.." + (layers - 1) + "); every layer needs exactly a .key and a .value");
        }
        long[] first = cacheDims(g, KvCacheNames.past(0, true));
        List<String> missing = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            for (boolean key : new boolean[] {true, false}) {
                String past = KvCacheNames.past(layer, key);
                if (g.input(past).isEmpty()) {
                    missing.add(past);
                    continue;
                }
                long[] dims = cacheDims(g, past);
                if (dims[1] != first[1] || dims[3] != first[3]) {
                    throw new EeException("KV-cache input '" + past + "' has " + dims[1] + " heads of size " + dims[3]
                            + " but layer 0 has " + first[1] + " of size " + first[3] + "; eestream needs one cache shape");
                }
                if (!g.isGraphOutput(KvCacheNames.present(layer, key))) {
                    missing.add(KvCacheNames.present(layer, key));
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new EeException("the model lacks KV-cache inputs or outputs of the text-generation-with-past layout: "
                    + missing);
        }
        return new DecoderLayout(layers, (int) first[1], (int) first[3]);
    }

    /** The names of the present outputs, layer by layer, key before value. */
    List<String> presentOutputs() {
        List<String> out = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            out.add(KvCacheNames.present(layer, true));
            out.add(KvCacheNames.present(layer, false));
        }
        return out;
    }

    /** [batch, kv heads, past, head size] with the heads and head size fixed numbers. */
    private static long[] cacheDims(MutableGraph g, String input) {
        List<TensorShapeProto.Dimension> dims = g.input(input).orElseThrow().getType().getTensorType().getShape().getDimList();
        if (dims.size() != 4 || dims.get(1).getDimValue() <= 0 || dims.get(3).getDimValue() <= 0) {
            throw new EeException("KV-cache input '" + input + "' must be declared [batch, kv heads, past, head size] with "
                    + "fixed heads and head size; it is declared " + dims.stream()
                    .map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.getDimParam()).toList());
        }
        return new long[] {-1, dims.get(1).getDimValue(), -1, dims.get(3).getDimValue()};
    }
}
