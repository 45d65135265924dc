import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';
import {
  SRC_KN, SRC_NBITS, SRC_NK, ZP_BYTES, ZP_NBITS, ZP_NONE, ZP_PACKED, encodeSource, randomWeights, refF64,
  withFractionalZp, zpFractionOf, type PlainWeights,
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

/** quantize_rows_i8's rule in JS: s = max|a|/127, q = clamp(round_half_even(a/s), ±127), f32 division. */
function quantizeRef(a: Float32Array, M: number, K: number, bs: number): { aq: Int8Array; s: Float32Array; asum: Int32Array } {
  const kb = Math.ceil(K / bs), Kp = kb * bs;
  const aq = new Int8Array(M * Kp), s = new Float32Array(M), asum = new Int32Array(M * kb);
  for (let m = 0; m < M; m++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(a[m * K + k]));
    s[m] = Math.fround(Math.fround(amax) / 127);
    if (amax === 0) continue;
    for (let k = 0; k < K; k++) {
      const x = Math.fround(a[m * K + k] / s[m]);
      const fl = Math.floor(x);
      const r = x - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(x);
      aq[m * Kp + k] = Math.min(127, Math.max(-127, r));
      asum[m * kb + Math.floor(k / bs)] += aq[m * Kp + k];
    }
  }
  return { aq, s, asum };
}

describe.each(ALL_BACKENDS)('qwgemm_i8 int8-activation path (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('quantize_rows_i8 follows the stated rule bit-exactly (ties, zero rows, padding, block sums)', () => {
    const r = rng(99);
    for (const [M, K, bs] of [[1, 1, 16], [3, 37, 16], [2, 100, 32], [4, 129, 64], [1, 4096, 128]]) {
      box.reset();
      const a = randomF32(r, M * K, 3);
      if (M > 2) a.fill(0, K, 2 * K); // an all-zero row
      a[0] = 3; // amax = 3 → s = 3/127: a = ±1.5·s hits a tie
      if (K > 2) { a[1] = Math.fround(1.5 * Math.fround(3 / 127)); a[2] = -a[1]; }
      const kb = Math.ceil(K / bs), Kp = kb * bs;
      const paq = box.alloc(M * Kp), ps = box.alloc(M * 4), psum = box.alloc(M * kb * 4);
      box.m.u8().fill(0x55, paq, paq + M * Kp);
      expect(box.call('quantize_rows_i8', box.put(a), K, M, K, bs, paq, ps, psum)).toBe(0);
      const want = quantizeRef(a, M, K, bs);
      expect(new Int8Array(box.u8(paq, M * Kp).buffer)).toEqual(want.aq);
      expect(box.f32(ps, M)).toEqual(want.s);
      expect(box.i32(psum, M * kb)).toEqual(want.asum);
    }
  });

  it('matches the scalar reference bit-exactly on the same quantized activations, and float64 within the quantization bound', () => {
    const seed = 777;
    const r = rng(seed);
    for (const c of cases(seed)) {
      box.reset();
      const w = randomWeights(r, c.N, c.K, c.bits, c.bs, c.zpLayout === ZP_NONE);
      const a = randomF32(r, c.M * c.K);
      const bias = r() < 0.5 ? randomF32(r, c.N) : null;
      const qw = packVia(box, w, c.layout, c.signed, c.zpLayout);
      const kb = Math.ceil(c.K / c.bs), Kp = kb * c.bs;
      const paq = box.alloc(c.M * Kp), ps = box.alloc(c.M * 4), psum = box.alloc(c.M * kb * 4);
      expect(box.call('quantize_rows_i8', box.put(a), c.K, c.M, c.K, c.bs, paq, ps, psum)).toBe(0);
      const pbias = bias ? box.put(bias) : 0;
      const pc = box.alloc(c.M * c.N * 4), pr = box.alloc(c.M * c.N * 4);
      expect(box.call('qwgemm_i8', paq, ps, psum, qw, pc, c.N, c.M, c.N, c.K, c.bits, c.bs, pbias)).toBe(0);
      box.call('qwgemm_i8__ref', paq, ps, box.put(w.q), box.put(w.scale), box.put(w.zp), pr, c.N, c.M, c.N, c.K, c.bs, pbias);
      const got = box.f32(pc, c.M * c.N), ref = box.f32(pr, c.M * c.N);
      const s = box.f32(ps, c.M);
      const { y } = refF64(w, a, c.M, bias);
      for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) {
        const i = m * c.N + n;
        if (!Object.is(got[i], ref[i])) expect.fail(`${label(c, seed)} [${i}] fast ${got[i]} ≠ ref ${ref[i]}`);
        // |a − s·aq| ≤ s/2 per element, so |y − y64| ≤ (s/2)·Σ_k |w[n,k]| (+ f32 rounding).
        let wabs = 0;
        for (let k = 0; k < c.K; k++) {
          const b = Math.floor(k / c.bs);
          wabs += Math.abs((w.q[n * c.K + k] - w.zp[n * kb + b]) * w.scale[n * kb + b]);
        }
        const bound = (s[m] / 2) * wabs * (1 + 1e-5) + 1e-6 * (1 + Math.abs(y[i]));
        if (!(Math.abs(got[i] - y[i]) <= bound)) expect.fail(`${label(c, seed)} [${i}] ${got[i]} vs float64 ${y[i]} (bound ${bound})`);
      }
    }
  });

  it('extreme values (q = 2^bits − 1, zp = 0, |aq| = 127) fill the i16/i32 sums exactly', () => {
    for (const [bits, bs, K] of [[2, 128, 300], [4, 128, 300], [4, 16, 48], [8, 4096, 4096], [8, 64, 200]]) {
      box.reset();
      const r = rng(5);
      // M = 6: a block of 4 rows (the relaxed build's 4-row kernel) and 2 more rows.
      const N = 5, M = 6;
      const w = randomWeights(r, N, K, bits, bs, false);
      w.q.fill((1 << bits) - 1);
      w.zp.fill(0);
      const a = new Float32Array(M * K).fill(1);
      for (let m = 1; m < M; m++) for (let k = 0; k < K; k++) if (m === 2 || k % (m + 2) === 0) a[m * K + k] = -1;
      const qw = packVia(box, w, SRC_NBITS, false, ZP_BYTES);
      const kb = Math.ceil(K / bs), Kp = kb * bs;
      const paq = box.alloc(M * Kp), ps = box.alloc(M * 4), psum = box.alloc(M * kb * 4);
      box.call('quantize_rows_i8', box.put(a), K, M, K, bs, paq, ps, psum);
      const pc = box.alloc(M * N * 4), pr = box.alloc(M * N * 4);
      box.call('qwgemm_i8', paq, ps, psum, qw, pc, N, M, N, K, bits, bs, 0);
      box.call('qwgemm_i8__ref', paq, ps, box.put(w.q), box.put(w.scale), box.put(w.zp), pr, N, M, N, K, bs, 0);
      const got = box.f32(pc, M * N);
      expect(got).toEqual(box.f32(pr, M * N));
      // Row 0 (all ones, aq = 127): y = Σ_b f32(len_b·qmax·127)·scale·(1/127), against float64.
      for (let n = 0; n < N; n++) {
        let want = 0, mag = 0;
        for (let b = 0; b < kb; b++) {
          const t = Math.min(bs, K - b * bs) * ((1 << bits) - 1) * w.scale[n * kb + b];
          want += t;
          mag += Math.abs(t);
        }
        expect(Math.abs(got[n] - want)).toBeLessThanOrEqual(mag * (kb + 3) * 2 ** -24);
      }
    }
  });
});

