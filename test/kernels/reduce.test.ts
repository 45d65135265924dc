// The strided reduce kernel: every build vs reduce__ref on ragged shapes and axis sets (floats to
// a summation-order bound, integers and max/min exactly), and reduce__ref vs float64 maths.

import { describe, expect, it } from 'vitest';
import { reduceDescriptor } from '../../src/ops/reduce.js';
import { ALL_BACKENDS, KernelBox, rng, sizesAround } from '../support/kernels.js';

const R = { SUM: 0, MEAN: 1, MAX: 2, MIN: 3, PROD: 4, SUMSQUARE: 5, L1: 6, L2: 7, LOGSUM: 8, LOGSUMEXP: 9 } as const;
const OPS = Object.entries(R) as [keyof typeof R, number][];
const INT_OPS = OPS.filter(([n]) => !['L2', 'LOGSUM', 'LOGSUMEXP'].includes(n));
const U = 2 ** -24;

function stridesOf(d: number[]): number[] {
  const s = d.map(() => 1);
  for (let i = d.length - 2; i >= 0; i--) s[i] = s[i + 1] * d[i + 1];
  return s;
}

/** float64 semantics of each op over the reduced positions of every output element. */
function refReduce(op: number, x: ArrayLike<number>, dims: number[], axes: number[]): { y: number[]; scale: number[]; n: number } {
  const st = stridesOf(dims);
  const keptAx = dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const nout = keptAx.reduce((a, i) => a * dims[i], 1);
  const n = axes.reduce((a, i) => a * dims[i], 1);
  const y: number[] = [];
  const scale: number[] = [];
  for (let o = 0; o < nout; o++) {
    let rem = o;
    let base = 0;
    for (let k = keptAx.length - 1; k >= 0; k--) { base += (rem % dims[keptAx[k]]) * st[keptAx[k]]; rem = Math.floor(rem / dims[keptAx[k]]); }
    const vals: number[] = [];
    for (let q = 0; q < n; q++) {
      let r2 = q;
      let off = base;
      for (let k = axes.length - 1; k >= 0; k--) { off += (r2 % dims[axes[k]]) * st[axes[k]]; r2 = Math.floor(r2 / dims[axes[k]]); }
      vals.push(x[off]);
    }
    const sum = (f: (v: number) => number) => vals.reduce((a, v) => a + f(v), 0);
    const abs = sum(Math.abs);
    const m = Math.max(-Infinity, ...vals);
    const outs: Record<number, [number, number]> = {
      [R.SUM]: [sum((v) => v), abs], [R.MEAN]: [sum((v) => v) / n, abs / n], [R.MAX]: [m, 0], [R.MIN]: [Math.min(Infinity, ...vals), 0],
      [R.PROD]: [vals.reduce((a, v) => a * v, 1), Math.abs(vals.reduce((a, v) => a * v, 1))],
      [R.SUMSQUARE]: [sum((v) => v * v), sum((v) => v * v)], [R.L1]: [abs, abs], [R.L2]: [Math.sqrt(sum((v) => v * v)), Math.sqrt(sum((v) => v * v))],
      [R.LOGSUM]: [Math.log(sum((v) => v)), 1], [R.LOGSUMEXP]: [Number.isFinite(m) ? m + Math.log(sum((v) => Math.exp(v - m))) : m, 1 + Math.abs(m)],
    };
    y.push(outs[op][0]);
    scale.push(outs[op][1]);
  }
  return { y, scale, n };
}

