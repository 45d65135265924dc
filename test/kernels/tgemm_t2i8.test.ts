// Ternary packing and tgemm_t2i8 (ternary weights × u8/s8 activations with a zero point) on
// every build: the packed layout read back independently, the fast kernel bit-exact against
// tgemm_t2i8__ref (plain int8 weights, a_zp and bias applied directly) on ragged shapes with
// every epilogue kind, and the reference against a JS dot product.

import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import { expectSameArray } from '../support/binary.js';
import { tgemmScratchBytes } from '../../src/ops/ternary.js';
import {
  EPI_F32, EPI_I32, EPI_S8, EPI_U8, activationBytes, epilogues, outBytes, putI8Epi, readOut, scrambleTernaryPadding,
  ternary, ternaryWeightsBytes as wBytes, unpackTernary,
} from '../support/ternary.js';

const KS = [1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 100, 127, 128, 129, 191, 255, 257, 300, 1000, 1500];
const MS = [1, 2, 3, 4, 5, 7, 9, 21]; // 21: a row block of 5 quads, a GEMV row
const NS = [1, 2, 3, 5, 6];

/** Packs N×K weights with pack_ternary_i8 (checked against the layout), scrambles the padding, appends the row sums. */
function packW(box: KernelBox, w: Int8Array, N: number, K: number, r: () => number): { wp: number; sums: number } {
  const wp = box.alloc(wBytes(N, K) + 4 * N);
  expect(box.call('ternary_weights_bytes', N, K)).toBe(wBytes(N, K));
  expect(box.call('pack_ternary_i8', box.put(w), N, K, K, 1, wp)).toBe(0);
  const got = unpackTernary(box.u8(wp, wBytes(N, K)), N, K);
  expect(got.badPadding).toBe(false);
  const err = expectSameArray(got.w, w, `pack_ternary_i8 N=${N} K=${K}`);
  if (err) expect.fail(err);
  scrambleTernaryPadding(box, wp, N, K, r);
  const sums = wp + wBytes(N, K);
  box.call('ternary_row_sums', wp, N, K, sums);
  const want = Array.from({ length: N }, (_, n) => w.subarray(n * K, (n + 1) * K).reduce((s, v) => s + v, 0));
  expect(Array.from(box.i32(sums, N))).toEqual(want);
  return { wp, sums };
}

describe.each(ALL_BACKENDS)('ternary packing (%s)', (backend) => {
  const box = new KernelBox(backend);
  it('packs f32 and int8 ternary values (any strides) to the documented layout', () => {
    const r = rng(301);
    for (const K of [1, 16, 63, 64, 65, 130, 300]) for (const N of [1, 3, 4, 5, 9]) {
      box.reset();
      const w = ternary(r, N * K, 0.3);
      // A K×N matrix (ldr = 1, ldk = N), with −0 for some zeros.
      const kn = new Float32Array(K * N);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) kn[k * N + n] = w[n * K + k] === 0 && r() < 0.5 ? -0 : w[n * K + k];
      const pf = box.alloc(wBytes(N, K)), pi = box.alloc(wBytes(N, K));
      expect(box.call('pack_ternary_f32', box.put(kn), N, K, 1, N, pf)).toBe(0);
      expect(box.call('pack_ternary_i8', box.put(w), N, K, K, 1, pi)).toBe(0);
      for (const p of [pf, pi]) {
        const got = unpackTernary(box.u8(p, wBytes(N, K)), N, K);
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
      expect(box.call('pack_ternary_conv_i8', box.put(new Int8Array([1, 0, v, 0])), 1, 2, 2, dst)).toBe(1);
    }
  });
});

