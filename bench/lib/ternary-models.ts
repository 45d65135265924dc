// Ternary benchmark models: a W2A8 layer in the QDQ form onnxruntime's quantizer writes, with
// the weights {−s_n, 0, +s_n} per output channel, and its int8 twin.
//
//   x (float32) → QuantizeLinear(u8) → DequantizeLinear → MatMul(W) → QuantizeLinear(u8) → y
//
// ternaryMatmul: W a float32 initializer of codes·s_n — lowbit's ternary rule lowers the layer to
// TernaryMatMul (2-bit weights, exact integer accumulation, requantised); onnxruntime runs it
// as an fp32 MatMul between the quantisers. ternaryMatmulInt8: W = DequantizeLinear(int8 codes,
// s_n per channel), which onnxruntime fuses into its int8 kernels (QLinearMatMul). The W2A8
// form with INT2 codes is not used here: onnxruntime 1.30 refuses an INT2 DequantizeLinear once
// its QDQ fusion (optimization level 'extended' and up) rewrites the MatMul.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { seededRandom } from '../../scripts/lib/random-models.js';
import { uniform, type BenchCase } from './models.js';

const ACT_ZP = 128;
/** Activations: real value in [−1, 1) on 256 levels. */
const ACT_SCALE = 1 / 128;
/** Outputs of std ≈ 0.5 land ≈ 32 quanta per σ around zero point 128. */
const OUT_SCALE = 1 / 64;

interface TernaryLayer {
  codes: Int8Array;
  scales: Float32Array;
}

/** K×N codes (a third of them 0) and per-channel scales ~ 1/√K, so outputs stay O(1). */
function ternaryLayer(r: () => number, k: number, n: number): TernaryLayer {
  const codes = new Int8Array(k * n);
  for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(r() * 3) - 1;
  const scales = new Float32Array(n);
  for (let j = 0; j < n; j++) scales[j] = (0.5 + r() * 0.5) / Math.sqrt(k);
  return { codes, scales };
}

function layerModel(m: number, k: number, n: number, seed: number, int8: boolean): BenchCase {
  const r = seededRandom(seed);
  const { codes, scales } = ternaryLayer(r, k, n);
  const b = new OnnxBuilder({ name: `ternary_matmul_${int8 ? 'int8_' : ''}${m}x${k}x${n}` });
  const x = b.input('x', 'float32', [m, k]);
  const sx = b.const('float32', [], [ACT_SCALE]);
  const zx = b.const('uint8', [], [ACT_ZP]);
  const xd = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, sx, zx]), sx, zx]);
  let w: string;
  if (int8) {
    w = b.op('DequantizeLinear', [b.init('w_q', 'int8', [k, n], codes), b.init('w_scale', 'float32', [n], scales)], { axis: 1 });
  } else {
    const wf = new Float32Array(k * n);
    for (let i = 0; i < wf.length; i++) wf[i] = codes[i] * scales[i % n];
    w = b.init('w', 'float32', [k, n], wf);
  }
  const y = b.op('MatMul', [xd, w]);
  b.output(b.op('QuantizeLinear', [y, b.const('float32', [], [OUT_SCALE]), b.const('uint8', [], [ACT_ZP])], {}, { outputs: ['y'] }), 'uint8', [m, n]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, m * k, 1), dims: [m, k] } } };
}

/** The ternary layer with implicit {−s_n, 0, +s_n} float32 weights (see the top of this file). */
export const ternaryMatmul = (m: number, k: number, n: number, seed: number): BenchCase => layerModel(m, k, n, seed, false);

/** Its int8 twin: the same codes and scales as DequantizeLinear(int8) weights. */
export const ternaryMatmulInt8 = (m: number, k: number, n: number, seed: number): BenchCase => layerModel(m, k, n, seed, true);