/** Random shapes with reduced axes first, middle, last and several at once. */
function cases(seed: number): { dims: number[]; axes: number[] }[] {
  const r = rng(seed);
  const sizes = sizesAround(4, [9, 33]);
  const pick = () => sizes[Math.floor(r() * sizes.length)];
  const out: { dims: number[]; axes: number[] }[] = [
    { dims: [], axes: [] }, { dims: [7], axes: [0] }, { dims: [7], axes: [] }, { dims: [300, 3], axes: [0] }, { dims: [3, 600], axes: [0] },
    { dims: [2, 3, 4, 5], axes: [0, 2] }, { dims: [2, 3, 4, 5], axes: [1, 3] }, { dims: [5, 1, 7], axes: [1] }, { dims: [4, 0, 3], axes: [1] },
    { dims: [4, 0, 3], axes: [0] }, { dims: [1, 17, 1], axes: [0, 1, 2] },
  ];
  for (let t = 0; t < 40; t++) {
    const rank = 1 + Math.floor(r() * 4);
    const dims = Array.from({ length: rank }, pick).map((d) => (rank > 2 && d > 9 ? 5 : d));
    const axes = dims.map((_, i) => i).filter(() => r() < 0.5);
    out.push({ dims, axes });
  }
  return out;
}

function runKernel(box: KernelBox, kernel: string, op: number, dtCode: number, x: ArrayBufferView, dims: number[], axes: number[], outBytes: number): number {
  const px = box.put(x);
  const pd = box.put(reduceDescriptor(dims, axes));
  const py = box.alloc(outBytes);
  box.call(kernel, op, dtCode, px, py, pd);
  return py;
}

const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);
const outCount = (dims: number[], axes: number[]) => numel(dims.filter((_, i) => !axes.includes(i)));

function inputFor(op: number, n: number, r: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = r() * 2 - 1;
    x[i] = op === R.LOGSUM ? Math.abs(v) + 0.1 : op === R.PROD ? Math.sign(v) * (0.8 + 0.4 * r()) : v;
  }
  return x;
}

describe('reduceDescriptor', () => {
  it('drops size-1 dims and merges neighbouring axes of the same kind', () => {
    expect([...reduceDescriptor([2, 3, 4, 5], [1, 2])]).toEqual([2, 2, 5, 60, 1, 1, 12, 5]);
    expect([...reduceDescriptor([2, 1, 3, 4], [0, 1])]).toEqual([1, 12, 1, 1, 2, 12]);
    expect([...reduceDescriptor([1, 1], [0])]).toEqual([0, 0]);
    expect([...reduceDescriptor([4, 0, 3], [1])]).toEqual([2, 4, 3, 0, 1, 1, 0, 3]);
  });
});

describe('reduce__ref vs float64 maths', () => {
  const box = new KernelBox('scalar');
  it.each(OPS)('%s', (name, op) => {
    const seed = 100 + op;
    const r = rng(seed);
    for (const { dims, axes } of cases(seed)) {
      box.reset();
      const x = inputFor(op, numel(dims), r);
      const nout = outCount(dims, axes);
      const py = runKernel(box, 'reduce__ref', op, 1, x, dims, axes, nout * 4);
      const got = box.f32(py, nout);
      const { y, scale, n } = refReduce(op, x, dims, axes);
      for (let i = 0; i < nout; i++) {
        const tol = 4 * (n + 1) * U * scale[i] + 2 * U * Math.abs(y[i]);
        if (!(Object.is(got[i], y[i]) || Math.abs(got[i] - y[i]) <= tol || (Number.isNaN(got[i]) && Number.isNaN(y[i])))) {
          expect.fail(`${name} seed ${seed} dims [${dims}] axes [${axes}] [${i}]: ${got[i]} vs ${y[i]}`);
        }
      }
    }
  });

  it('empty reductions and infinities follow the ONNX reference', () => {
    const empty = (op: number) => box.f32(runKernel(box, 'reduce__ref', op, 1, new Float32Array(0), [2, 0], [1], 8), 2)[0];
    expect([R.SUM, R.MEAN, R.MAX, R.MIN, R.PROD, R.L2, R.LOGSUM, R.LOGSUMEXP].map(empty)).toEqual([0, NaN, -Infinity, Infinity, 1, 0, -Infinity, -Infinity]);
    const inf = Float32Array.from([-Infinity, -Infinity, Infinity, 1]);
    expect([...box.f32(runKernel(box, 'reduce__ref', R.LOGSUMEXP, 1, inf, [2, 2], [1], 8), 2)]).toEqual([-Infinity, Infinity]);
    const imin = box.i32(runKernel(box, 'reduce__ref', R.MAX, 6, new Int32Array(0), [3, 0], [1], 12), 3);
    expect([...imin]).toEqual([-(2 ** 31), -(2 ** 31), -(2 ** 31)]);
  });
});

