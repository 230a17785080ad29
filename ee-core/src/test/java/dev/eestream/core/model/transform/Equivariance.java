package dev.eestream.core.model.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.eestream.core.key.Permutation;
import dev.eestream.core.key.PermutationKind;
import dev.eestream.core.model.onnx.OnnxTensors;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The numeric check that a rewrite is right: the rewritten model on encrypted inputs gives the
 * plaintext model's output on plaintext inputs, permuted as the analysis says the output is.
 */
final class Equivariance {
    private static final double TOLERANCE = 1e-5;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private Equivariance() {
    }

    /** A tensor's values (as doubles, whatever its type) and shape. */
    record Values(double[] data, long[] shape) {
    }

    static void assertHolds(RuleGraph g, ModelProto plaintext, ModelProto rewritten, TensorState output) throws OrtException {
        Random random = new Random(5);
        Map<String, Values> clear = new HashMap<>();
        Map<String, Values> encrypted = new HashMap<>();
        for (RuleGraph.Input in : g.inputs()) {
            long[] shape = in.shape();
            double[] v = new double[(int) OnnxTensors.elementCount(shape)];
            boolean ids = in.name().equals(g.idsInput());
            for (int i = 0; i < v.length; i++) {
                v[i] = ids ? random.nextInt(RuleGraph.V) : 2 * random.nextDouble() - 1;
            }
            clear.put(in.name(), new Values(v, shape));
            double[] e = v;
            if (ids) {
                Permutation pi = RuleGraph.PERMUTATIONS.get(PermutationKind.VOCAB);
                e = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    e[i] = pi.apply((int) v[i]);
                }
            } else if (in.permutedAxis() != null) {
                e = permute(v, shape, in.permutedAxis(), RuleGraph.PERMUTATIONS.get(in.kind()));
            }
            encrypted.put(in.name(), new Values(e, shape));
        }
        Values plain = run(plaintext, clear, g);
        Values actual = run(rewritten, encrypted, g);
        double[] expected = plain.data();
        for (Map.Entry<Integer, PermutationKind> e : output.labelMap().entrySet()) {
            expected = permute(expected, plain.shape(), e.getKey(), RuleGraph.PERMUTATIONS.get(e.getValue()));
        }
        assertArrayEquals(plain.shape(), actual.shape(), "output shape");
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(actual.data()[i] - expected[i]);
            assertTrue(diff <= TOLERANCE * Math.max(1, Math.abs(expected[i])),
                    "element " + i + ": expected " + expected[i] + " but the rewritten model gave " + actual.data()[i]);
        }
    }

    /** {@code v} with the slice at index k of {@code axis} moved to index p(k), as the transform permutes. */
    static double[] permute(double[] v, long[] shape, int axis, Permutation p) {
        long inner = 1;
        for (int a = axis + 1; a < shape.length; a++) {
            inner *= shape[a];
        }
        int n = (int) shape[axis];
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int k = (int) (i / inner % n);
            out[(int) (i + (p.apply(k) - k) * inner)] = v[i];
        }
        return out;
    }

    private static Values run(ModelProto model, Map<String, Values> feeds, RuleGraph g) throws OrtException {
        Map<String, OnnxTensor> tensors = new HashMap<>();
        try (OrtSession session = ENV.createSession(model.toByteArray(), new OrtSession.SessionOptions())) {
            for (RuleGraph.Input in : g.inputs()) {
                Values v = feeds.get(in.name());
                tensors.put(in.name(), in.type() == TensorProto.DataType.INT64_VALUE
                        ? OnnxTensor.createTensor(ENV, LongBuffer.wrap(Arrays.stream(v.data()).mapToLong(d -> (long) d).toArray()), v.shape())
                        : OnnxTensor.createTensor(ENV, FloatBuffer.wrap(toFloats(v.data())), v.shape()));
            }
            try (OrtSession.Result result = session.run(tensors)) {
                OnnxTensor out = (OnnxTensor) result.get(RuleGraph.OUTPUT).orElseThrow();
                long[] shape = out.getInfo().getShape();
                double[] data;
                if (out.getInfo().type == OnnxJavaType.INT64) {
                    LongBuffer b = out.getLongBuffer();
                    data = new double[b.remaining()];
                    for (int i = 0; i < data.length; i++) {
                        data[i] = b.get(i);
                    }
                } else {
                    FloatBuffer b = out.getFloatBuffer();
                    data = new double[b.remaining()];
                    for (int i = 0; i < data.length; i++) {
                        data[i] = b.get(i);
                    }
                }
                return new Values(data, shape);
            }
        } finally {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
