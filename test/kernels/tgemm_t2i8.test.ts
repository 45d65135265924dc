import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import { BEPI_F32, BEPI_I32, BEPI_SIGN, type BinaryEpi, epiF32, expectSameArray, putEpi, randomAffine } from '../support/binary.js';

const KS = [1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 128, 129, 191, 255, 257, 300, 1000, 1500];
const MS = [1, 2, 3, 4, 5, 7, 9];
const NS = [1, 2, 3, 5, 6];

const rowBytes = (K: number): number => Math.ceil(K / 64) * 16;

/** Decodes ternary rows by the documented layout: element 64b+16i+j is bits 2i..2i+1 of byte j of block b, code w+1. */
function unpackTernary(bytes: Uint8Array, rows: number, K: number): { w: Int8Array; badPadding: boolean } {
  const rb = rowBytes(K);
  const w = new Int8Array(rows * K);
  let badPadding = false;
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < rb * 4; k++) {
      const code = (bytes[r * rb + (k >> 6) * 16 + (k & 15)] >> (((k >> 4) & 3) * 2)) & 3;
      if (k < K) w[r * K + k] = code - 1;
      else if (code !== 1) badPadding = true;
    }
  }
  return { w, badPadding };
}

const ternary = (r: () => number, n: number, zeros: number): Int8Array =>
  Int8Array.from({ length: n }, () => (r() < zeros ? 0 : r() < 0.5 ? -1 : 1));

/** int8 activations: random rows, and rows of the extremes −128 / +127 / alternating. */
function activations(r: () => number, M: number, lda: number): Int8Array {
  const a = new Int8Array(M * lda);
  for (let m = 0; m < M; m++) {
    const kind = m % 4;
    for (let k = 0; k < lda; k++) {
      a[m * lda + k] = kind === 1 ? -128 : kind === 2 ? 127 : kind === 3 ? (k & 1 ? -128 : 127) : Math.floor(r() * 256) - 128;
    }
  }
  return a;
}

/** Packs with pack_ternary_i8 (checked against the layout), then scrambles the padding codes. */
function packW(box: KernelBox, w: Int8Array, N: number, K: number, r: () => number): number {
  const wp = box.alloc(N * rowBytes(K));
  expect(box.call('ternary_row_bytes', K)).toBe(rowBytes(K));
  expect(box.call('pack_ternary_i8', box.put(w), N, K, K, 1, wp)).toBe(0);
  const got = unpackTernary(box.u8(wp, N * rowBytes(K)), N, K);
  expect(got.badPadding).toBe(false);
  const err = expectSameArray(got.w, w, `pack_ternary_i8 N=${N} K=${K}`);
  if (err) expect.fail(err);
  const u8 = box.m.u8();
  for (let n = 0; n < N; n++) {
    for (let k = K; k < rowBytes(K) * 4; k++) {
      const at = wp + n * rowBytes(K) + (k >> 6) * 16 + (k & 15);
      u8[at] |= Math.floor(r() * 4) << (((k >> 4) & 3) * 2);
    }
  }
  return wp;
}

describe.each(ALL_BACKENDS)('ternary packing (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('packs f32 and int8 ternary values (any strides) to the documented layout', () => {
    const r = rng(301);
    for (const K of [1, 16, 63, 64, 65, 130, 300]) for (const N of [1, 3, 4]) {
      box.reset();
      const w = ternary(r, N * K, 0.3);
      // A K×N matrix (ldr = 1, ldk = N), with −0 for some zeros.
      const kn = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) kn[k * N + n] = w[n * K + k] === 0 && r() < 0.5 ? -0 : w[n * K + k];
      const pf = box.alloc(N * rowBytes(K)), pi = box.alloc(N * rowBytes(K));
      expect(box.call('pack_ternary_f32', box.put(kn), N, K, 1, N, pf)).toBe(0);
      expect(box.call('pack_ternary_i8', box.put(w), N, K, K, 1, pi)).toBe(0);
      for (const p of [pf, pi]) {
        const got = unpackTernary(box.u8(p, N * rowBytes(K)), N, K);
        expect(got.badPadding).toBe(false);
        const err = expectSameArray(got.w, w, `${backend} N=${N} K=${K}`);
        if (err) expect.fail(err);
      }
    }
  });
  it('refuses values outside {−1, 0, +1}', () => {
    box.reset();
    const dst = box.alloc(64);
    for (const v of [2, -2, 0.5, NaN, Infinity]) {
      expect(box.call('pack_ternary_f32', box.put(new Float32Array([0, 1, v])), 1, 3, 3, 1, dst)).toBe(1);
    }
    for (const v of [2, -2, 127, -128]) {
      expect(box.call('pack_ternary_i8', box.put(new Int8Array([1, v, 0])), 1, 3, 3, 1, dst)).toBe(1);
    }
  });
});

