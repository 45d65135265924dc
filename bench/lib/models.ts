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

/** Conv (NCHW, square kernel, symmetric padding) with constant weights and bias. */
export function convF32(s: ConvShape, seed: number): BenchCase {
  const r = seededRandom(seed);
  const fanIn = s.cin * s.kernel * s.kernel;
  const outH = Math.floor((s.h + 2 * s.pad - s.kernel) / s.stride) + 1;
  const outW = Math.floor((s.w + 2 * s.pad - s.kernel) / s.stride) + 1;
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
