// Relative errors of approximate multiplication for `npm run lmul:study`: single products and dot
// products, L-Mul (the kernel's truncating form, and on round-to-nearest-even m-bit operands)
// beside float8 e4m3 / e5m2 and bfloat16 operands.
//
// Definitions (the study's markdown repeats them):
// - single product: |p̂ − xy| / |xy| over pairs with xy ≠ 0 (exact xy in f64 from the f32 operands);
// - dot product: |d̂ − d| / Σ|xᵢyᵢ| (error relative to the magnitude of the terms: with random
//   signs d itself can be ~0, which would make |d̂ − d| / |d| unbounded and say nothing);
// - float8: operands scaled per tensor so their absolute maximum maps to the format's largest
//   value (as fp8 GEMMs do), rounded to nearest-even; products exact, sums in f32 (an fp8 GEMM);
// - bfloat16: operands rounded to nearest-even, products exact, sums in f32;
// - L-Mul: assembly/lmul.ts (truncated operands; dot products by lmul_dot_f32 in the wasm build),
//   and "RNE operands": the operands rounded to m mantissa bits first (then truncation is a no-op).

import { BF16, E4M3, E5M2, lmulRef, roundTo, type FloatFormat } from '../lib/lmul.js';
import type { KernelBox } from '../lib/kernel-box.js';

export interface Stat {
  mean: number;
  max: number;
}

export interface Method {
  name: string;
  /** Products of x[i]·y[i]; `sx`, `sy` are the per-tensor amax of the x and y pools. */
  products(x: Float32Array, y: Float32Array, sx: number, sy: number): Float64Array;
  /** Dot product of x and y (sums in f32 unless the method says otherwise). */
  dot(x: Float32Array, y: Float32Array, sx: number, sy: number): number;
}

const mbitFormat = (m: number): FloatFormat => ({ name: `m${m}`, ebits: 8, mbits: m, max: 3.4028234663852886e38, inf: true });

function f32Dot(p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s = Math.fround(s + Math.fround(p[i]));
  return s;
}

function elementwise(n: number, f: (i: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}

/** The kernel's L-Mul: products by lmul_mul_f32, dots by lmul_dot_f32 (simd build). */
export function lmulKernel(box: KernelBox, m: number): Method {
  const run = (name: string, x: Float32Array, y: Float32Array, extra: (px: number, py: number) => number[]) => {
    box.reset();
    const px = box.put(x), py = box.put(y);
    return box.call(name, px, py, ...extra(px, py));
  };
  return {
    name: `L-Mul m=${m}`,
    products(x, y) {
      let out = 0;
      run('lmul_mul_f32', x, y, () => {
        out = box.alloc(x.length * 4);
        return [out, x.length, m];
      });
      return Float64Array.from(box.f32(out, x.length));
    },
    dot: (x, y) => run('lmul_dot_f32', x, y, () => [x.length, m])!,
  };
}

/** L-Mul on operands rounded (nearest-even) to m mantissa bits. */
export function lmulRne(m: number): Method {
  const f = mbitFormat(m);
  const prods = (x: Float32Array, y: Float32Array) => elementwise(x.length, (i) => lmulRef(roundTo(x[i], f), roundTo(y[i], f), m));
  return { name: `L-Mul m=${m}, RNE operands`, products: prods, dot: (x, y) => f32Dot(prods(x, y)) };
}

/** Operands in the format (fp8: per-tensor scaled), exact products. */
export function formatMethod(f: FloatFormat): Method {
  const scaled = f !== BF16;
  const prods = (x: Float32Array, y: Float32Array, sx: number, sy: number) => {
    const kx = scaled ? f.max / sx : 1, ky = scaled ? f.max / sy : 1;
    return elementwise(x.length, (i) => {
      const a = x[i] * kx, b = y[i] * ky;
      return (roundTo(a, f) * roundTo(b, f)) / (kx * ky);
    });
  };
  return { name: f.name, products: prods, dot: (x, y, sx, sy) => f32Dot(prods(x, y, sx, sy)) };
}

export const FORMATS = [E4M3, E5M2, BF16];

/** Mean and max of |p̂ − xy| / |xy| over the nonzero exact products. */
export function productError(method: Method, x: Float32Array, y: Float32Array, sx: number, sy: number): Stat {
  const p = method.products(x, y, sx, sy);
  let sum = 0, max = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    const exact = x[i] * y[i];
    if (exact === 0) continue;
    const e = Math.abs(p[i] - exact) / Math.abs(exact);
    sum += e;
    max = Math.max(max, e);
    n++;
  }
  return { mean: sum / n, max };
}

/** Mean and max of |d̂ − d| / Σ|xᵢyᵢ| over dot products of the given pairs of vectors. */
export function dotError(method: Method, pairs: readonly [Float32Array, Float32Array][], sx: number, sy: number): Stat {
  let sum = 0, max = 0;
  for (const [x, y] of pairs) {
    let exact = 0, mag = 0;
    for (let i = 0; i < x.length; i++) {
      exact += x[i] * y[i];
      mag += Math.abs(x[i] * y[i]);
    }
    const e = mag === 0 ? 0 : Math.abs(method.dot(x, y, sx, sy) - exact) / mag;
    sum += e;
    max = Math.max(max, e);
  }
  return { mean: sum / pairs.length, max };
}

export function amax(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export { E4M3, E5M2, BF16 };
