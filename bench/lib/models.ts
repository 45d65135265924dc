// Benchmark models built in memory with seeded random weights, and their feeds.
//
// Weights are uniform in [−1, 1) scaled by 1/√fan_in so outputs stay O(1) whatever K is, which
// keeps the agreement check's absolute tolerance meaningful across shapes.

import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { seededRandom } from '../../scripts/lib/random-models.js';
import type { Feeds } from '../../scripts/lib/differential.js';

/** A model and the feeds every runtime is timed on. */
export interface BenchCase {
  model: Uint8Array;
  feeds: Feeds;
  /**
   * What onnxruntime (web and node) runs in place of `model`, when it cannot run the form lowbit
   * reads: the standard-ONNX float form of a QONNX model (bench/lib/qonnx_to_float.py).
   */
  ortModel?: Uint8Array;
}

/** n values uniform in [−scale, scale). */
export function uniform(r: () => number, n: number, scale: number): Float32Array {
  // A plain loop: Float32Array.from with a map callback is ~8× slower on 16M elements.
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** Y = X·W with X [m, k] fed and W [k, n] a constant initializer. */
export function matmulF32(m: number, k: number, n: number, seed: number): BenchCase {
  const r = seededRandom(seed);
  const b = new OnnxBuilder({ name: `matmul_${m}x${k}x${n}` });
  const x = b.input('x', 'float32', [m, k]);
  const w = b.init('w', 'float32', [k, n], uniform(r, k * n, 1 / Math.sqrt(k)));
  b.output(b.op('MatMul', [x, w], {}, { outputs: ['y'] }), 'float32', [m, n]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, m * k, 1), dims: [m, k] } } };
}

export interface ConvShape {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  kernel: number;
  pad: number;
  stride: number;
}

/** A conv layer's weights per output channel and its output size. */
export function convSizes(s: ConvShape): { fanIn: number; outH: number; outW: number } {
  return {
    fanIn: s.cin * s.kernel * s.kernel,
    outH: Math.floor((s.h + 2 * s.pad - s.kernel) / s.stride) + 1,
    outW: Math.floor((s.w + 2 * s.pad - s.kernel) / s.stride) + 1,
  };
}

/** Conv (NCHW, square kernel, symmetric padding) with constant weights and bias. */
export function convF32(s: ConvShape, seed: number): BenchCase {
  const r = seededRandom(seed);
  const { fanIn, outH, outW } = convSizes(s);
  const b = new OnnxBuilder({ name: 'conv' });
  const x = b.input('x', 'float32', [s.n, s.cin, s.h, s.w]);
  const w = b.init('w', 'float32', [s.cout, s.cin, s.kernel, s.kernel], uniform(r, s.cout * fanIn, 1 / Math.sqrt(fanIn)));
  const bias = b.init('b', 'float32', [s.cout], uniform(r, s.cout, 1));
  const attrs = {
    kernel_shape: [s.kernel, s.kernel],
    pads: [s.pad, s.pad, s.pad, s.pad],
    strides: [s.stride, s.stride],
  };
  b.output(b.op('Conv', [x, w, bias], attrs, { outputs: ['y'] }), 'float32', [s.n, s.cout, outH, outW]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, s.n * s.cin * s.h * s.w, 1), dims: [s.n, s.cin, s.h, s.w] } } };
}

/**
 * Channel scales s_n = (1 + j/128)·2^−e (8 significant bits, e ∈ [4, 7]): with K ≤ 2^14 every
 * partial sum of ±s_n is exact in f32, so onnxruntime's float result is the exact value and
 * lowbit's binary layer (exact integer dot, then one multiply) may differ only by that final
 * rounding. Sized so outputs stay O(1) for K in the thousands.
 */
function binaryScales(r: () => number, n: number): Float32Array {
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) s[i] = (1 + Math.floor(r() * 128) / 128) * 2 ** -(4 + Math.floor(r() * 4));
  return s;
}

/** ±s_n weights, element (n, j) of channel n at n·cs + j·js. */
function binaryWeights(r: () => number, s: Float32Array, per: number, cs: number, js: number): Float32Array {
  const w = new Float32Array(s.length * per);
  for (let n = 0; n < s.length; n++) for (let j = 0; j < per; j++) w[n * cs + j * js] = r() < 0.5 ? -s[n] : s[n];
  return w;
}

/**
 * The bipolar sign lowbit's binary pass reads as 1-bit activations: Where(Less(x, 0), −1, +1)
 * (x ≥ 0 → +1, QONNX BipolarQuant's rule; ai.onnx Sign maps 0 to 0, see src/passes/binary.ts).
 */
function bipolar(b: OnnxBuilder, x: string): string {
  const neg = b.op('Less', [x, b.const('float32', [], [0])]);
  return b.op('Where', [neg, b.const('float32', [], [-1]), b.const('float32', [], [1])]);
}

/** Y = bipolar(X)·W with W [k, n] = ±s_n per column: a binary (XNOR-popcount) layer. */
export function binaryMatmul(m: number, k: number, n: number, seed: number): BenchCase {
  const r = seededRandom(seed);
  const b = new OnnxBuilder({ name: `binary_matmul_${m}x${k}x${n}` });
  const x = b.input('x', 'float32', [m, k]);
  const w = b.init('w', 'float32', [k, n], binaryWeights(r, binaryScales(r, n), k, 1, n));
  b.output(b.op('MatMul', [bipolar(b, x), w], {}, { outputs: ['y'] }), 'float32', [m, n]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, m * k, 1), dims: [m, k] } } };
}

/** Conv(bipolar(X), W) + bias with W = ±s_m per output channel: a binary conv layer. */
export function binaryConv(s: ConvShape, seed: number): BenchCase {
  const r = seededRandom(seed);
  const { fanIn, outH, outW } = convSizes(s);
  const b = new OnnxBuilder({ name: 'binary_conv' });
  const x = b.input('x', 'float32', [s.n, s.cin, s.h, s.w]);
  const w = b.init('w', 'float32', [s.cout, s.cin, s.kernel, s.kernel], binaryWeights(r, binaryScales(r, s.cout), fanIn, fanIn, 1));
  const bias = b.init('b', 'float32', [s.cout], Float32Array.from({ length: s.cout }, () => Math.round((r() * 2 - 1) * 256) / 256));
  const attrs = { kernel_shape: [s.kernel, s.kernel], pads: [s.pad, s.pad, s.pad, s.pad], strides: [s.stride, s.stride] };
  b.output(b.op('Conv', [bipolar(b, x), w, bias], attrs, { outputs: ['y'] }), 'float32', [s.n, s.cout, outH, outW]);
  return { model: b.toBytes(), feeds: { x: { type: 'float32', data: uniform(r, s.n * s.cin * s.h * s.w, 1), dims: [s.n, s.cin, s.h, s.w] } } };
}
