// Softmax/LogSoftmax and LayerNormalization kernels: every build vs the scalar reference on
// ragged [outer, n, inner] / [rows, n] shapes, and the reference vs float64 maths.

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng, sizesAround } from '../support/kernels.js';

const U = 2 ** -24;

/** float64 softmax, and |x − m| per element (the size of exp's argument). */
function softmax64(x: Float32Array, outer: number, n: number, inner: number, log: boolean): { y: Float64Array; arg: Float64Array } {
  const y = new Float64Array(x.length);
  const arg = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const at = (k: number) => (o * n + k) * inner + j;
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[at(k)]);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(x[at(k)] - m);
    for (let k = 0; k < n; k++) {
      y[at(k)] = log ? x[at(k)] - m - Math.log(s) : Math.exp(x[at(k)] - m) / s;
      arg[at(k)] = Math.abs(x[at(k)] - m);
    }
  }
  return { y, arg };
}

function layerNorm64(x: Float32Array, scale: Float32Array, bias: Float32Array | undefined, rows: number, n: number, eps: number) {
  const y = new Float64Array(rows * n);
  const mean = new Float64Array(rows);
  const inv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[r * n + i];
    const mu = s / n;
    let q = 0;
    for (let i = 0; i < n; i++) q += (x[r * n + i] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / n + eps);
    mean[r] = mu;
    inv[r] = rs;
    for (let i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] - mu) * rs * scale[i] + (bias ? bias[i] : 0);
  }
  return { y, mean, inv };
}

const SHAPES: [number, number, number][] = [];
for (const n of sizesAround(4, [64, 100])) for (const inner of [1, 2, 5, 300]) for (const outer of [1, 3]) SHAPES.push([outer, n, inner]);

function close(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const ok = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!ok) expect.fail(`${what} [${i}]: ${got[i]} vs ${want[i]}`);
  }
}

describe('softmax_f32__ref and layernorm_f32__ref vs float64 maths', () => {
  const box = new KernelBox('scalar');
  it.each([0, 1])('softmax (log %i), including large and −∞ logits', (log) => {
    const r = rng(11 + log);
    for (const [outer, n, inner] of SHAPES) {
      box.reset();
      const x = randomF32(r, outer * n * inner, 8);
      if (n > 1) x[0] = -Infinity;
      if (n > 2) x[x.length - 1] = 3e4;
      const py = box.alloc(x.length * 4);
      box.call('softmax_f32__ref', box.put(x), py, outer, n, inner, log);
      // exp/log within 1 ulp, a sum of n terms and one division give (n + 8)·u relative; the f32
      // rounding of x − m (|x − m|·u) passes through exp as relative error, and into log-softmax
      // as absolute error.
      const { y, arg } = softmax64(x, outer, n, inner, log === 1);
      const got = box.f32(py, x.length);
      for (let i = 0; i < y.length; i++) {
        const tol = (n + 8 + arg[i]) * U * (log ? 1 + Math.abs(x[i]) : Math.abs(y[i]));
        if (!(Object.is(got[i], y[i]) || Math.abs(got[i] - y[i]) <= tol)) expect.fail(`outer ${outer} n ${n} inner ${inner} log ${log} [${i}]: ${got[i]} vs ${y[i]}`);
      }
    }
  });

  it('layernorm with and without bias, mean and inverse std outputs', () => {
    const r = rng(5);
    for (const n of sizesAround(4, [64, 257])) for (const rows of [1, 3]) for (const withBias of [true, false]) {
      box.reset();
      const x = randomF32(r, rows * n, 3);
      for (let i = 0; i < x.length; i++) x[i] += 10;
      const scale = randomF32(r, n);
      const bias = withBias ? randomF32(r, n) : undefined;
      const py = box.alloc(rows * n * 4);
      const pm = box.alloc(rows * 4);
      const pi = box.alloc(rows * 4);
      box.call('layernorm_f32__ref', box.put(x), box.put(scale), bias ? box.put(bias) : 0, py, pm, pi, rows, n, 1e-5);
      const want = layerNorm64(x, scale, bias, rows, n, 1e-5);
      const what = `rows ${rows} n ${n} bias ${withBias}`;
      close(box.f32(pm, rows), want.mean, 4 * n * U, 0, `${what} mean`);
      close(box.f32(pi, rows), want.inv, 16 * n * U, 0, `${what} invstd`);
      close(box.f32(py, rows * n), want.y, 0, 64 * n * U, `${what} y`);
    }
  });
});

