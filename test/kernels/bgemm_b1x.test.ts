import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import {
  BEPI_F32, BEPI_I32, BEPI_SIGN, type BinaryEpi, bitRowBytes, epiF32, expectSameArray, paddingIsZero, putEpi,
  randomAffine, scramblePadding, signEpi, unpackBits,
} from '../support/binary.js';

const KS = [1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128, 129, 255, 256, 257, 300, 2000];
const MS = [1, 2, 3, 4, 5, 7];
const NS = [1, 2, 3, 5];

const pm1 = (r: () => number, n: number): Int8Array => Int8Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1));

/** Packs int8 ±1 weights N×K with pack_signs_i8, scrambles the padding. */
function packW(box: KernelBox, w: Int8Array, N: number, K: number, r: () => number): number {
  const wp = box.alloc(N * bitRowBytes(K));
  box.call('pack_signs_i8', box.put(w), N, K, K, 1, wp);
  const bytes = box.u8(wp, N * bitRowBytes(K));
  expect(paddingIsZero(bytes, N, K)).toBe(true);
  const err = expectSameArray(unpackBits(bytes, N, K), w, 'pack_signs_i8');
  if (err) expect.fail(err);
  scramblePadding(box, wp, N, K, r);
  return wp;
}

describe.each(ALL_BACKENDS)('bgemm_b1i8 (%s) vs the reference', (backend) => {
  const box = new KernelBox(backend);
  it('matches bit-exactly (i32, f32, SIGN) with a padded lda', () => {
    const r = rng(77);
    let cases = 0;
    for (const K of KS) for (const M of MS) for (const N of NS) {
      box.reset();
      const lda = K + (K % 5);
      const a = Int8Array.from({ length: M * lda }, () => Math.floor(r() * 256) - 128);
      const w = pm1(r, N * K);
      const wp = packW(box, w, N, K, r);
      const ap = box.put(a);
      const affine = randomAffine(r, N, K * 128);
      for (const e of [{ kind: BEPI_I32 }, { ...affine, act: 2, lo: -100, hi: 1000 }, signEpi(box, affine, N, K * 128)] as BinaryEpi[]) {
        const cr = box.alloc(M * N * 4), cf = box.alloc(M * Math.max(N * 4, bitRowBytes(N)));
        expect(box.call('bgemm_b1i8__ref', ap, lda, box.put(w), cr, M, N, K, N, putEpi(box, e))).toBe(0);
        expect(box.call('bgemm_b1i8', ap, lda, wp, cf, M, N, K, N, putEpi(box, e))).toBe(0);
        let got: number[], want: number[];
        if (e.kind === BEPI_SIGN) {
          got = [...unpackBits(box.u8(cf, M * bitRowBytes(N)), M, N)];
          want = [...new Int8Array(box.u8(cr, M * N).buffer.slice(0))].slice(0, M * N);
        } else if (e.kind === BEPI_I32) {
          got = [...box.i32(cf, M * N)]; want = [...box.i32(cr, M * N)];
        } else {
          got = [...box.f32(cf, M * N)]; want = [...box.f32(cr, M * N)];
        }
        const err = expectSameArray(got, want, `${backend} M=${M} N=${N} K=${K} kind ${e.kind}`);
        if (err) expect.fail(err);
        cases++;
      }
    }
    expect(cases).toBe(KS.length * MS.length * NS.length * 3);
  });
});

describe.each(ALL_BACKENDS)('bgemm_b1f32 (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('is within γ_K·Σ|a| of the exact Σ ±a, like the reference, and applies the epilogue', () => {
    const r = rng(78);
    for (const K of KS) for (const M of MS) for (const N of NS) {
      box.reset();
      const lda = K + (K % 3);
      const a = new Float32Array(M * lda).map(() => (r() * 2 - 1) * 2 ** Math.floor(r() * 8 - 4));
      const w = pm1(r, N * K);
      const wp = packW(box, w, N, K, r);
      const ap = box.put(a);
      const e: BinaryEpi = { kind: BEPI_F32 };
      const cr = box.alloc(M * N * 4), cf = box.alloc(M * N * 4);
      expect(box.call('bgemm_b1f32__ref', ap, lda, box.put(w), cr, M, N, K, N, putEpi(box, e))).toBe(0);
      expect(box.call('bgemm_b1f32', ap, lda, wp, cf, M, N, K, N, putEpi(box, e))).toBe(0);
      const got = box.f32(cf, M * N), ref = box.f32(cr, M * N);
      const gamma = (K * 2 ** -24) / (1 - K * 2 ** -24);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let exact = 0, mag = 0;
        for (let k = 0; k < K; k++) {
          exact += a[m * lda + k] * w[n * K + k];
          mag += Math.abs(a[m * lda + k]);
        }
        const bound = gamma * mag;
        const what = `${backend} M=${M} N=${N} K=${K} (${m},${n})`;
        if (Math.abs(got[m * N + n] - exact) > bound) expect.fail(`${what}: ${got[m * N + n]} vs exact ${exact}, bound ${bound}`);
        if (Math.abs(ref[m * N + n] - exact) > bound) expect.fail(`${what}: reference ${ref[m * N + n]} vs exact ${exact}`);
        if (backend === 'scalar') expect(got[m * N + n]).toBe(ref[m * N + n]);
      }
      // The epilogue on the kernel's own sums, exactly as specified.
      const affine = { ...randomAffine(r, N, K), act: 1 };
      const ce = box.alloc(M * N * 4);
      expect(box.call('bgemm_b1f32', ap, lda, wp, ce, M, N, K, N, putEpi(box, affine))).toBe(0);
      const ye = box.f32(ce, M * N);
      for (let i = 0; i < M * N; i++) expect(ye[i]).toBe(epiF32(got[i], i % N, affine));
    }
  });
  it('refuses the i32 and SIGN epilogues', () => {
    box.reset();
    const buf = box.alloc(4096);
    expect(box.call('bgemm_b1f32', buf, 4, buf, buf, 1, 1, 4, 1, putEpi(box, { kind: BEPI_I32 }))).toBe(1);
    expect(box.call('bgemm_b1f32', buf, 4, buf, buf, 1, 1, 4, 1, putEpi(box, { kind: BEPI_SIGN, thr: buf }))).toBe(1);
  });
});