describe.each(ALL_BACKENDS)('tgemm_t2i8 (%s) vs the reference', (backend) => {
  const box = new KernelBox(backend);
  it('matches bit-exactly (i32 and f32 epilogues) on ragged shapes with a padded lda', () => {
    const r = rng(302);
    let cases = 0;
    for (const K of KS) for (const M of MS) for (const N of NS) {
      box.reset();
      const lda = K + (K % 7);
      const a = activations(r, M, lda);
      const w = ternary(r, N * K, 0.35);
      const wp = packW(box, w, N, K, r);
      const ap = box.put(a), wi = box.put(w);
      const ascale = box.put(new Float32Array(M).map(() => r() * 0.05));
      const affine = randomAffine(r, N, K * 128 * 0.05);
      const epis: [BinaryEpi, number][] = [
        [{ kind: BEPI_I32 }, 0],
        [{ ...affine, act: 1 }, ascale],
        [{ ...affine, act: 2, lo: -3, hi: 5 }, ascale],
        [{ kind: BEPI_F32, scale: affine.scale }, 0],
      ];
      for (const [e, as] of epis) {
        const ldc = N + (N & 1);
        const cr = box.alloc(M * ldc * 4), cf = box.alloc(M * ldc * 4);
        expect(box.call('tgemm_t2i8__ref', ap, lda, as, wi, cr, M, N, K, ldc, putEpi(box, e))).toBe(0);
        expect(box.call('tgemm_t2i8', ap, lda, as, wp, cf, M, N, K, ldc, putEpi(box, e))).toBe(0);
        const view = e.kind === BEPI_I32 ? box.i32.bind(box) : box.f32.bind(box);
        const got = view(cf, M * ldc), want = view(cr, M * ldc);
        for (let m = 0; m < M; m++) {
          const err = expectSameArray(got.subarray(m * ldc, m * ldc + N), want.subarray(m * ldc, m * ldc + N),
            `${backend} M=${M} N=${N} K=${K} kind ${e.kind} row ${m}`);
          if (err) expect.fail(err);
        }
        cases++;
      }
    }
    expect(cases).toBe(KS.length * MS.length * NS.length * 4);
  });

  it('the reference is the exact dot and the documented f32 order', () => {
    const r = rng(303);
    box.reset();
    const M = 3, N = 4, K = 77;
    const a = activations(r, M, K), w = ternary(r, N * K, 0.3);
    const asc = new Float32Array(M).map(() => r() * 0.1);
    const e: BinaryEpi = { ...randomAffine(r, N, 500), act: 0 };
    const ci = box.alloc(M * N * 4), cf = box.alloc(M * N * 4);
    const ap = box.put(a), wi = box.put(w), as = box.put(asc);
    expect(box.call('tgemm_t2i8__ref', ap, K, as, wi, ci, M, N, K, N, putEpi(box, { kind: BEPI_I32 }))).toBe(0);
    expect(box.call('tgemm_t2i8__ref', ap, K, as, wi, cf, M, N, K, N, putEpi(box, e))).toBe(0);
    const yi = box.i32(ci, M * N), yf = box.f32(cf, M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let dot = 0;
      for (let k = 0; k < K; k++) dot += a[m * K + k] * w[n * K + k];
      expect(yi[m * N + n]).toBe(dot);
      expect(yf[m * N + n]).toBe(epiF32(Math.fround(Math.fround(dot) * asc[m]), n, e));
    }
  });

  it('stays exact over long K (i16 runs widened before they overflow)', () => {
    const r = rng(304);
    for (const K of [4000, 65537]) {
      box.reset();
      const M = 5, N = 3;
      const a = new Int8Array(M * K);
      for (let k = 0; k < K; k++) {
        a[k] = -128; a[K + k] = 127; a[2 * K + k] = -128; a[3 * K + k] = k & 1 ? -128 : 127;
        a[4 * K + k] = Math.floor(r() * 256) - 128;
      }
      // Row 0 all −1 (Σ = +128·K), row 1 all +1, row 2 alternating ±1 with zeros.
      const w = new Int8Array(N * K);
      for (let k = 0; k < K; k++) { w[k] = -1; w[K + k] = 1; w[2 * K + k] = k % 3 === 2 ? 0 : k & 1 ? 1 : -1; }
      const wp = packW(box, w, N, K, r);
      const c = box.alloc(M * N * 4);
      expect(box.call('tgemm_t2i8', box.put(a), K, 0, wp, c, M, N, K, N, putEpi(box, { kind: BEPI_I32 }))).toBe(0);
      const got = box.i32(c, M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += a[m * K + k] * w[n * K + k];
        if (got[m * N + n] !== dot) expect.fail(`${backend} K=${K} (${m},${n}): ${got[m * N + n]} vs exact ${dot}`);
      }
      expect(got[0]).toBe(128 * K);
    }
  });

  it('refuses the SIGN epilogue and bad sizes', () => {
    box.reset();
    const buf = box.alloc(4096);
    const i32 = putEpi(box, { kind: BEPI_I32 });
    expect(box.call('tgemm_t2i8', buf, 4, 0, buf, buf, 1, 1, 4, 1, putEpi(box, { kind: BEPI_SIGN, thr: buf }))).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 0, buf, buf, -1, 1, 4, 1, i32)).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 0, buf, buf, 1, 1, 1 << 24, 1, i32)).toBe(1);
    expect(box.call('tgemm_t2i8__ref', buf, 4, 0, buf, buf, 1, -1, 4, 1, i32)).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 0, buf, buf, 0, 0, 0, 1, i32)).toBe(0);
  });
});
