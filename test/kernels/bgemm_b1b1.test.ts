import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import {
  BEPI_F32, BEPI_I32, BEPI_SIGN, type BinaryEpi, bitRowBytes, bpanelBytes, epiF32, expectSameArray, panelPaddingIsZero,
  paddingIsZero, putEpi, randomAffine, randomSignedF32, scramblePadding, scramblePanelPadding, signEpi, signOf,
  unpackBits, unpackPanels,
} from '../support/binary.js';

const KS = [1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 191, 255, 256, 257, 300];
const MS = [1, 2, 3, 4, 5, 7, 9];
const NS = [1, 2, 3, 4, 5, 8, 9];

/** Packs f32 weights (N×K) into 8-row panels on the box and checks the bits and padding. */
function packPanels(box: KernelBox, x: Float32Array, N: number, K: number): number {
  const dst = box.alloc(bpanelBytes(N, K));
  box.m.u8().fill(0xff, dst, dst + bpanelBytes(N, K));
  box.call('pack_weights_b1_f32', box.put(x), N, K, K, 1, dst);
  const bytes = box.u8(dst, bpanelBytes(N, K));
  const err = expectSameArray(unpackPanels(bytes, N, K), Int8Array.from(x, signOf), `pack_weights_b1_f32 ${N}×${K}`);
  if (err) expect.fail(err);
  expect(panelPaddingIsZero(bytes, N, K)).toBe(true);
  return dst;
}

/** Packs f32 rows (rows×K) on the box and checks the bits against the sign rule. */
function packRows(box: KernelBox, x: Float32Array, rows: number, K: number): number {
  const dst = box.alloc(rows * bitRowBytes(K));
  box.call('pack_signs_f32', box.put(x), rows, K, K, 1, dst, 0);
  const bytes = box.u8(dst, rows * bitRowBytes(K));
  const err = expectSameArray(unpackBits(bytes, rows, K), Int8Array.from(x, signOf), `pack_signs_f32 ${rows}×${K}`);
  if (err) expect.fail(err);
  expect(paddingIsZero(bytes, rows, K)).toBe(true);
  return dst;
}

function readOut(box: KernelBox, c: number, e: BinaryEpi, M: number, N: number): number[] {
  if (e.kind === BEPI_I32) return [...box.i32(c, M * N)];
  if (e.kind === BEPI_F32) return [...box.f32(c, M * N)];
  const bytes = box.u8(c, M * bitRowBytes(N));
  expect(paddingIsZero(bytes, M, N)).toBe(true);
  return [...unpackBits(bytes, M, N)];
}

function runRef(box: KernelBox, a: Int8Array, b: Int8Array, M: number, N: number, K: number, e: BinaryEpi): number[] {
  const c = box.alloc(M * N * 4);
  expect(box.call('bgemm_b1b1__ref', box.put(a), box.put(b), c, M, N, K, N, putEpi(box, e))).toBe(0);
  if (e.kind === BEPI_I32) return [...box.i32(c, M * N)];
  if (e.kind === BEPI_F32) return [...box.f32(c, M * N)];
  return [...new Int8Array(box.u8(c, M * N).buffer.slice(0))].slice(0, M * N);
}

describe('bgemm_b1b1__ref', () => {
  it('equals Σ a·b over ±1 values computed in JS', () => {
    const box = new KernelBox('scalar');
    const r = rng(7);
    for (const [M, N, K] of [[3, 5, 7], [2, 3, 300], [1, 1, 1]]) {
      box.reset();
      const a = Int8Array.from({ length: M * K }, () => (r() < 0.5 ? -1 : 1));
      const b = Int8Array.from({ length: N * K }, () => (r() < 0.5 ? -1 : 1));
      const want: number[] = [];
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
        want.push(s);
      }
      expect(runRef(box, a, b, M, N, K, { kind: BEPI_I32 })).toEqual(want);
    }
  });
});

