// Quantized benchmark models (QLinearMatMul, QLinearConv, com.microsoft MatMulNBits) built in
// memory with seeded random weights, and their feeds.
//
// Scales are chosen so the real values match the fp32 rows (activations O(1), weights ~1/√fan_in)
// and the uint8 outputs spread over most of [0, 255] around their zero point without saturating.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { seededRandom } from '../../scripts/lib/random-models.js';
import { convSizes, uniform, type BenchCase, type ConvShape } from './models.js';

/** n integers uniform in [lo, hi]. */
function ints(r: () => number, n: number, lo: number, hi: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = lo + Math.floor(r() * (hi - lo + 1));
  return out;
}

const ACT_ZP = 128;
/** Activations: uint8 around 128, real value (q − 128)/128 ∈ [−1, 1). */
const ACT_SCALE = 1 / 128;
/** Outputs of std ≈ 1/3 land ≈ 21 quanta per σ around zero point 128. */
const OUT_SCALE = 1 / 64;

/** QLinearMatMul: Y[m, n] = requant(X[m, k] u8 · W[k, n] s8), per-tensor scales and zero points. */
export function qlinearMatmul(m: number, k: number, n: number, seed: number): BenchCase {
  const r = seededRandom(seed);
  const b = new OnnxBuilder({ name: `qlinearmatmul_${m}x${k}x${n}` });
  const x = b.input('x', 'uint8', [m, k]);
  const w = b.init('w', 'int8', [k, n], Int8Array.from(ints(r, k * n, -127, 127)));
  const inputs = [
    x, b.const('float32', [], [ACT_SCALE]), b.const('uint8', [], [ACT_ZP]),
    w, b.const('float32', [], [1 / (127 * Math.sqrt(k))]), b.const('int8', [], [0]),
    b.const('float32', [], [OUT_SCALE]), b.const('uint8', [], [ACT_ZP]),
  ];
  b.output(b.op('QLinearMatMul', inputs, {}, { outputs: ['y'] }), 'uint8', [m, n]);
  return { model: b.toBytes(), feeds: { x: { type: 'uint8', data: Uint8Array.from(ints(r, m * k, 0, 255)), dims: [m, k] } } };
}

/**
 * com.microsoft MatMulNBits, bits 4, block_size 32, accuracy_level unset: Y = A · Wᵀ with
 * W[n, k] = (q − zp) · scale per 32-element block, packed zero points (asymmetric, as
 * MatMulNBitsQuantizer emits by default).
 */
export function matmulNBits4(m: number, k: number, n: number, seed: number): BenchCase {
  const blockSize = 32;
  const r = seededRandom(seed);
  const kBlocks = Math.ceil(k / blockSize);
  const b = new OnnxBuilder({ name: `matmulnbits_${m}x${k}x${n}`, domains: { 'com.microsoft': 1 } });
  const a = b.input('a', 'float32', [m, k]);
  const packed = b.init('b_q4', 'uint8', [n, kBlocks, blockSize / 2], Uint8Array.from(ints(r, n * kBlocks * (blockSize / 2), 0, 255)));
  // (q − zp) spans about ±8, so this scale keeps W ~ 1/√k like the fp32 rows.
  const scales = b.init('b_scales', 'float32', [n, kBlocks], uniform(r, n * kBlocks, 1 / (8 * Math.sqrt(k))).map(Math.abs));
  const zpBytes = ints(r, n * Math.ceil(kBlocks / 2), 0, 255).map((v) => (v & 0x77) | 0x44); // nibbles 4…11
  const zps = b.init('b_zero_points', 'uint8', [n, Math.ceil(kBlocks / 2)], Uint8Array.from(zpBytes));
  const attrs = { K: k, N: n, bits: 4, block_size: blockSize };
  b.output(b.op('MatMulNBits', [a, packed, scales, zps], attrs, { domain: 'com.microsoft', outputs: ['y'] }), 'float32', [m, n]);
  return { model: b.toBytes(), feeds: { a: { type: 'float32', data: uniform(r, m * k, 1), dims: [m, k] } } };
}

