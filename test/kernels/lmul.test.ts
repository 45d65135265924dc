import { describe, expect, it } from 'vitest';
import { BF16, E4M3, E5M2, lmulRef, lmulRefBits, roundTo } from '../../scripts/lib/lmul.js';
import { ALL_BACKENDS, KernelBox, randomF32, rng, sizesAround } from '../support/kernels.js';

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Bit-for-bit equality, except that any NaN equals any NaN (f32 add does not fix NaN payloads). */
function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  const g = bitsOf(got), w = bitsOf(want);
  for (let i = 0; i < got.length; i++) {
    if (g[i] === w[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]))) continue;
    expect.fail(`${what} [${i}]: got ${got[i]} (0x${g[i].toString(16)}), want ${want[i]} (0x${w[i].toString(16)})`);
  }
}

/** Values over the whole f32 range, with zeros, subnormals, inf, NaN and near-overflow/underflow. */
function wideF32(r: () => number, n: number): Float32Array {
  const specials = [0, -0, 1e-40, -3e-39, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1.2e-38, -1.18e-38, 1, -1, 1.5, 2 ** 64, 2 ** -64];
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = r();
    if (t < 0.15) a[i] = specials[Math.floor(r() * specials.length)];
    else a[i] = (r() < 0.5 ? -1 : 1) * (1 + r()) * 2 ** Math.floor(r() * 260 - 130);
  }
  return a;
}

/** Σ L-Mul in the dot kernel's order: lane k mod 4, then (s0 + s1) + (s2 + s3). */
function dotRef(a: Float32Array, b: Float32Array, m: number): number {
  const s = new Float32Array(4);
  for (let k = 0; k < a.length; k++) s[k & 3] += lmulRef(a[k], b[k], m);
  return Math.fround(Math.fround(s[0] + s[1]) + Math.fround(s[2] + s[3]));
}

function gemmRef(a: Float32Array, b: Float32Array, M: number, N: number, K: number, mb: number, bias?: Float32Array, rowBias = false): Float32Array {
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s = Math.fround(s + lmulRef(a[i * K + k], b[k * N + n], mb));
    if (bias) s = Math.fround(s + bias[rowBias ? i : n]);
    c[i * N + n] = s;
  }
  return c;
}

describe('L-Mul definition (scripts/lib/lmul.ts)', () => {
  it('gives the hand-computed values of the formula', () => {
    // m = 3, l = 3: 1.25·1.5 → 1 + 0.25 + 0.5 + 0.125 = 1.875 (exact product 1.875 too).
    expect(lmulRef(1.25, 1.5, 3)).toBe(1.875);
    // 1.5·1.5: mantissa sum 1.125 carries: (0.5 + 0.5 + 0.125)·2 = 2.25 (exact 2.25).
    expect(lmulRef(1.5, 1.5, 3)).toBe(2.25);
    // m = 2, l = 2: 3·(−5) = (1.5·2)·(−1.25·4): 1 + 0.5 + 0.25 + 0.25 = 2 → carry → (1.0)·2^4 = −16.
    expect(lmulRef(3, -5, 2)).toBe(-16);
    // Truncation: 1.99 has mantissa 0.99 → 0.5 at m = 1; l = 1: 1 + 0.5 + 0 + 0.5 → carry 2^1·1.0.
    expect(lmulRef(1.99, 1, 1)).toBe(2);
    expect(lmulRef(2 ** 100, 2 ** 100, 4)).toBe(Infinity);
    expect(lmulRef(2 ** -100, -(2 ** -100), 4)).toBe(-0);
    expect(lmulRef(1e-40, 5, 7)).toBe(0);
    expect(lmulRef(Infinity, 0, 7)).toBeNaN();
    expect(lmulRef(-Infinity, 2, 7)).toBe(-Infinity);
    expect(lmulRefBits(NaN, 1, 7)).toBe(0x7fc00000);
  });
});