describe('bsign_thresholds', () => {
  it('gives d·dot ≥ t ⇔ f32 epilogue ≥ 0 at every dot in [−K, K]', () => {
    const box = new KernelBox('scalar');
    const r = rng(11);
    for (const K of [0, 1, 5, 64, 301]) {
      box.reset();
      const N = 40;
      const e = randomAffine(r, N, K);
      e.scale![0] = -0;
      e.bias![1] = 0;
      e.scale![2] = Infinity;
      e.act = r() < 0.5 ? 0 : 2;
      e.lo = -0.25;
      e.hi = 3;
      const thr = box.alloc(N * 8);
      expect(box.call('bsign_thresholds', putEpi(box, e), N, K, thr)).toBe(0);
      const td = box.i32(thr, 2 * N);
      for (let ch = 0; ch < N; ch++) {
        expect(Math.abs(td[2 * ch + 1])).toBe(1);
        for (let dot = -K; dot <= K; dot++) {
          const want = !(epiF32(dot, ch, e) < 0);
          if (want !== td[2 * ch + 1] * dot >= td[2 * ch]) expect.fail(`K=${K} ch=${ch} dot=${dot}: threshold disagrees`);
        }
      }
    }
  });
  it('maps a NaN scale to +1 everywhere (NaN is never < 0) and refuses a non-affine kind', () => {
    const box = new KernelBox('scalar');
    const thr = box.alloc(16);
    expect(box.call('bsign_thresholds', putEpi(box, { kind: BEPI_F32, scale: new Float32Array([NaN, 1]), bias: new Float32Array([0, -0.5]) }), 2, 4, thr)).toBe(0);
    expect([...box.i32(thr, 4)]).toEqual([-4, 1, 1, 1]);
    expect(box.call('bsign_thresholds', putEpi(box, { kind: BEPI_I32 }), 2, 4, thr)).toBe(1);
  });
  it('binary_sign_desc writes a SIGN descriptor holding its own copy of the pairs', () => {
    const box = new KernelBox('scalar');
    const pairs = new Int32Array([3, 1, -2, -1, 0, 1]);
    const src = box.put(pairs);
    const d = box.alloc(32 + 8 * 3);
    expect(box.call('binary_sign_desc', d, src, 3)).toBe(0);
    box.m.u8().fill(0, src, src + pairs.byteLength);
    const head = box.i32(d, 7);
    expect([...head.slice(0, 6)]).toEqual([BEPI_SIGN, 0, 0, 0, 0, 0]);
    expect(head[6]).toBe(d + 32);
    expect([...box.i32(d + 32, 6)]).toEqual([...pairs]);
    expect(box.call('binary_sign_desc', d, src, 0)).toBe(1);
  });
});