describe.each(ALL_BACKENDS)('tgemm_t2i8 (%s) vs the reference', (backend) => {
  const box = new KernelBox(backend);
  it('matches bit-exactly (i32, u8, s8 with a clamp, f32) on ragged shapes, u8 and s8 activations, with a padded lda', () => {
    const r = rng(302);
    let cases = 0, withoutRowc = 0;
    for (const K of KS) for (const M of MS) for (const N of NS) {
      box.reset();
      const aSigned = (K + M + N) % 2 === 0;
      const lda = K + (K % 7);
      const a = activationBytes(r, M, lda, aSigned);
      const w = ternary(r, N * K, 0.35);
      const { wp, sums } = packW(box, w, N, K, r);
      const shape = cases / 4; // 4 epilogues per shape
      const aZp = shape % 3 === 2 ? 0 : box.put(Uint8Array.of(Math.floor(r() * 256)));
      const bias = shape % 4 === 3 ? 0 : box.put(Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 4000)));
      // s8 activations without zero point and bias have rowc ≡ 0: then pass none (rowc = 0).
      const noRowc = aSigned && !aZp && !bias;
      const rowc = noRowc ? 0 : box.alloc(4 * N);
      if (!noRowc) box.call('ternary_rowc', sums, N, aZp, +aSigned, bias, rowc);
      else withoutRowc++;
      const ap = box.put(a), wi = box.put(w);
      for (const e of epilogues(r, N, 128 * Math.sqrt(K))) {
        const ldc = N + (N & 1);
        const eb = outBytes(e.kind);
        const cr = box.alloc(M * ldc * eb), cf = box.alloc(M * ldc * eb);
        expect(box.call('tgemm_t2i8__ref', ap, lda, +aSigned, aZp, wi, bias, cr, M, N, K, ldc, putI8Epi(box, e))).toBe(0);
        expect(box.call('tgemm_t2i8', ap, lda, +aSigned, wp, rowc, cf, M, N, K, ldc, putI8Epi(box, e), box.alloc(box.call('tgemm_t2i8_scratch_bytes', M, K) as number))).toBe(0);
        // The GEMV rows flip u8 activations to s8 in place and back: A must come out unchanged.
        expect(box.u8(ap, a.length)).toEqual(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        const got = readOut(box, cf, e.kind, M * ldc), want = readOut(box, cr, e.kind, M * ldc);
        for (let m = 0; m < M; m++) {
          const err = expectSameArray(got.slice(m * ldc, m * ldc + N), want.slice(m * ldc, m * ldc + N),
            `${backend} M=${M} N=${N} K=${K} ${aSigned ? 's8' : 'u8'} kind ${e.kind} row ${m}`);
          if (err) expect.fail(err);
        }
        cases++;
      }
    }
    expect(cases).toBe(KS.length * MS.length * NS.length * 4);
    expect(withoutRowc).toBeGreaterThan(10);
  });

  it('the reference is Σ (a − a_zp)·w + bias and the gemm_i8 epilogue', () => {
    const r = rng(303);
    box.reset();
    const M = 3, N = 4, K = 77;
    for (const aSigned of [false, true]) {
      const a = activationBytes(r, M, K, aSigned), w = ternary(r, N * K, 0.3);
      const zp = aSigned ? -5 : 131;
      const bias = Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 1000));
      const ci = box.alloc(M * N * 4), cu = box.alloc(M * N);
      const args = [box.put(a), K, +aSigned, box.put(Uint8Array.of(zp & 255)), box.put(w), box.put(bias)];
      const scale = Float32Array.from({ length: N }, () => 0.01 + r() * 0.02);
      expect(box.call('tgemm_t2i8__ref', ...args, ci, M, N, K, N, putI8Epi(box, { kind: EPI_I32 }))).toBe(0);
      expect(box.call('tgemm_t2i8__ref', ...args, cu, M, N, K, N, putI8Epi(box, { kind: EPI_U8, scale, yZp: 100 }))).toBe(0);
      const yi = box.i32(ci, M * N), yu = box.u8(cu, M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let acc = bias[n];
        for (let k = 0; k < K; k++) acc += ((aSigned ? (a[m * K + k] << 24) >> 24 : a[m * K + k]) - zp) * w[n * K + k];
        expect(yi[m * N + n]).toBe(acc);
        // saturate(round_half_even(f32(acc)·scale) + y_zp), the f32 product as the kernels round it.
        const v = Math.fround(Math.fround(acc) * scale[n]);
        const fl = Math.floor(v);
        const q = v - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(v);
        expect(yu[m * N + n]).toBe(Math.min(255, Math.max(0, q + 100)));
      }
    }
  });

  it('stays exact over long K (i16 runs widened before they overflow), s8 and u8 extremes', () => {
    const r = rng(304);
    // M = 69: 17 quads and a GEMV row. K = 4000: blocks of 16 quads and 1 (packed activations);
    // 20000: blocks of 3 quads; 65537: a lone quad; 70001: rows read in place.
    for (const K of [4000, 20000, 65537, 70001]) for (const aSigned of [true, false]) {
      box.reset();
      const M = 69, N = 3;
      const a = activationBytes(r, M, K, aSigned);
      // Row 0 all −1, row 1 all +1, row 2 alternating ±1 with zeros.
      const w = new Int8Array(N * K);
      for (let k = 0; k < K; k++) { w[k] = -1; w[K + k] = 1; w[2 * K + k] = k % 3 === 2 ? 0 : k & 1 ? 1 : -1; }
      const { wp, sums } = packW(box, w, N, K, r);
      const rowc = box.alloc(4 * N);
      box.call('ternary_rowc', sums, N, 0, +aSigned, 0, rowc);
      const c = box.alloc(M * N * 4);
      const ap = box.put(a);
      expect(box.call('tgemm_t2i8', ap, K, +aSigned, wp, rowc, c, M, N, K, N, putI8Epi(box, { kind: EPI_I32 }), box.alloc(box.call('tgemm_t2i8_scratch_bytes', M, K) as number))).toBe(0);
      // Rows read in place are flipped to s8 and back: A must come out unchanged.
      if (!box.u8(ap, a.length).every((v, i) => v === a[i])) expect.fail(`${backend} K=${K}: A changed`);
      const got = box.i32(c, M * N);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += (aSigned ? (a[m * K + k] << 24) >> 24 : a[m * K + k]) * w[n * K + k];
        if (got[m * N + n] !== dot) expect.fail(`${backend} K=${K} (${m},${n}): ${got[m * N + n]} vs exact ${dot}`);
      }
    }
  });

  it('uses exactly its scratch (the packed row blocks), whose size the planner computes alike', () => {
    for (const [M, K] of [[1, 4096], [3, 100], [4, 15], [4, 16], [7, 1000], [64, 1024], [69, 4096], [200, 4096], [8, 70001], [4, 65536]]) {
      expect(tgemmScratchBytes(M, K), `M=${M} K=${K}`).toBe(box.call('tgemm_t2i8_scratch_bytes', M, K));
    }
    const r = rng(77);
    for (const [M, K, N] of [[69, 1000, 6], [8, 4096, 3], [64, 1024, 2]]) {
      box.reset();
      const w = ternary(r, N * K, 0.3);
      const { wp } = packW(box, w, N, K, r);
      const a = box.put(activationBytes(r, M, K, false));
      const bytes = box.call('tgemm_t2i8_scratch_bytes', M, K) as number;
      const scratch = box.alloc(bytes + 64);
      const guard = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 255);
      box.m.u8().set(guard, scratch + bytes);
      expect(box.call('tgemm_t2i8', a, K, 0, wp, 0, box.alloc(M * N * 4), M, N, K, N, putI8Epi(box, { kind: EPI_I32 }), scratch)).toBe(0);
      expect([...box.u8(scratch + bytes, 64)], `M=${M} K=${K}`).toEqual([...guard]);
    }
  });

  it('refuses a malformed epilogue and bad sizes', () => {
    box.reset();
    const buf = box.alloc(4096);
    const i32 = putI8Epi(box, { kind: EPI_I32 });
    expect(box.call('tgemm_t2i8', buf, 4, 1, buf, 0, buf, 1, 1, 4, 1, putI8Epi(box, { kind: 7 }), 0)).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 1, buf, 0, buf, 1, 1, 4, 1, putI8Epi(box, { kind: EPI_S8 }), 0)).toBe(1); // no scale
    expect(box.call('tgemm_t2i8', buf, 4, 1, buf, 0, buf, -1, 1, 4, 1, i32, 0)).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 1, buf, 0, buf, 1, 1, 1 << 24, 1, i32, 0)).toBe(1);
    expect(box.call('tgemm_t2i8__ref', buf, 4, 1, 0, buf, 0, buf, 1, -1, 4, 1, i32)).toBe(1);
    expect(box.call('tgemm_t2i8', buf, 4, 1, buf, 0, buf, 0, 0, 0, 1, putI8Epi(box, { kind: EPI_F32, scale: new Float32Array(1) }), 0)).toBe(0);
  });
});