describe('format rounding for the study (scripts/lib/lmul.ts)', () => {
  it('rounds to nearest even with saturation (e4m3fn), inf (e5m2) and subnormals', () => {
    expect(roundTo(1.0625, E4M3)).toBe(1); // tie → even mantissa 000
    expect(roundTo(1.1875, E4M3)).toBe(1.25); // tie → even mantissa 010
    expect(roundTo(-500, E4M3)).toBe(-448);
    expect(roundTo(61439, E5M2)).toBe(57344);
    expect(roundTo(61440, E5M2)).toBe(Infinity);
    expect(roundTo(2 ** -10, E4M3)).toBe(0); // half the smallest subnormal 2^−9: tie → 0
    expect(roundTo(3 * 2 ** -11, E4M3)).toBe(2 ** -9);
  });
  it('bfloat16 equals the bit-level round-half-even of the top 16 bits', () => {
    const r = rng(11);
    const x = wideF32(r, 5000).filter((v) => Number.isFinite(v) && Math.abs(v) < 3e38);
    const u = bitsOf(x);
    for (let i = 0; i < x.length; i++) {
      const b = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16;
      expect(roundTo(x[i], BF16)).toBe(new Float32Array(new Uint32Array([b >>> 0]).buffer)[0]);
    }
  });
});