describe.each(ALL_BACKENDS)('bgemm_b1b1 (%s) vs the reference', (backend) => {
  const box = new KernelBox(backend);
  it('matches bit-exactly on ragged shapes with i32, f32 and SIGN epilogues, padding scrambled', () => {
    const r = rng(2024);
    let cases = 0;
    for (const K of KS) for (const M of MS) for (const N of NS) {
      if (r() < 0.5 && !(M === 1 || K === 300)) continue;
      box.reset();
      const seed = `M=${M} N=${N} K=${K}`;
      const xa = randomSignedF32(r, M * K);
      const xb = randomSignedF32(r, N * K);
      const a = packRows(box, xa, M, K);
      const b = packPanels(box, xb, N, K);
      scramblePadding(box, a, M, K, r);
      scramblePanelPadding(box, b, N, K, r);
      const pa = Int8Array.from(xa, signOf), pb = Int8Array.from(xb, signOf);
      const affine = randomAffine(r, N, K);
      const epis: BinaryEpi[] = [
        { kind: BEPI_I32 },
        affine,
        { ...affine, act: 1 },
        { kind: BEPI_F32, scale: affine.scale, act: 2, lo: -0.5, hi: 0.75 },
        // No bias (−0 outputs of negative scales must stay −0), no scale, neither.
        { kind: BEPI_F32, scale: affine.scale },
        { kind: BEPI_F32, bias: affine.bias },
        { kind: BEPI_F32 },
        signEpi(box, affine, N, K),
      ];
      for (const e of epis) {
        const want = runRef(box, pa, pb, M, N, K, e);
        const c = box.alloc(M * Math.max(N * 4, bitRowBytes(N)));
        box.m.u8().fill(0xa5, c, c + M * Math.max(N * 4, bitRowBytes(N)));
        expect(box.call('bgemm_b1b1', a, b, c, M, N, K, N, putEpi(box, e))).toBe(0);
        const err = expectSameArray(readOut(box, c, e, M, N), want, `${backend} ${seed} kind ${e.kind}`);
        if (err) expect.fail(err);
        if (e.kind === BEPI_SIGN) {
          // The chain property: the SIGN output is the sign of the f32 epilogue output.
          const f = runRef(box, pa, pb, M, N, K, affine);
          expect(want).toEqual(f.map(signOf));
        }
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(1500);
  });
  it('matches with K over several microkernel calls (> 31 blocks), more than 64 rows and ragged 8-column tiles', () => {
    const r = rng(2025);
    for (const [M, N, K] of [[1, 13, 3969], [70, 9, 4000], [3, 17, 8191], [65, 8, 4096], [2, 1, 3968], [130, 15, 7937]]) {
      box.reset();
      const xa = randomSignedF32(r, M * K), xb = randomSignedF32(r, N * K);
      const a = packRows(box, xa, M, K), b = packPanels(box, xb, N, K);
      scramblePadding(box, a, M, K, r);
      scramblePanelPadding(box, b, N, K, r);
      const pa = Int8Array.from(xa, signOf), pb = Int8Array.from(xb, signOf);
      const affine = randomAffine(r, N, K);
      for (const e of [{ kind: BEPI_I32 }, affine, signEpi(box, affine, N, K)] as BinaryEpi[]) {
        const c = box.alloc(M * Math.max(N * 4, bitRowBytes(N)));
        expect(box.call('bgemm_b1b1', a, b, c, M, N, K, N, putEpi(box, e))).toBe(0);
        const err = expectSameArray(readOut(box, c, e, M, N), runRef(box, pa, pb, M, N, K, e), `${backend} M=${M} N=${N} K=${K} kind ${e.kind}`);
        if (err) expect.fail(err);
      }
    }
  });
  it('counts all-different and all-equal rows exactly at the u8/narrow counter limits (7, 8, 31, 32 blocks) and with half tails', () => {
    for (const K of [7 * 128, 7 * 128 - 5, 8 * 128, 14 * 128 + 64, 31 * 128, 30 * 128 + 1, 32 * 128 + 1]) {
      box.reset();
      const M = 6, N = 9;
      // Rows alternate all −1 / all +1 against columns all +1 / all −1: every dot is ±K.
      const xa = Float32Array.from({ length: M * K }, (_, i) => (Math.floor(i / K) % 2 ? 1 : -1));
      const xb = Float32Array.from({ length: N * K }, (_, i) => (Math.floor(i / K) % 2 ? -1 : 1));
      const a = packRows(box, xa, M, K), b = packPanels(box, xb, N, K);
      const c = box.alloc(M * N * 4);
      expect(box.call('bgemm_b1b1', a, b, c, M, N, K, N, putEpi(box, { kind: BEPI_I32 }))).toBe(0);
      const want = Array.from({ length: M * N }, (_, i) => ((Math.floor(i / N) + (i % N)) % 2 ? K : -K));
      expect([...box.i32(c, M * N)]).toEqual(want);
    }
  });
  it('handles K = 0 and rejects a bad epilogue kind', () => {
    box.reset();
    const c = box.alloc(64);
    expect(box.call('bgemm_b1b1', c, c, c, 2, 3, 0, 3, putEpi(box, { kind: BEPI_I32 }))).toBe(0);
    expect([...box.i32(c, 6)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(box.call('bgemm_b1b1', c, c, c, 2, 3, 4, 3, putEpi(box, { kind: 7 }))).toBe(1);
    expect(box.call('bgemm_b1b1', c, c, c, 2, 3, 4, 3, putEpi(box, { kind: BEPI_SIGN }))).toBe(1);
  });
  it('pack_weights_b1_f32 packs [N, K] and [K, N] (transposed) matrices into 8-row panels', () => {
    const r = rng(6);
    for (const [N, K] of [[1, 1], [7, 33], [8, 128], [9, 129], [17, 300], [3, 64]]) {
      box.reset();
      const x = randomSignedF32(r, N * K);
      const t = new Float32Array(N * K);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = x[n * K + k];
      const p = packPanels(box, x, N, K);
      const q = box.alloc(bpanelBytes(N, K));
      box.call('pack_weights_b1_f32', box.put(t), N, K, 1, N, q);
      expect([...box.u8(q, bpanelBytes(N, K))]).toEqual([...box.u8(p, bpanelBytes(N, K))]);
      expect(box.call('bpanel_bytes', N, K)).toBe(bpanelBytes(N, K));
    }
  });
  it('unpack_signs_f32 inverts pack_signs_f32 to ±1', () => {
    box.reset();
    const r = rng(5);
    const x = randomSignedF32(r, 3 * 131);
    const p = packRows(box, x, 3, 131);
    const y = box.alloc(3 * 131 * 4);
    box.call('unpack_signs_f32', p, 3, 131, y, 131);
    expect([...box.f32(y, 3 * 131)]).toEqual([...x].map(signOf));
  });
});
