import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';
import {
  SRC_KN, SRC_NBITS, SRC_NK, ZP_BYTES, ZP_NBITS, ZP_NONE, ZP_PACKED, encodeSource, randomWeights, refF64,
  type PlainWeights,
} from '../support/qweights.js';

const U = 2 ** -24;

/** Packs plain weights through one source format with qw_pack; returns the packed address. */
function packVia(box: KernelBox, w: PlainWeights, layout: number, signed: boolean, zpLayout: number): number {
  const s = encodeSource(w, layout, signed, zpLayout);
  const bytes = box.call('qw_pack_bytes', w.N, w.K, w.bits, w.bs)!;
  expect(bytes).toBeGreaterThan(0);
  const dst = box.alloc(bytes);
  const rc = box.call('qw_pack', box.put(s.src), layout, signed ? 1 : 0, box.put(s.scale), s.zp ? box.put(s.zp) : 0, zpLayout,
    w.N, w.K, w.bits, w.bs, dst);
  expect(rc).toBe(0);
  return dst;
}

interface Case { M: number; N: number; K: number; bits: number; bs: number; layout: number; signed: boolean; zpLayout: number }

/** Ragged shapes × every bit width, block size, source layout and zero-point encoding. */
function cases(seed: number): Case[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const out: Case[] = [];
  const sources: Array<[number, boolean, number]> = [
    [SRC_NBITS, false, ZP_NONE], [SRC_NBITS, false, ZP_NBITS], [SRC_NBITS, false, ZP_BYTES],
    [SRC_KN, true, ZP_NONE], [SRC_KN, true, ZP_PACKED], [SRC_KN, false, ZP_PACKED], [SRC_NK, true, ZP_BYTES], [SRC_NK, false, ZP_NONE],
  ];
  for (const bits of [2, 4, 8]) for (const bs of [16, 32, 64, 128]) for (const [layout, signed, zpLayout] of sources) {
    out.push({ M: pick([1, 2, 3, 4, 5, 7, 8, 9]), N: pick([1, 3, 4, 5, 8, 9, 13, 17]), K: pick([1, 15, bs - 1, bs, bs + 1, 2 * bs + 7, 3 * bs + 8]),
      bits, bs, layout, signed, zpLayout });
  }
  for (let M = 1; M <= 9; M++) out.push({ M, N: 11, K: 77, bits: 4, bs: 32, layout: SRC_NBITS, signed: false, zpLayout: ZP_NBITS });
  return out;
}

const label = (c: Case, seed: number): string =>
  `seed ${seed} M=${c.M} N=${c.N} K=${c.K} bits=${c.bits} bs=${c.bs} layout=${c.layout} signed=${c.signed} zp=${c.zpLayout}`;

describe.each(ALL_BACKENDS)('qwgemm_f32 exact path (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('matches float64 within (K+2)·2^-24·Σ|w·a|, and the scalar reference on the plain layout', () => {
    const seed = 4242;
    const r = rng(seed);
    for (const c of cases(seed)) {
      box.reset();
      const w = randomWeights(r, c.N, c.K, c.bits, c.bs, c.zpLayout === ZP_NONE);
      const a = randomF32(r, c.M * c.K);
      const bias = r() < 0.5 ? randomF32(r, c.N) : null;
      const qw = packVia(box, w, c.layout, c.signed, c.zpLayout);
      const pa = box.put(a);
      const pbias = bias ? box.put(bias) : 0;
      const scratch = box.alloc(box.call('qwgemm_f32_scratch_bytes', c.M, c.K, c.bs)!);
      const pc = box.alloc(c.M * c.N * 4);
      expect(box.call('qwgemm_f32', pa, c.K, qw, pc, c.N, c.M, c.N, c.K, c.bits, c.bs, pbias, scratch)).toBe(0);
      const got = box.f32(pc, c.M * c.N);
      const pr = box.alloc(c.M * c.N * 4);
      box.call('qwgemm_f32__ref', pa, c.K, box.put(w.q), box.put(w.scale), box.put(w.zp), pr, c.N, c.M, c.N, c.K, c.bs, pbias);
      const ref = box.f32(pr, c.M * c.N);
      const { y, mag } = refF64(w, a, c.M, bias);
      for (let i = 0; i < c.M * c.N; i++) {
        const bound = (c.K + 2) * U * mag[i];
        if (!(Math.abs(got[i] - y[i]) <= bound)) expect.fail(`${label(c, seed)} [${i}] fast ${got[i]} vs ${y[i]} (bound ${bound})`);
        if (!(Math.abs(ref[i] - y[i]) <= bound)) expect.fail(`${label(c, seed)} [${i}] ref ${ref[i]} vs ${y[i]} (bound ${bound})`);
      }
    }
  });
});
