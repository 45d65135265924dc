// Operator domains lowbit knows by name.

/** QONNX fake-quant ops (Quant, BipolarQuant, Trunc, MultiThreshold) live under any of these. */
export const QONNX_DOMAINS: readonly string[] = ['qonnx.custom_op.general', 'onnx.brevitas', 'finn.custom_op.general'];
