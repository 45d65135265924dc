// Sign-bit data movement (assembly/bitmove.ts) against references that never read bits:
// maxpool_b1 against pool.ts maxpool__ref on the same ±1 values as int8 (OR channels: min-pool,
// i.e. −maxpool(−x)); flatten_b1_nhwc against the flat NCHW order of the ±1 values.

import { describe, expect, it } from 'vitest';
import { poolWindows, type PoolAttrs, type PoolGeometry } from '../../src/ops/pool.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import { bitRowBytes, paddingIsZero, randomSignedF32, scramblePadding, signOf, unpackBits } from '../support/binary.js';

const DT_I8 = 3;

interface PoolCase {
  name: string;
  xd: number[]; // [N, C, spatial…]
  g: PoolGeometry;
}

function randomPool(r: () => number): PoolCase {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  for (;;) {
    const ns = pick([1, 2, 2, 3]);
    const spatial = Array.from({ length: ns }, (_, a) => (a === ns - 1 ? pick([1, 2, 3, 5, 8, 9]) : pick([1, 2, 3, 5])));
    const kernel = spatial.map(() => pick([1, 2, 3]));
    const attrs: PoolAttrs = {
      kernel,
      strides: spatial.map(() => pick([1, 1, 2, 3])),
      dilations: spatial.map(() => pick([1, 1, 2])),
      pads: [...kernel, ...kernel].map((k) => Math.floor(r() * k)),
      autoPad: pick(['NOTSET', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'] as const),
      ceil: r() < 0.3,
    };
    attrs.ceil = attrs.ceil && attrs.autoPad === 'NOTSET';
    const xd = [pick([1, 2]), pick([1, 2, 5, 31, 32, 33, 64, 127, 128, 129, 200]), ...spatial];
    const g = poolWindows(xd, attrs);
    if (typeof g !== 'string') return { name: `x=[${xd}] ${JSON.stringify(attrs)}`, xd, g };
  }
}

const PINNED: PoolCase[] = [
  // dilation skipping over a short axis: some windows are all padding (AND gives −1, OR +1).
  { name: 'window all padding', xd: [1, 3, 1, 9], g: poolWindows([1, 3, 1, 9], { kernel: [2, 3], strides: [1, 1], dilations: [2, 1], pads: [1, 1, 1, 1], autoPad: 'NOTSET', ceil: false }) as PoolGeometry },
  { name: '2×2 stride 2, 256 channels', xd: [2, 256, 6, 6], g: poolWindows([2, 256, 6, 6], { kernel: [2, 2], strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], autoPad: 'NOTSET', ceil: false }) as PoolGeometry },
];

/** ±1 NCHW (int8) max-pooled by the reference kernel; `min` pools −x and negates. */
function refPool(box: KernelBox, c: PoolCase, x: Int8Array, min: boolean): Int8Array {
  const outN = c.g.outDims.reduce((a, b) => a * b, 1);
  const y = box.alloc(outN);
  const src = min ? Int8Array.from(x, (v) => -v) : x;
  box.call('maxpool__ref', DT_I8, box.put(src), y, c.g.nc, box.put(c.g.desc));
  const got = new Int8Array(box.u8(y, outN).buffer.slice(0));
  return min ? Int8Array.from(got, (v) => (-v > 0 ? 1 : -1)) : got;
}

describe.each(ALL_BACKENDS)('maxpool_b1 (%s)', (backend) => {
  const box = new KernelBox(backend);
  const r = rng(77);
  const cases = [...PINNED, ...Array.from({ length: 60 }, () => randomPool(r))];
  it.each(cases.map((c, i) => [i, c.name, c] as const))('case %i %s: AND/OR of the window equals max/min of the ±1 values', (_i, _n, c) => {
    box.reset();
    const [N, C] = c.xd;
    const Pin = c.xd.slice(2).reduce((a, b) => a * b, 1);
    const Pout = c.g.outDims.slice(2).reduce((a, b) => a * b, 1);
    const rb = bitRowBytes(C);
    const xf = randomSignedF32(r, N * C * Pin);
    const xp = box.alloc(N * Pin * rb);
    box.call('pack_signs_nchw_f32', box.put(xf), N, C, Pin, xp, 0);
    scramblePadding(box, xp, N * Pin, C, r);
    const orChannels = Array.from({ length: C }, () => r() < 0.4);
    const mask = new Uint8Array(rb);
    orChannels.forEach((on, ch) => (mask[ch >> 3] |= on ? 1 << (ch & 7) : 0));
    const y = box.alloc(N * Pout * rb);
    expect(box.call('maxpool_b1', xp, y, N, rb, box.put(mask), box.put(c.g.desc))).toBe(0);
    const got = unpackBits(box.u8(y, N * Pout * rb), N * Pout, C);
    const x = Int8Array.from(xf, signOf);
    const viaMax = refPool(box, c, x, false);
    const viaMin = refPool(box, c, x, true);
    for (let n = 0; n < N; n++) for (let ch = 0; ch < C; ch++) for (let p = 0; p < Pout; p++) {
      const want = (orChannels[ch] ? viaMin : viaMax)[(n * C + ch) * Pout + p] < 0 ? -1 : 1;
      if (got[(n * Pout + p) * C + ch] !== want) expect.fail(`n=${n} c=${ch} p=${p}: ${got[(n * Pout + p) * C + ch]} vs ${want}`);
    }
  });
  it('rejects rows that are not whole 16-byte blocks and a zero stride', () => {
    box.reset();
    const g = PINNED[1].g;
    expect(box.call('maxpool_b1', 0, 0, 1, 24, 0, box.put(g.desc))).toBe(1);
    const bad = g.desc.slice();
    bad[9 + 2] = 0;
    expect(box.call('maxpool_b1', 0, 0, 1, 32, 0, box.put(bad))).toBe(1);
  });
});

describe.each(ALL_BACKENDS)('flatten_b1_nhwc (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('writes the ±1 values in flat NCHW order as rows of L, padding zeroed', () => {
    const r = rng(78);
    const shapes = [[1, 1, 1, 1], [2, 3, 5, 15], [2, 64, 4, 256], [3, 33, 7, 77], [1, 128, 1, 128], [2, 5, 9, 9], [1, 200, 3, 600]];
    for (const [N, C, P, L] of shapes) {
      box.reset();
      const xf = randomSignedF32(r, N * C * P);
      const xp = box.alloc(N * P * bitRowBytes(C));
      box.call('pack_signs_nchw_f32', box.put(xf), N, C, P, xp, 0);
      scramblePadding(box, xp, N * P, C, r);
      const rows = (N * C * P) / L;
      const y = box.alloc(rows * bitRowBytes(L));
      box.m.u8().fill(0xff, y, y + rows * bitRowBytes(L));
      expect(box.call('flatten_b1_nhwc', xp, N, C, P, L, y)).toBe(0);
      const raw = box.u8(y, rows * bitRowBytes(L));
      expect(paddingIsZero(raw, rows, L)).toBe(true);
      expect([...unpackBits(raw, rows, L)]).toEqual([...xf].map(signOf));
    }
  });
  it('rejects a length that does not divide the tensor', () => {
    box.reset();
    expect(box.call('flatten_b1_nhwc', 0, 2, 3, 5, 7, 0)).toBe(1);
    expect(box.call('flatten_b1_nhwc', 0, 2, 3, 5, 0, 0)).toBe(1);
  });
});