describe.each(ALL_BACKENDS)('pack_rows_i8: model-quantized activations for qwgemm_i8 (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('a − zp in the quantize_rows_i8 layout (padding, block sums); outside int8 is rejected', () => {
    const r = rng(31);
    for (const [M, K, bs, signed, zp] of [[1, 1, 16, 1, 0], [3, 37, 16, 0, 128], [2, 100, 32, 1, -3], [5, 129, 64, 0, 3], [1, 4096, 4096, 1, 0]] as const) {
      box.reset();
      const lo = signed ? Math.max(-128, -128 + zp) : Math.max(0, zp - 128);
      const hi = signed ? Math.min(127, 127 + zp) : Math.min(255, zp + 127);
      const a = Int32Array.from({ length: M * K }, (_, i) => (i % 11 === 0 ? (i % 2 ? lo : hi) : lo + Math.floor(r() * (hi - lo + 1))));
      const kb = Math.ceil(K / bs), Kp = kb * bs;
      const paq = box.alloc(M * Kp), psum = box.alloc(M * kb * 4);
      box.m.u8().fill(0x55, paq, paq + M * Kp);
      const pa = box.put(signed ? Int8Array.from(a) : Uint8Array.from(a));
      expect(box.call('pack_rows_i8', pa, signed, zp, M, K, bs, paq, psum)).toBe(0);
      const aq = new Int8Array(M * Kp), asum = new Int32Array(M * kb);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) {
        aq[m * Kp + k] = a[m * K + k] - zp;
        asum[m * kb + Math.floor(k / bs)] += a[m * K + k] - zp;
      }
      expect(new Int8Array(box.u8(paq, M * Kp).buffer)).toEqual(aq);
      expect(box.i32(psum, M * kb)).toEqual(asum);
    }
    box.reset();
    const bad = box.put(Uint8Array.of(3, 200));
    expect(box.call('pack_rows_i8', bad, 0, 0, 1, 2, 16, box.alloc(16), box.alloc(4))).toBe(5);
    expect(box.call('pack_rows_i8', bad, 0, 72, 1, 2, 16, box.alloc(16), box.alloc(4))).toBe(5);
    expect(box.call('pack_rows_i8', bad, 0, 73, 1, 2, 16, box.alloc(16), box.alloc(4))).toBe(0);
  });

  it('qwgemm_i8 on activations of −128 (beyond quantize_rows_i8\'s ±127) matches its reference, and the exact sum', () => {
    for (const [bits, bs, K] of [[2, 128, 300], [4, 128, 300], [4, 16, 48], [8, 4096, 4096]]) {
      box.reset();
      const N = 5, M = 6;
      const w = randomWeights(rng(7), N, K, bits, bs, false);
      w.q.fill((1 << bits) - 1);
      w.zp.fill(0);
      w.scale.fill(1);
      const a = Int8Array.from({ length: M * K }, (_, i) => (Math.floor(i / K) % 2 === 0 || i % 3 === 0 ? -128 : 127));
      const kb = Math.ceil(K / bs), Kp = kb * bs;
      const paq = box.alloc(M * Kp), psum = box.alloc(M * kb * 4);
      expect(box.call('pack_rows_i8', box.put(a), 1, 0, M, K, bs, paq, psum)).toBe(0);
      const ps = box.put(new Float32Array(M).fill(1));
      const qw = packVia(box, w, SRC_NBITS, false, ZP_BYTES);
      const pc = box.alloc(M * N * 4), pr = box.alloc(M * N * 4);
      expect(box.call('qwgemm_i8', paq, ps, psum, qw, pc, N, M, N, K, bits, bs, 0)).toBe(0);
      box.call('qwgemm_i8__ref', paq, ps, box.put(w.q), box.put(w.scale), box.put(w.zp), pr, N, M, N, K, bs, 0);
      const got = box.f32(pc, M * N);
      expect(got).toEqual(box.f32(pr, M * N));
      for (let m = 0; m < M; m++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += a[m * K + k] * ((1 << bits) - 1);
        // Block sums below 2^24 are exact in f32; the one 8-bit block (K = 4096) rounds once, f32(dot).
        for (let n = 0; n < N; n++) expect(got[m * N + n], `bits ${bits} row ${m}`).toBe(Math.fround(dot));
      }
    }
  });
});

