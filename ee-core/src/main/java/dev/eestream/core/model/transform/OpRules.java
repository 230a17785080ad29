package dev.eestream.core.model.transform;

import java.util.HashMap;
import java.util.Map;

/** The rule for each op type the analysis can reason about; an op type not listed here has none. */
final class OpRules {
    private static final Map<String, OpRule> BY_OP_TYPE = table();

    private OpRules() {
    }

    /** The rule for {@code opType}, or null when the analysis cannot prove that op equivariant. */
    static OpRule forOp(String opType) {
        return BY_OP_TYPE.get(opType);
    }

    private static Map<String, OpRule> table() {
        Map<String, OpRule> t = new HashMap<>();
        put(t, new ShapeRule(), "Shape", "Size");
        put(t, new UnaryRule(), "Identity", "Cast", "Erf", "Tanh", "Relu", "Sigmoid", "Sqrt", "Neg", "Abs", "Exp",
                "Log", "Reciprocal", "Softplus", "Softsign", "Gelu", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid",
                "HardSwish", "Mish", "Floor", "Ceil", "Round", "Sign", "Not", "IsNaN", "IsInf", "Sin", "Cos", "Dropout",
                "ThresholdedRelu", "QuickGelu");
        put(t, new ElementwiseRule(), "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod",
                "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "PRelu", "Clip",
                "BiasGelu", "FastGelu");
        put(t, new TokenIdComparisonRule(), "Equal");
        put(t, new CumSumRule(), "CumSum");
        put(t, new ReduceRule(), "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp");
        put(t, new SoftmaxRule(), "Softmax", "LogSoftmax", "LpNormalization");
        put(t, new MatMulRule(), "MatMul");
        put(t, new MatMulIntegerRule(), "MatMulInteger");
        put(t, new QuantizedMatMulRule(), "DynamicQuantizeMatMul", "MatMulIntegerToFloat");
        put(t, new DequantizeLinearRule(), "DequantizeLinear");
        put(t, new DynamicQuantizeLinearRule(), "DynamicQuantizeLinear");
        put(t, new QuantizeLinearRule(), "QuantizeLinear");
        put(t, new GemmRule(), "Gemm");
        put(t, new GatherRule(), "Gather");
        put(t, new TransposeRule(), "Transpose");
        put(t, new SqueezeRule(), "Squeeze", "Unsqueeze");
        put(t, new ReshapeRule(), "Reshape");
        put(t, new SliceRule(), "Slice");
        put(t, new ExpandRule(), "Expand");
        put(t, new ConcatRule(), "Concat");
        put(t, new LayerNormRule(), "LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization");
        put(t, new SkipLayerNormRule(), "SkipLayerNormalization", "SkipSimplifiedLayerNormalization");
        put(t, new FusedMatMulRule(), "FusedMatMul");
        put(t, new EmbedLayerNormRule(), "EmbedLayerNormalization");
        put(t, new AttentionRule(), "Attention");
        put(t, new ProjectedAttentionRule(), "MultiHeadAttention", "GroupQueryAttention", "RotaryEmbedding",
                "DecoderMaskedMultiHeadAttention");
        put(t, new MatMulNBitsRule(), "MatMulNBits");
        return Map.copyOf(t);
    }

    private static void put(Map<String, OpRule> table, OpRule rule, String... opTypes) {
        for (String op : opTypes) {
            table.put(op, rule);
        }
    }
}
