import { describe, expect, it } from 'vitest';
import { poolWindows, type PoolAttrs, type PoolGeometry } from '../../src/ops/pool.js';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';

type Elem = 'f32' | 'i8' | 'u8';
const DT = { f32: 1, u8: 2, i8: 3 } as const;
const SIZE = { f32: 4, u8: 1, i8: 1 } as const;

interface Case {
  name: string;
  xd: number[];
  attrs: PoolAttrs;
  g: PoolGeometry;
}

function makeCase(name: string, xd: number[], attrs: PoolAttrs): Case {
  const g = poolWindows(xd, attrs);
  if (typeof g === 'string') throw new Error(`${name}: ${g}`);
  return { name, xd, attrs, g };
}

/** Random geometries: 1-D to 3-D, odd sizes, pads, strides, dilations, ceil_mode, auto_pad. */
function randomCases(seed: number, count: number): Case[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const cases: Case[] = [];
  while (cases.length < count) {
    const ns = pick([1, 2, 2, 3]);
    const widths = [1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 40];
    const spatial = Array.from({ length: ns }, (_, a) => (a === ns - 1 ? pick(widths) : pick([1, 2, 3, 5, 6])));
    const kernel = spatial.map(() => pick([1, 2, 3, 4]));
    const dilations = spatial.map(() => pick([1, 1, 2, 3]));
    const strides = spatial.map(() => pick([1, 1, 1, 2, 3]));
    const pads = [...kernel, ...kernel].map((k) => Math.floor(r() * k));
    const autoPad = pick(['NOTSET', 'NOTSET', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'] as const);
    const xd = [pick([1, 2]), pick([1, 3]), ...spatial];
    const attrs: PoolAttrs = { kernel, strides, dilations, pads, autoPad, ceil: autoPad === 'NOTSET' && r() < 0.5 };
    const g = poolWindows(xd, attrs);
    if (typeof g === 'string') continue;
    cases.push({ name: `seed ${seed} #${cases.length} x=[${xd}] ${JSON.stringify(attrs)}`, xd, attrs, g });
  }
  return cases;
}

const PINNED: Case[] = [
  // ceil_mode window running past the end pad: count_include_pad must not count that part.
  makeCase('ceil past end pad', [1, 1, 32], { kernel: [5], strides: [3], dilations: [2], pads: [0, 0], autoPad: 'NOTSET', ceil: true }),
  // ceil_mode window that would start inside the end padding is dropped.
  makeCase('last window starts on pad', [1, 1, 2, 2], { kernel: [3, 3], strides: [3, 3], dilations: [1, 1], pads: [1, 1, 1, 1], autoPad: 'NOTSET', ceil: true }),
  // dilation skipping over a short axis entirely: the window is all padding.
  makeCase('window all padding', [1, 2, 1, 9], { kernel: [2, 3], strides: [1, 1], dilations: [2, 1], pads: [1, 1, 1, 1], autoPad: 'NOTSET', ceil: false }),
  makeCase('wide stride-2 interior (16 int8 lanes)', [1, 2, 3, 71], { kernel: [3, 3], strides: [1, 2], dilations: [1, 1], pads: [1, 1, 1, 1], autoPad: 'NOTSET', ceil: true }),
  makeCase('wide stride-1 interior', [1, 2, 3, 67], { kernel: [3, 3], strides: [1, 1], dilations: [1, 2], pads: [1, 2, 1, 2], autoPad: 'NOTSET', ceil: false }),
  // Byte rows narrower than a vector: 8 outputs, then 4, then scalar (14 = 8 + 4 + 2, 7 = 4 + 3, 13 = 8 + 4 + 1).
  makeCase('narrow stride-2 rows (2x2, 14 outputs)', [1, 3, 4, 28], { kernel: [2, 2], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: 'NOTSET', ceil: false }),
  makeCase('narrow stride-2 rows (2x2, 7 outputs)', [1, 2, 4, 14], { kernel: [2, 2], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: 'NOTSET', ceil: false }),
  makeCase('narrow stride-1 rows (13 outputs, dilated, padded)', [1, 2, 3, 15], { kernel: [2, 3], strides: [1, 1], dilations: [1, 2], pads: [1, 2, 0, 1], autoPad: 'NOTSET', ceil: false }),
];

function randomInput(r: () => number, e: Elem, n: number): ArrayBufferView {
  if (e === 'f32') return randomF32(r, n, 4);
  const a = e === 'i8' ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 256) - (e === 'i8' ? 128 : 0);
  return a;
}

/** Bitwise equality, treating any two NaNs as equal. */
function sameBits(got: Uint8Array, want: Uint8Array, e: Elem): number {
  if (e !== 'f32') return got.findIndex((v, i) => v !== want[i]);
  const g = new Float32Array(got.buffer, got.byteOffset, got.length / 4);
  const w = new Float32Array(want.buffer, want.byteOffset, want.length / 4);
  const gb = new Uint32Array(got.buffer, got.byteOffset, got.length / 4);
  const wb = new Uint32Array(want.buffer, want.byteOffset, want.length / 4);
  return g.findIndex((v, i) => !(Number.isNaN(v) && Number.isNaN(w[i])) && gb[i] !== wb[i]);
}

/** The ONNX definition written plainly in JS: max, or f32 sum of taps / counted taps. */
function jsPool(x: ArrayLike<number>, c: Case, avg: boolean, countPad: boolean): Float32Array {
  const [D, H, W, oD, oH, oW, kD, kH, kW, sD, sH, sW, dD, dH, dW, pD, pH, pW, lD, lH, lW] = c.g.desc;
  const y = new Float32Array(c.g.nc * oD * oH * oW);
  let o = 0;
  for (let ch = 0; ch < c.g.nc; ch++) for (let od = 0; od < oD; od++) for (let oh = 0; oh < oH; oh++) for (let ow = 0; ow < oW; ow++) {
    let sum = 0, best = -Infinity, n = 0;
    for (let kd = 0; kd < kD; kd++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
      const id = od * sD - pD + kd * dD, ih = oh * sH - pH + kh * dH, iw = ow * sW - pW + kw * dW;
      const inside = id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W;
      if (countPad ? id < lD && ih < lH && iw < lW : inside) n++;
      if (!inside) continue;
      const v = x[((ch * D + id) * H + ih) * W + iw];
      sum = Math.fround(sum + v);
      best = Math.max(best, v);
    }
    y[o++] = avg ? Math.fround(sum / n) : best;
  }
  return y;
}

const ref = new KernelBox('scalar');

function runPool(box: KernelBox, kernel: string, c: Case, e: Elem, x: ArrayBufferView, extra: number[]): Uint8Array {
  box.reset();
  const outBytes = c.g.outDims.reduce((a, b) => a * b, 1) * SIZE[e];
  const px = box.put(x);
  const py = box.alloc(outBytes);
  const pd = box.put(c.g.desc);
  const rc = kernel === 'avgpool_f32' || kernel === 'avgpool_f32__ref'
    ? box.call(kernel, px, py, c.g.nc, pd, ...extra)
    : box.call(kernel, DT[e], px, py, c.g.nc, pd);
  expect(rc ?? 0).toBe(0);
  return box.u8(py, outBytes).slice();
}

const CASES = [...PINNED, ...randomCases(20240611, 160)];

describe('pool reference kernels', () => {
  it('maxpool__ref and avgpool_f32__ref equal the ONNX definition written in JS', () => {
    const r = rng(5);
    for (const c of CASES) {
      const x = randomF32(r, c.xd.reduce((a, b) => a * b, 1), 4);
      const gotMax = new Float32Array(runPool(ref, 'maxpool__ref', c, 'f32', x, []).buffer);
      expect(sameBits(new Uint8Array(gotMax.buffer), new Uint8Array(jsPool(x, c, false, false).buffer), 'f32'), c.name).toBe(-1);
      for (const countPad of [0, 1]) {
        const got = runPool(ref, 'avgpool_f32__ref', c, 'f32', x, [countPad]);
        expect(sameBits(got, new Uint8Array(jsPool(x, c, true, countPad === 1).buffer), 'f32'), `${c.name} countPad=${countPad}`).toBe(-1);
      }
    }
  });
});

describe.each(ALL_BACKENDS)('pool kernels (%s)', (backend) => {
  const box = new KernelBox(backend);

  it.each(['f32', 'i8', 'u8'] as const)('maxpool %s equals the scalar reference bit for bit', (e) => {
    const r = rng(11);
    for (const c of CASES) {
      const x = randomInput(r, e, c.xd.reduce((a, b) => a * b, 1));
      const want = runPool(ref, 'maxpool__ref', c, e, x, []);
      const got = runPool(box, 'maxpool', c, e, x, []);
      const bad = sameBits(got, want, e);
      if (bad >= 0) expect.fail(`${c.name} ${e} [${bad}]`);
    }
  });

  it('avgpool_f32 equals the scalar reference bit for bit (same summation order)', () => {
    const r = rng(12);
    for (const c of CASES) for (const countPad of [0, 1]) {
      const x = randomInput(r, 'f32', c.xd.reduce((a, b) => a * b, 1));
      const want = runPool(ref, 'avgpool_f32__ref', c, 'f32', x, [countPad]);
      const got = runPool(box, 'avgpool_f32', c, 'f32', x, [countPad]);
      const bad = sameBits(got, want, 'f32');
      if (bad >= 0) expect.fail(`${c.name} countPad=${countPad} [${bad}]`);
    }
  });

  it.each([[0, 'f32'], [1, 'f32'], [0, 'i8'], [1, 'u8']] as const)('maxpool_indices (storage_order %i, %s) gives the first maximal tap as a flat index', (order, e) => {
    const r = rng(13 + order + (e === 'f32' ? 0 : e === 'i8' ? 2 : 4));
    for (const c of CASES.slice(0, 60)) {
      const n = c.xd.reduce((a, b) => a * b, 1);
      // Few distinct values so that ties (first occurrence wins) are common; the type's extremes.
      const levels = e === 'f32' ? [0, 1, 2, 3, 4] : e === 'i8' ? [-128, -7, 0, 5, 127] : [0, 3, 128, 200, 255];
      const vals = Array.from({ length: n }, () => levels[Math.floor(r() * 5)]);
      const x = e === 'f32' ? Float32Array.from(vals) : e === 'i8' ? Int8Array.from(vals) : Uint8Array.from(vals);
      const [D, H, W, oD, oH, oW, kD, kH, kW, sD, sH, sW, dD, dH, dW, pD, pH, pW] = c.g.desc;
      const m = c.g.nc * oD * oH * oW;
      box.reset();
      const px = box.put(x), py = box.alloc(m * 4), pi = box.alloc(m * 8), pd = box.put(c.g.desc);
      expect(box.call('maxpool_indices', DT[e], px, py, pi, c.g.nc, pd, order)).toBe(0);
      const y = e === 'f32' ? box.f32(py, m) : e === 'i8' ? new Int8Array(box.u8(py, m).buffer) : box.u8(py, m);
      const idx = new BigInt64Array(box.u8(pi, m * 8).slice().buffer);
      let o = 0;
      for (let ch = 0; ch < c.g.nc; ch++) for (let od = 0; od < oD; od++) for (let oh = 0; oh < oH; oh++) for (let ow = 0; ow < oW; ow++, o++) {
        let best = e === 'f32' ? -Infinity : e === 'i8' ? -128 : 0, at = -1;
        for (let kd = 0; kd < kD; kd++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
          const id = od * sD - pD + kd * dD, ih = oh * sH - pH + kh * dH, iw = ow * sW - pW + kw * dW;
          if (id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          const v = x[((ch * D + id) * H + ih) * W + iw];
          if (at < 0 || v > best) {
            best = v;
            at = ch * D * H * W + (order ? id + ih * D + iw * D * H : (id * H + ih) * W + iw);
          }
        }
        if (y[o] !== best || idx[o] !== BigInt(at)) expect.fail(`${c.name} [${o}]: ${y[o]}@${idx[o]} vs ${best}@${at}`);
      }
    }
  });

  it('maxpool_indices under a SAME window far larger than the input visits only in-bounds taps (fuzz seed 5 case 7174)', () => {
    // 65536² taps per output: visiting every tap would take hours; the in-bounds ones are 25.
    const c = makeCase('huge SAME window', [1, 1, 5, 5], { kernel: [65536, 65536], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: 'SAME_UPPER', ceil: false });
    const x = new Float32Array(25).map((_, i) => (i * 7) % 11);
    box.reset();
    const px = box.put(x), py = box.alloc(25 * 4), pi = box.alloc(25 * 8), pd = box.put(c.g.desc);
    const t0 = performance.now();
    expect(box.call('maxpool_indices', DT.f32, px, py, pi, c.g.nc, pd, 0)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    // Every window covers the whole input: the max (10) and its first position (x[i] = 7i mod 11 = 10 at i = 3).
    expect([...box.f32(py, 25)]).toEqual(new Array(25).fill(10));
    expect([...new BigInt64Array(box.u8(pi, 25 * 8).slice().buffer)]).toEqual(new Array(25).fill(3n));
  });

  it('global_avgpool_f32 and global_maxpool_f32 match float64 math and the exact max', () => {
    const r = rng(14);
    for (const nc of [1, 3, 8]) for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 49, 196, 1001]) {
      box.reset();
      const x = randomF32(r, nc * n, 3);
      const px = box.put(x), pa = box.alloc(nc * 4), pm = box.alloc(nc * 4);
      box.call('global_avgpool_f32', px, pa, nc, n);
      box.call('global_maxpool_f32', px, pm, nc, n);
      const avg = box.f32(pa, nc), mx = box.f32(pm, nc);
      for (let c = 0; c < nc; c++) {
        let s = 0, m = -Infinity;
        for (let i = 0; i < n; i++) {
          s += x[c * n + i];
          m = Math.max(m, x[c * n + i]);
        }
        if (Math.abs(avg[c] - s / n) > 1e-6 * (1 + Math.sqrt(n))) expect.fail(`avg nc=${nc} n=${n} c=${c}: ${avg[c]} vs ${s / n}`);
        expect(mx[c], `max nc=${nc} n=${n} c=${c}`).toBe(Math.fround(m));
      }
    }
  });
});