/** qw_zp_fraction's stated f32 operations in JS (block sums in k order, then Σ_b in b order). */
function zpFractionRef(a: Float32Array, corr: Float32Array, c: Float32Array, M: number, N: number, K: number, bs: number): Float32Array {
  const kb = Math.ceil(K / bs), f = Math.fround, out = c.slice();
  for (let m = 0; m < M; m++) {
    const sums = new Float32Array(kb);
    for (let k = 0; k < K; k++) sums[Math.floor(k / bs)] = f(sums[Math.floor(k / bs)] + a[m * K + k]);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let b = 0; b < kb; b++) acc = f(acc + f(corr[n * kb + b] * sums[b]));
      out[m * N + n] = f(out[m * N + n] - acc);
    }
  }
  return out;
}

describe.each(ALL_BACKENDS)('fractional float zero points: integer part packed + qw_zp_fraction (%s)', (backend) => {
  const box = new KernelBox(backend);
  const shapes = (seed: number): Case[] => cases(seed).filter((c) => c.layout === SRC_NBITS && c.zpLayout === ZP_BYTES)
    .flatMap((c) => [1, 2, 3, 6].map((M) => ({ ...c, M })));

  it('exact path (GEMV and GEMM panels): float64 of (q − zp)·scale within (K + bs + kb + 4)·2^-24·Σ|scale|·(|q − zp| + 1)·|a|', () => {
    const seed = 2024;
    const r = rng(seed);
    for (const c of shapes(seed)) {
      box.reset();
      const w = withFractionalZp(r, randomWeights(r, c.N, c.K, c.bits, c.bs, false));
      const a = randomF32(r, c.M * c.K);
      const bias = r() < 0.5 ? randomF32(r, c.N) : null;
      const qw = packVia(box, w, SRC_NBITS, false, ZP_BYTES);
      const pa = box.put(a);
      const scratch = box.alloc(box.call('qwgemm_f32_scratch_bytes', c.M, c.K, c.bs)!);
      const pc = box.alloc(c.M * c.N * 4);
      expect(box.call('qwgemm_f32', pa, c.K, qw, pc, c.N, c.M, c.N, c.K, c.bits, c.bs, bias ? box.put(bias) : 0, scratch)).toBe(0);
      expect(box.call('qw_zp_fraction', pa, c.K, box.put(zpFractionOf(w)), pc, c.N, c.M, c.N, c.K, c.bs, box.alloc(w.kb * 4))).toBe(0);
      const got = box.f32(pc, c.M * c.N);
      const { y, mag } = refF64(w, a, c.M, bias);
      const rounded = refF64({ ...w, zpFloat: undefined }, a, c.M, bias).y;
      let moved = false;
      for (let i = 0; i < c.M * c.N; i++) {
        const bound = (c.K + c.bs + w.kb + 4) * U * mag[i];
        if (!(Math.abs(got[i] - y[i]) <= bound)) expect.fail(`${label(c, seed)} [${i}] ${got[i]} vs ${y[i]} (bound ${bound})`);
        moved ||= Math.abs(y[i] - rounded[i]) > bound;
      }
      // The fraction matters: rounding the zero points instead would miss the bound somewhere.
      if (c.K > 1) expect(moved).toBe(true);
    }
  });

  it('int8 path: qwgemm_i8 on the integer part + qw_zp_fraction equals the scalar references bit for bit', () => {
    const seed = 2025;
    const r = rng(seed);
    for (const c of shapes(seed)) {
      box.reset();
      const w = withFractionalZp(r, randomWeights(r, c.N, c.K, c.bits, c.bs, false));
      const a = randomF32(r, c.M * c.K);
      const qw = packVia(box, w, SRC_NBITS, false, ZP_BYTES);
      const kb = w.kb, Kp = kb * c.bs;
      const pa = box.put(a), paq = box.alloc(c.M * Kp), ps = box.alloc(c.M * 4), psum = box.alloc(c.M * kb * 4);
      box.call('quantize_rows_i8', pa, c.K, c.M, c.K, c.bs, paq, ps, psum);
      const pc = box.alloc(c.M * c.N * 4), pr = box.alloc(c.M * c.N * 4);
      const corr = zpFractionOf(w);
      expect(box.call('qwgemm_i8', paq, ps, psum, qw, pc, c.N, c.M, c.N, c.K, c.bits, c.bs, 0)).toBe(0);
      expect(box.call('qw_zp_fraction', pa, c.K, box.put(corr), pc, c.N, c.M, c.N, c.K, c.bs, box.alloc(kb * 4))).toBe(0);
      box.call('qwgemm_i8__ref', paq, ps, box.put(w.q), box.put(w.scale), box.put(w.zp), pr, c.N, c.M, c.N, c.K, c.bs, 0);
      const want = zpFractionRef(a, corr, box.f32(pr, c.M * c.N), c.M, c.N, c.K, c.bs);
      const got = box.f32(pc, c.M * c.N);
      for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) expect.fail(`${label(c, seed)} [${i}] ${got[i]} ≠ ${want[i]}`);
    }
  });
});