describe.each(ALL_BACKENDS)('reduce (%s) vs reduce__ref', (backend) => {
  const box = new KernelBox(backend);

  it.each(OPS)('float32 %s', (name, op) => {
    const seed = 200 + op;
    const r = rng(seed);
    for (const { dims, axes } of cases(seed)) {
      box.reset();
      const x = inputFor(op, numel(dims), r);
      const nout = outCount(dims, axes);
      const want = box.f32(runKernel(box, 'reduce__ref', op, 1, x, dims, axes, nout * 4), nout);
      const got = box.f32(runKernel(box, 'reduce', op, 1, x, dims, axes, nout * 4), nout);
      const { scale, n } = refReduce(op, x, dims, axes);
      for (let i = 0; i < nout; i++) {
        // Max/min do not depend on order; the rest differ by two summation orders' rounding.
        const exact = op === R.MAX || op === R.MIN;
        const tol = exact ? 0 : 8 * (n + 1) * U * scale[i] + 4 * U * Math.abs(want[i]);
        if (!(Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= tol)) {
          expect.fail(`${name} seed ${seed} dims [${dims}] axes [${axes}] [${i}]: ${got[i]} vs ${want[i]}`);
        }
      }
    }
  });

  it.each(INT_OPS)('int8, uint8, int32, uint32, int64, uint64, float64 %s bit-exact', (name, op) => {
    const seed = 300 + op;
    const r = rng(seed);
    for (const { dims, axes } of cases(seed)) {
      const n = numel(dims);
      const nout = outCount(dims, axes);
      const i32 = Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 2 ** 31));
      const i64 = BigInt64Array.from({ length: n }, () => BigInt(Math.floor((r() - 0.5) * 2 ** 40)) * 4099n);
      const u8 = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      const f64 = Float64Array.from({ length: n }, () => r() * 2 - 1);
      const i8 = Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128);
      const u32 = Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32));
      const u64 = BigUint64Array.from({ length: n }, () => BigInt(Math.floor(r() * 2 ** 32)) * 4294967311n);
      const inputs = [[i32, 6, 4], [i64, 7, 8], [u8, 2, 1], [f64, 11, 8], [i8, 3, 1], [u32, 12, 4], [u64, 13, 8]] as const;
      for (const [x, code, esize] of inputs) {
        box.reset();
        const pw = runKernel(box, 'reduce__ref', op, code, x, dims, axes, nout * esize);
        const pg = runKernel(box, 'reduce', op, code, x, dims, axes, nout * esize);
        const want = box.u8(pw, nout * esize);
        const got = box.u8(pg, nout * esize);
        if (code === 11 && op !== R.MAX && op !== R.MIN) {
          const w = new Float64Array(want.slice().buffer);
          const g = new Float64Array(got.slice().buffer);
          const bad = w.findIndex((v, i) => !(Object.is(v, g[i]) || Math.abs(v - g[i]) <= 1e-13 * (1 + Math.abs(v))));
          if (bad >= 0) expect.fail(`${name} float64 seed ${seed} dims [${dims}] axes [${axes}] [${bad}]: ${g[bad]} vs ${w[bad]}`);
        } else if (!want.every((b, i) => b === got[i])) {
          expect.fail(`${name} dtype ${code} seed ${seed} dims [${dims}] axes [${axes}] differs from the reference`);
        }
      }
    }
  });
});