describe.each(ALL_BACKENDS)('L-Mul kernels (%s)', (backend) => {
  const box = new KernelBox(backend);

  it('lmul_mul_f32 equals the reference bit for bit for every m = 1…23, special cases included', () => {
    const seed = 91;
    const r = rng(seed);
    for (let m = 1; m <= 23; m++) {
      for (const n of [1, 3, 4, 5, 17, 64, 257]) {
        box.reset();
        const x = wideF32(r, n), y = wideF32(r, n);
        const out = box.alloc(n * 4);
        box.call('lmul_mul_f32', box.put(x), box.put(y), out, n, m);
        const want = new Uint32Array(n);
        for (let i = 0; i < n; i++) want[i] = lmulRefBits(x[i], y[i], m);
        sameBits(box.f32(out, n), new Float32Array(want.buffer), `seed ${seed} m=${m} n=${n}`);
      }
    }
  });

  it('lmul_dot_f32 sums in its stated lane order on ragged lengths', () => {
    const seed = 5;
    const r = rng(seed);
    for (const m of [1, 2, 3, 4, 5, 7, 23]) {
      for (const n of [0, 1, 2, 3, 4, 5, 7, 15, 17, 31, 33, 63, 127, 129, 1000]) {
        box.reset();
        const a = randomF32(r, n, 3), b = randomF32(r, n, 3);
        const got = box.call('lmul_dot_f32', box.put(a), box.put(b), n, m)!;
        sameBits(new Float32Array([got]), new Float32Array([dotRef(a, b, m)]), `seed ${seed} m=${m} n=${n}`);
      }
    }
  });

  it('lmul_gemm_f32 on ragged M×N×K equals the plain-layout reference and the TS reference bit for bit', () => {
    const seed = 77;
    const r = rng(seed);
    const ref = new KernelBox('scalar');
    for (const M of [1, 2, 3, 5, 9]) for (const N of sizesAround(8, [33])) for (const K of [1, 3, 16, 37]) {
      const mb = 1 + Math.floor(r() * 7);
      box.reset();
      const a = randomF32(r, M * K), b = randomF32(r, K * N), bias = randomF32(r, Math.max(M, N));
      if (M * K > 3) a[3] = 0; // signed zeros and an exact zero row element
      const pb = box.alloc(Math.ceil(N / 8) * K * 32);
      box.call('pack_b_f32', box.put(b), pb, K, N, N, 0);
      const pa = box.put(a), pbias = box.put(bias), pc = box.alloc(M * N * 4);
      const what = `seed ${seed} M=${M} N=${N} K=${K} m=${mb}`;
      box.call('lmul_gemm_f32', pa, K, pb, pc, N, M, N, K, pbias, 1, 0, 0, 0, mb);
      const want = gemmRef(a, b, M, N, K, mb, bias);
      sameBits(box.f32(pc, M * N), want, what);
      ref.reset();
      const rc = ref.alloc(M * N * 4);
      ref.call('lmul_gemm_f32__ref', ref.put(a), ref.put(b), rc, M, N, K, ref.put(bias), mb);
      sameBits(ref.f32(rc, M * N), want, `${what} (__ref)`);
      // Per-row bias with relu, and clamp without bias.
      box.call('lmul_gemm_f32', pa, K, pb, pc, N, M, N, K, pbias, 2, 1, 0, 0, mb);
      sameBits(box.f32(pc, M * N), gemmRef(a, b, M, N, K, mb, bias, true).map((v) => Math.max(v, 0)), `${what} row bias relu`);
      box.call('lmul_gemm_f32', pa, K, pb, pc, N, M, N, K, 0, 0, 2, -0.5, 0.25, mb);
      sameBits(box.f32(pc, M * N), gemmRef(a, b, M, N, K, mb).map((v) => Math.min(Math.max(v, -0.5), 0.25)), `${what} clamp`);
    }
  });

  it('lmul_conv_f32 equals a direct L-Mul convolution bit for bit (groups, strides, dilations, pads, ragged panels)', () => {
    const seed = 2024;
    const r = rng(seed);
    const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    for (let t = 0; t < 30; t++) {
      const rank = ri(1, 2);
      const N = ri(1, 2), G = ri(1, 2), C = ri(1, 4), M = ri(1, 6);
      const I = [1, 1, 1], Kk = [1, 1, 1], S = [1, 1, 1], D = [1, 1, 1], P = [0, 0, 0], O = [1, 1, 1];
      for (let i = 3 - rank; i < 3; i++) {
        Kk[i] = ri(1, 3); S[i] = ri(1, 2); D[i] = ri(1, 2);
        const span = (Kk[i] - 1) * D[i] + 1;
        P[i] = ri(0, Math.min(2, span - 1));
        I[i] = Math.max(span, ri(1, rank === 2 ? 11 : 30));
        O[i] = Math.floor((I[i] + 2 * P[i] - span) / S[i]) + 1;
      }
      const mb = ri(1, 7);
      const K = C * Kk[0] * Kk[1] * Kk[2];
      const Sp = O[0] * O[1] * O[2];
      const chunk = ri(1, 3);
      const x = randomF32(r, N * G * C * I[0] * I[1] * I[2]);
      const w = randomF32(r, G * M * K);
      const bias = r() < 0.5 ? randomF32(r, G * M) : undefined;
      const want = new Float32Array(N * G * M * Sp);
      for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) for (let m = 0; m < M; m++) for (let o = 0; o < Sp; o++) {
        const od = Math.floor(o / (O[1] * O[2])), oh = Math.floor(o / O[2]) % O[1], ow = o % O[2];
        let s = 0;
        for (let c = 0; c < C; c++) for (let a = 0; a < Kk[0]; a++) for (let b = 0; b < Kk[1]; b++) for (let e = 0; e < Kk[2]; e++) {
          const id = od * S[0] - P[0] + a * D[0], ih = oh * S[1] - P[1] + b * D[1], iw = ow * S[2] - P[2] + e * D[2];
          if (id < 0 || id >= I[0] || ih < 0 || ih >= I[1] || iw < 0 || iw >= I[2]) continue;
          const xv = x[((((n * G + g) * C + c) * I[0] + id) * I[1] + ih) * I[2] + iw];
          const wv = w[(((g * M + m) * C + c) * Kk[0] + a) * Kk[1] * Kk[2] + b * Kk[2] + e];
          s = Math.fround(s + lmulRef(wv, xv, mb));
        }
        if (bias) s = Math.fround(s + bias[g * M + m]);
        want[((n * G + g) * M + m) * Sp + o] = s;
      }
      box.reset();
      const d = new Int32Array([N, G, C, M, ...I, ...Kk, ...S, ...D, ...P, ...O, chunk]);
      const y = box.alloc(want.length * 4);
      box.call('lmul_conv_f32', box.put(d), box.put(x), box.put(w), bias ? box.put(bias) : 0, y, box.alloc(chunk * K * 32), 0, 0, 0, mb);
      sameBits(box.f32(y, want.length), want, `seed ${seed} case ${t} m=${mb} ${d.join(',')}`);
    }
  });
});