describe('qw_pack argument checks', () => {
  const box = new KernelBox('scalar');
  it('sizes the layout at `bits` bits a weight; rejects bad bits, block sizes, shapes and layouts with distinct codes', () => {
    // N = 8, K = 64, bs = 32: 2 tiles × 8 units × SB (8 / 16 / 32 bytes for 2 / 4 / 8 bits) + 2 × 2 × 4 × 5.
    expect([2, 4, 8].map((bits) => box.call('qw_pack_bytes', 8, 64, bits, 32))).toEqual([128 + 80, 256 + 80, 512 + 80]);
    expect(box.call('qw_pack_bytes', 4, 32, 3, 32)).toBe(-1);
    expect(box.call('qw_pack_bytes', 4, 32, 4, 24)).toBe(-1);
    expect(box.call('qw_pack_bytes', 4, 32, 4, 8)).toBe(-1);
    expect(box.call('qw_pack_bytes', 4, 32, 4, 131072)).toBe(-1);
    expect(box.call('qw_pack', 0, 0, 0, 0, 0, 0, 4, 32, 3, 32, 0)).toBe(1);
    expect(box.call('qw_pack', 0, 0, 0, 0, 0, 0, 4, 32, 4, 40, 0)).toBe(2);
    expect(box.call('qw_pack', 0, 0, 0, 0, 0, 0, 0, 32, 4, 32, 0)).toBe(3);
    expect(box.call('qw_pack', 0, 3, 0, 0, 0, 0, 4, 32, 4, 32, 0)).toBe(4);
    expect(box.call('qw_pack', 0, 0, 0, 0, 0, 4, 4, 32, 4, 32, 0)).toBe(4);
    expect(box.call('qwgemm_i8', 0, 0, 0, 0, 0, 4, 1, 4, 32, 4, 24, 0)).toBe(2);
    expect(box.call('qwgemm_f32', 0, 32, 0, 0, 4, 1, 4, 32, 5, 32, 0, 0)).toBe(1);
  });
});