describe('softmax_f32 over rows (inner = 1): the same bits on every build', () => {
  it.each([0, 1])('log %i: ragged rows, large and −∞ logits, and far-below-max entries that round to 0', (log) => {
    const r = rng(31 + log);
    const boxes = ALL_BACKENDS.map((b) => new KernelBox(b));
    for (const n of [...sizesAround(4, [64, 128]), 1000]) for (const outer of [1, 3]) {
      const x = randomF32(r, outer * n, 30);
      if (n > 2) { x[1] = -Infinity; x[2] = -1e30; }
      if (n > 5) x[5] = 200;
      const outs = boxes.map((box) => {
        box.reset();
        const py = box.alloc(x.length * 4);
        box.call('softmax_f32', box.put(x), py, outer, n, 1, log);
        return box.f32(py, x.length);
      });
      for (let b = 1; b < outs.length; b++) {
        for (let i = 0; i < x.length; i++) {
          if (!Object.is(outs[b][i], outs[0][i])) expect.fail(`${ALL_BACKENDS[b]} vs ${ALL_BACKENDS[0]} n ${n} outer ${outer} [${i}]: ${outs[b][i]} vs ${outs[0][i]}`);
        }
      }
      if (!log && n > 5) expect([outs[0][1], outs[0][2], outs[0][5]]).toEqual([0, 0, 1]);
    }
  });
});

describe.each(ALL_BACKENDS)('%s builds vs the references', (backend) => {
  const box = new KernelBox(backend);
  it.each([0, 1])('softmax_f32 (log %i)', (log) => {
    const r = rng(21 + log);
    for (const [outer, n, inner] of SHAPES) {
      box.reset();
      const x = randomF32(r, outer * n * inner, 8);
      const px = box.put(x);
      const pw = box.alloc(x.length * 4);
      const pg = box.alloc(x.length * 4);
      box.call('softmax_f32__ref', px, pw, outer, n, inner, log);
      box.call('softmax_f32', px, pg, outer, n, inner, log);
      // Same exp; only the order of the n-term sum and 1/s·e vs e/s differ.
      close(box.f32(pg, x.length), box.f32(pw, x.length), (2 * n + 4) * U, log ? 64 * U : 0, `seed ${21 + log} outer ${outer} n ${n} inner ${inner}`);
    }
  });

  it('softmax_f32 rows of −∞ and +∞ give NaN like the reference; one finite entry gives 1', () => {
    box.reset();
    const x = Float32Array.from([-Infinity, -Infinity, -Infinity, -Infinity, Infinity, 1, 2, 3, -Infinity, 5, -Infinity, -Infinity]);
    for (const kernel of ['softmax_f32', 'softmax_f32__ref']) {
      const py = box.alloc(48);
      box.call(kernel, box.put(x), py, 3, 4, 1, 0);
      const y = [...box.f32(py, 12)];
      expect(y.slice(0, 4).every(Number.isNaN)).toBe(true);
      expect(Number.isNaN(y[4])).toBe(true);
      expect(y.slice(8)).toEqual([0, 1, 0, 0]);
    }
  });

  it('layernorm_f32', () => {
    const r = rng(31);
    for (const n of sizesAround(4, [64, 257])) for (const rows of [1, 2, 5]) for (const withBias of [true, false]) {
      box.reset();
      const x = randomF32(r, rows * n, 2);
      const scale = randomF32(r, n);
      const pb = withBias ? box.put(randomF32(r, n)) : 0;
      const [px, ps] = [box.put(x), box.put(scale)];
      const out = () => [box.alloc(rows * n * 4), box.alloc(rows * 4), box.alloc(rows * 4)];
      const [wy, wm, wi] = out();
      const [gy, gm, gi] = out();
      box.call('layernorm_f32__ref', px, ps, pb, wy, wm, wi, rows, n, 1e-3);
      box.call('layernorm_f32', px, ps, pb, gy, gm, gi, rows, n, 1e-3);
      const what = `seed 31 rows ${rows} n ${n} bias ${withBias}`;
      close(box.f32(gm, rows), box.f32(wm, rows), 8 * n * U, 8 * n * U, `${what} mean`);
      close(box.f32(gi, rows), box.f32(wi, rows), 16 * n * U, 0, `${what} invstd`);
      close(box.f32(gy, rows * n), box.f32(wy, rows * n), 0, 64 * n * U, `${what} y`);
    }
  });
});