/** QLinearConv (NCHW, square kernel): u8 activations, s8 weights with per-output-channel w_scale, int32 bias. */
export function qlinearConv(s: ConvShape, seed: number): BenchCase {
  const r = seededRandom(seed);
  const { fanIn, outH, outW } = convSizes(s);
  const b = new OnnxBuilder({ name: 'qlinearconv' });
  const x = b.input('x', 'uint8', [s.n, s.cin, s.h, s.w]);
  // Per-channel scales vary by up to 2× between channels, as calibrated weights do.
  const wScale = Float32Array.from({ length: s.cout }, () => (0.5 + r() * 0.5) / (127 * Math.sqrt(fanIn)));
  const bias = Int32Array.from({ length: s.cout }, (_, c) => Math.round((r() * 2 - 1) / (ACT_SCALE * wScale[c])));
  const inputs = [
    x, b.const('float32', [], [ACT_SCALE]), b.const('uint8', [], [ACT_ZP]),
    b.init('w', 'int8', [s.cout, s.cin, s.kernel, s.kernel], Int8Array.from(ints(r, s.cout * fanIn, -127, 127))),
    b.init('w_scale', 'float32', [s.cout], wScale), b.init('w_zero_point', 'int8', [s.cout], new Int8Array(s.cout)),
    b.const('float32', [], [OUT_SCALE]), b.const('uint8', [], [ACT_ZP]),
    b.init('bias', 'int32', [s.cout], bias),
  ];
  const attrs = { kernel_shape: [s.kernel, s.kernel], pads: [s.pad, s.pad, s.pad, s.pad], strides: [s.stride, s.stride] };
  b.output(b.op('QLinearConv', inputs, attrs, { outputs: ['y'] }), 'uint8', [s.n, s.cout, outH, outW]);
  const n = s.n * s.cin * s.h * s.w;
  return { model: b.toBytes(), feeds: { x: { type: 'uint8', data: Uint8Array.from(ints(r, n, 0, 255)), dims: [s.n, s.cin, s.h, s.w] } } };
}

/** ±1 as uint8 around zero point 128 (scale 1): what an int8 runtime reads for binary activations. */
function pm1U8(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < 0.5 ? ACT_ZP - 1 : ACT_ZP + 1;
  return out;
}

/** int8 ±1 weights. */
const pm1I8 = (r: () => number, n: number): Int8Array => Int8Array.from(ints(r, n, 0, 1).map((v) => 2 * v - 1));

/**
 * The int8 twin of binaryMatmul (models.ts): QLinearMatMul over ±1 activations (uint8, zp 128,
 * scale 1) and ±1 int8 weights (scale 1/√k), the same layer as an int8 runtime would run it.
 */
export function binaryMatmulInt8(m: number, k: number, n: number, seed: number): BenchCase {
  const r = seededRandom(seed);
  const b = new OnnxBuilder({ name: `binary_qlinearmatmul_${m}x${k}x${n}` });
  const x = b.input('x', 'uint8', [m, k]);
  const inputs = [
    x, b.const('float32', [], [1]), b.const('uint8', [], [ACT_ZP]),
    b.init('w', 'int8', [k, n], pm1I8(r, k * n)), b.const('float32', [], [1 / Math.sqrt(k)]), b.const('int8', [], [0]),
    b.const('float32', [], [OUT_SCALE]), b.const('uint8', [], [ACT_ZP]),
  ];
  b.output(b.op('QLinearMatMul', inputs, {}, { outputs: ['y'] }), 'uint8', [m, n]);
  return { model: b.toBytes(), feeds: { x: { type: 'uint8', data: pm1U8(r, m * k), dims: [m, k] } } };
}

/** The int8 twin of binaryConv (models.ts): QLinearConv over ±1 uint8 activations and ±1 int8 weights. */
export function binaryConvInt8(s: ConvShape, seed: number): BenchCase {
  const r = seededRandom(seed);
  const { fanIn, outH, outW } = convSizes(s);
  const b = new OnnxBuilder({ name: 'binary_qlinearconv' });
  const x = b.input('x', 'uint8', [s.n, s.cin, s.h, s.w]);
  const inputs = [
    x, b.const('float32', [], [1]), b.const('uint8', [], [ACT_ZP]),
    b.init('w', 'int8', [s.cout, s.cin, s.kernel, s.kernel], pm1I8(r, s.cout * fanIn)),
    b.init('w_scale', 'float32', [s.cout], new Float32Array(s.cout).fill(1 / Math.sqrt(fanIn))), b.init('w_zero_point', 'int8', [s.cout], new Int8Array(s.cout)),
    b.const('float32', [], [OUT_SCALE]), b.const('uint8', [], [ACT_ZP]),
  ];
  const attrs = { kernel_shape: [s.kernel, s.kernel], pads: [s.pad, s.pad, s.pad, s.pad], strides: [s.stride, s.stride] };
  b.output(b.op('QLinearConv', inputs, attrs, { outputs: ['y'] }), 'uint8', [s.n, s.cout, outH, outW]);
  return { model: b.toBytes(), feeds: { x: { type: 'uint8', data: pm1U8(r, s.n * s.cin * s.h * s.w), dims: [s.n, s.cin, s.h, s.w] } } };
}
