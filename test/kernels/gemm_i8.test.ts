import { describe, expect, it } from 'vitest';
import { ALL_BACKENDS, KernelBox, rng, sizesAround } from '../support/kernels.js';

// Epilogue kinds and the descriptor layout of assembly/gemm_i8_epilogue.ts.
const EPI_I32 = 0, EPI_U8 = 1, EPI_S8 = 2, EPI_F32 = 3;
const FLAG_I7 = 1;
// pack_b_i8 layouts: the GEMV's i8 slabs, the GEMM's i16 panels (assembly/gemm_i8_pack.ts).
const PB_I8 = 1, PB_I16 = 2;
const LAYOUTS = [PB_I8, PB_I16, PB_I8 | PB_I16];

interface Epi {
  kind: number;
  scale?: Float32Array;
  scaleRs?: number;
  scaleCs?: number;
  yZp?: number;
  /** i32 for kinds 0–2, f32 for kind 3. */
  bias?: Float32Array | Int32Array;
  biasRs?: number;
  biasCs?: number;
  act?: number;
  lo?: number;
  hi?: number;
}

interface Case {
  M: number; N: number; K: number;
  a: Uint8Array; aSigned: boolean; aZp: Uint8Array | null; aZpPerRow: boolean;
  b: Uint8Array; bSigned: boolean; bZp: Uint8Array | null; bZpPerCol: boolean;
  lda?: number; ldc?: number;
}

const f32bits = (x: number): number => new Int32Array(new Float32Array([x]).buffer)[0];
const outBytes = (kind: number): number => (kind === EPI_U8 || kind === EPI_S8 ? 1 : 4);

function putEpi(box: KernelBox, e: Epi): number {
  const scale = e.scale ? box.put(e.scale) : 0;
  const bias = e.bias ? box.put(e.bias) : 0;
  return box.put(new Int32Array([e.kind, scale, e.scaleRs ?? 0, e.scaleCs ?? 0, e.yZp ?? 0, bias,
    e.biasRs ?? 0, e.biasCs ?? 0, e.act ?? 0, f32bits(e.lo ?? 0), f32bits(e.hi ?? 0)]));
}

/** Reads M×N outputs of the epilogue's type as plain numbers (row stride ldc elements). */
function readOut(box: KernelBox, c: number, kind: number, M: number, N: number, ldc: number): number[] {
  const eb = outBytes(kind);
  const bytes = box.u8(c, (M - 1) * ldc * eb + N * eb);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    const at = (m * ldc + n) * eb;
    out.push(kind === EPI_I32 ? view.getInt32(at, true) : kind === EPI_F32 ? view.getFloat32(at, true)
      : kind === EPI_U8 ? view.getUint8(at) : view.getInt8(at));
  }
  return out;
}

function runRef(box: KernelBox, t: Case, epi: Epi): number[] {
  const e = putEpi(box, epi);
  const c = box.alloc(t.M * t.N * 4);
  const rc = box.call('qgemm_i8__ref', box.put(t.a), +t.aSigned, t.aZp ? box.put(t.aZp) : 0, +t.aZpPerRow,
    box.put(t.b), 0, +t.bSigned, t.bZp ? box.put(t.bZp) : 0, +t.bZpPerCol, c, t.M, t.N, t.K, e);
  expect(rc).toBe(0);
  return readOut(box, c, epi.kind, t.M, t.N, t.N);
}

/** Packs B (plain K×N) in the given layouts and returns the packed address and its flags word. */
function packB(box: KernelBox, t: Case, layouts: number): { bp: number; flags: number } {
  const bp = box.alloc(box.call('pack_b_i8_bytes', t.K, t.N, layouts) as number);
  const rc = box.call('pack_b_i8', box.put(t.b), t.N, 0, +t.bSigned, t.bZp ? box.put(t.bZp) : 0, +t.bZpPerCol, t.K, t.N, bp, layouts);
  expect(rc).toBe(0);
  const flags = box.i32(bp + 8, 1)[0];
  expect((flags >> 1) & 3).toBe(layouts);
  return { bp, flags };
}

function runFast(box: KernelBox, t: Case, bp: number, epi: Epi): number[] {
  const lda = t.lda ?? t.K, ldc = t.ldc ?? t.N;
  const a = new Uint8Array(t.M * lda);
  for (let m = 0; m < t.M; m++) a.set(t.a.subarray(m * t.K, (m + 1) * t.K), m * lda);
  const e = putEpi(box, epi);
  const c = box.alloc(t.M * ldc * 4);
  const scratch = box.alloc(box.call('qgemm_i8_scratch_bytes', t.M, t.K) as number);
  const rc = box.call('qgemm_i8', box.put(a), lda, +t.aSigned, t.aZp ? box.put(t.aZp) : 0, +t.aZpPerRow, bp,
    c, ldc, t.M, t.N, t.K, e, scratch);
  expect(rc).toBe(0);
  return readOut(box, c, epi.kind, t.M, t.N, ldc);
}

function bytesIn(r: () => number, n: number, lo: number, hi: number): Uint8Array {
  const v = new Uint8Array(n);
  for (let i = 0; i < n; i++) v[i] = (lo + Math.floor(r() * (hi - lo + 1))) & 255;
  return v;
}

/** A random case; `narrowB` keeps every column of B within a 127 range (7-bit weights). */
function randomCase(r: () => number, M: number, N: number, K: number, aSigned: boolean, bSigned: boolean, narrowB: boolean): Case {
  const [alo, ahi] = aSigned ? [-128, 127] : [0, 255];
  const [blo, bhi] = narrowB ? (bSigned ? [-70, 57] : [100, 227]) : bSigned ? [-128, 127] : [0, 255];
  const aZpPerRow = r() < 0.5;
  const bZpPerCol = r() < 0.5;
  return {
    M, N, K, aSigned, bSigned, aZpPerRow, bZpPerCol,
    a: bytesIn(r, M * K, alo, ahi), b: bytesIn(r, K * N, blo, bhi),
    aZp: bytesIn(r, aZpPerRow ? M : 1, alo, ahi), bZp: bytesIn(r, bZpPerCol ? N : 1, blo, bhi),
    lda: K + (K % 3), ldc: N + (N % 2),
  };
}

/** Whether every column of B spans at most 127 values (what pack_b_i8's flag bit 0 says). */
function columnsFit7Bits(t: Case): boolean {
  for (let n = 0; n < t.N; n++) {
    let lo = Infinity, hi = -Infinity;
    for (let k = 0; k < t.K; k++) {
      const x = t.bSigned ? (t.b[k * t.N + n] << 24) >> 24 : t.b[k * t.N + n];
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    if (hi - lo > 127) return false;
  }
  return true;
}

function randomEpis(r: () => number, M: number, N: number): Epi[] {
  const colScale = new Float32Array(N).map(() => Math.fround(2 ** (-6 - 6 * r()) * (1 + r())));
  const rowScale = new Float32Array(M).map(() => Math.fround(2 ** (-8 - 4 * r())));
  const full = new Float32Array(M * N).map(() => Math.fround(2 ** (-10 - 4 * r())));
  const bias = new Float32Array(N).map(() => r() * 4 - 2);
  const ibias = new Int32Array(N).map(() => Math.floor(r() * 4000) - 2000);
  return [
    { kind: EPI_I32 },
    { kind: EPI_U8, scale: colScale, scaleCs: 1, yZp: 128 },
    { kind: EPI_S8, scale: rowScale, scaleRs: 1, yZp: -3 },
    { kind: EPI_U8, scale: full, scaleRs: N, scaleCs: 1, yZp: 7 },
    { kind: EPI_U8, scale: colScale, scaleCs: 1, yZp: 100, bias: ibias, biasCs: 1, act: 2, lo: 100, hi: 200 },
    { kind: EPI_S8, scale: rowScale, scaleRs: 1, yZp: -3, bias: ibias, biasCs: 1 },
    { kind: EPI_I32, bias: ibias, biasCs: 1 },
    { kind: EPI_F32, scale: colScale, scaleCs: 1, bias, biasCs: 1, act: 0 },
    { kind: EPI_F32, scale: new Float32Array([0.01]), bias, biasCs: 1, act: 1 },
    { kind: EPI_F32, scale: rowScale, scaleRs: 1, act: 2, lo: -0.5, hi: 0.75 },
  ];
}

function expectSame(got: number[], want: number[], what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what} [${i}]: ${got[i]} vs reference ${want[i]}`);
  }
}

const TYPE_COMBOS: [boolean, boolean][] = [[false, true], [false, false], [true, true], [true, false]];
const tn = (s: boolean): string => (s ? 's8' : 'u8');

describe('qgemm_i8__ref', () => {
  const box = new KernelBox('scalar');
  it('equals Σ(a−a_zp)(b−b_zp) computed in JS, wrapping to i32, and the written requantise formula', () => {
    const r = rng(99);
    for (const [aS, bS] of TYPE_COMBOS) for (const [M, N, K] of [[3, 5, 7], [2, 3, 40000]]) {
      box.reset();
      const t = randomCase(r, M, N, K, aS, bS, false);
      const got = runRef(box, t, { kind: EPI_I32 });
      const mult = Math.fround(1 / 4099);
      const q = runRef(box, t, { kind: aS ? EPI_S8 : EPI_U8, scale: new Float32Array([mult]), yZp: 5 });
      // The i32 bias joins the exact accumulator before requantising; lo/hi narrow the output range.
      const bias = new Int32Array(N).map((_, n) => 977 * n - 1500);
      const [blo, bhi] = aS ? [-20, 90] : [5, 140];
      const qb = runRef(box, t, { kind: aS ? EPI_S8 : EPI_U8, scale: new Float32Array([mult]), yZp: 5, bias, biasCs: 1, act: 2, lo: blo, hi: bhi });
      const v = (x: number, s: boolean): number => (s ? (x << 24) >> 24 : x);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        const za = v(t.aZp![t.aZpPerRow ? m : 0], aS), zb = v(t.bZp![t.bZpPerCol ? n : 0], bS);
        let s = 0;
        for (let k = 0; k < K; k++) s = (s + (v(t.a[m * K + k], aS) - za) * (v(t.b[k * N + n], bS) - zb)) | 0;
        expect(got[m * N + n]).toBe(s);
        const x = Math.fround(Math.fround(s) * mult);
        let rr = Math.round(x);
        if (rr - x === 0.5 && rr % 2 !== 0) rr -= 1;
        const [qlo, qhi] = aS ? [-128, 127] : [0, 255];
        expect(q[m * N + n]).toBe(Math.min(Math.max(rr + 5, qlo), qhi));
        const xb = Math.fround(Math.fround((s + bias[n]) | 0) * mult);
        let rb = Math.round(xb);
        if (rb - xb === 0.5 && rb % 2 !== 0) rb -= 1;
        expect(qb[m * N + n]).toBe(Math.min(Math.max(rb + 5, blo), bhi));
      }
    }
  });
});

describe.each(ALL_BACKENDS)('qgemm_i8 (%s)', (backend) => {
  const box = new KernelBox(backend);
  const Ms = sizesAround(4, [64]);
  const Ns = [...new Set([...sizesAround(4), ...sizesAround(8), ...sizesAround(16)])].sort((x, y) => x - y);
  const Ks = [1, 3, 5, 8, 15, 17, 33];

  it('is bit-exact vs the reference on ragged shapes, all u8/s8 combos and epilogues, both weight ranges', () => {
    const seed = 2024;
    const r = rng(seed);
    let relaxedPacks = 0, dotPacks = 0;
    const perLayout = new Map<string, number>();
    for (const M of Ms) for (const N of Ns) for (const K of Ks) {
      const [aS, bS] = TYPE_COMBOS[(M + N + K) % 4];
      for (const narrowB of [false, true]) {
        box.reset();
        const t = randomCase(r, M, N, K, aS, bS, narrowB);
        // Every layout meets every M (GEMM tile, GEMV, and the tile below 4 rows).
        const layouts = LAYOUTS[(N + K + +narrowB) % 3];
        const key = `${layouts}/${M >= 4}`;
        perLayout.set(key, (perLayout.get(key) ?? 0) + 1);
        const { bp, flags } = packB(box, t, layouts);
        expect(flags & FLAG_I7).toBe(columnsFit7Bits(t) ? FLAG_I7 : 0);
        if (flags & FLAG_I7) relaxedPacks++;
        else dotPacks++;
        for (const epi of randomEpis(r, M, N)) {
          const what = `seed ${seed} ${tn(aS)}×${tn(bS)} narrowB=${narrowB} layouts=${layouts} M=${M} N=${N} K=${K} kind=${epi.kind} act=${epi.act ?? 0}`;
          expectSame(runFast(box, t, bp, epi), runRef(box, t, epi), what);
        }
      }
    }
    expect(relaxedPacks).toBeGreaterThan(100);
    expect(dotPacks).toBeGreaterThan(100);
    for (const l of LAYOUTS) for (const tall of [false, true]) expect(perLayout.get(`${l}/${tall}`)).toBeGreaterThan(20);
  });

  it('is exact on extreme values with nonzero zero points, long K (i16 overflow would show) and i32 wrap-around', () => {
    for (const [aS, bS] of TYPE_COMBOS) for (const [M, N, K] of [[1, 9, 1031], [5, 7, 1031], [2, 4, 60001], [4, 8, 60001]]) {
      box.reset();
      const aExt = aS ? [-128 & 255, 127] : [0, 255];
      const bExt = bS ? [-128 & 255, 127] : [0, 255];
      // a at one extreme and b at the other, against zero points at the opposite ends: every
      // product is ±255·255 or ±128·128 and the K-sum passes 2^31 for K = 60001.
      const t: Case = {
        M, N, K, aSigned: aS, bSigned: bS, aZpPerRow: false, bZpPerCol: true,
        a: new Uint8Array(M * K).map((_, i) => aExt[(i >> 3) % 7 === 0 ? 0 : 1]),
        b: new Uint8Array(K * N).map((_, i) => bExt[i % 5 === 0 ? 0 : 1]),
        aZp: new Uint8Array([aExt[0]]), bZp: new Uint8Array(N).map((_, n) => bExt[n % 2]),
      };
      const want = runRef(box, t, { kind: EPI_I32 });
      if (K === 60001) {
        const v = (x: number, s: boolean): number => (s ? (x << 24) >> 24 : x);
        let exact = 0;
        for (let k = 0; k < K; k++) exact += (v(t.a[k], aS) - v(t.aZp![0], aS)) * (v(t.b[k * N], bS) - v(t.bZp![0], bS));
        expect(Math.abs(exact)).toBeGreaterThan(2 ** 31);
        expect(want[0]).toBe(exact | 0);
      }
      for (const layouts of LAYOUTS) {
        const { bp } = packB(box, t, layouts);
        expectSame(runFast(box, t, bp, { kind: EPI_I32 }), want, `extremes ${tn(aS)}×${tn(bS)} layouts=${layouts} M=${M} N=${N} K=${K}`);
      }
    }
  });

  it('GEMV: the relaxed nibble runs hold their i16 bound (q_a = 255 against q = −128, whole and ragged runs)', () => {
    // q_a = 255 splits into nibbles 15, 15; each i16 lane of a run gains 2·(−128)·15 per group,
    // −30720 after the 8 groups of a run: one more group would wrap.
    for (const [aS, K] of [[false, 64], [false, 61], [true, 100]] as const) {
      box.reset();
      const M = 1 + (K & 1), N = 20;
      const t: Case = {
        M, N, K, aSigned: aS, bSigned: true, aZpPerRow: false, bZpPerCol: false,
        // b = −128 but in its last row (127): columns span the full 8-bit range (no 7-bit path).
        a: new Uint8Array(M * K).fill(aS ? 127 : 255), b: new Uint8Array(K * N).map((_, i) => (i < (K - 1) * N ? -128 & 255 : 127)),
        aZp: null, bZp: null,
      };
      const want = runRef(box, t, { kind: EPI_I32 });
      expect(want[0]).toBe(((K - 1) * -128 + 127) * (aS ? 127 : 255));
      expect(packB(box, t, PB_I8).flags & FLAG_I7).toBe(0);
      expectSame(runFast(box, t, packB(box, t, PB_I8).bp, { kind: EPI_I32 }), want, `nibble runs ${tn(aS)} K=${K}`);
    }
  });

  it('is exact when the GEMM blocks rows of A for the cache (more rows than one 256 KiB block)', () => {
    const r = rng(77);
    // K = 8193: 16 rows of packed A per block, so M = 37 makes three blocks, the last ragged.
    for (const [aS, bS] of [[false, true], [true, false]] as const) {
      box.reset();
      const t = randomCase(r, 37, 11, 8193, aS, bS, false);
      const { bp } = packB(box, t, PB_I16);
      const epi: Epi = { kind: EPI_I32 };
      expectSame(runFast(box, t, bp, epi), runRef(box, t, epi), `row blocks ${tn(aS)}×${tn(bS)}`);
    }
  });

  it('requantises exact .5 ties to even and saturates at both ends', () => {
    const r = rng(5);
    for (const [aS, bS] of TYPE_COMBOS) for (const kind of [EPI_U8, EPI_S8]) {
      box.reset();
      const M = 6, N = 12, K = 9;
      // Values within ±3 of their zero points keep accumulators small enough to land mid-range.
      const t = randomCase(r, M, N, K, aS, bS, false);
      t.a = t.a.map((_, i) => t.aZp![t.aZpPerRow ? Math.floor(i / K) : 0] + Math.floor(r() * 7) - 3);
      t.b = t.b.map((_, i) => t.bZp![t.bZpPerCol ? i % N : 0] + Math.floor(r() * 7) - 3);
      const { bp } = packB(box, t, LAYOUTS[(kind + +aS + 2 * +bS) % 3]);
      const acc = runRef(box, t, { kind: EPI_I32 });
      // Multiplier 0.5: every odd accumulator is an exact tie. Then 64, which saturates.
      for (const [mult, yZp] of [[0.5, kind === EPI_U8 ? 128 : 0], [64, kind === EPI_U8 ? 100 : -20]]) {
        const epi: Epi = { kind, scale: new Float32Array([mult]), yZp };
        const want = runRef(box, t, epi);
        const [qlo, qhi] = kind === EPI_U8 ? [0, 255] : [-128, 127];
        if (mult === 0.5) {
          const ties = acc.map((x, i) => [x, i]).filter(([x]) => x % 2 !== 0 && Math.abs(x / 2 + yZp) < qhi - 1);
          expect(ties.length).toBeGreaterThan(0);
          for (const [x, i] of ties) {
            const even = Math.floor(x / 2) % 2 === 0 ? Math.floor(x / 2) : Math.ceil(x / 2);
            expect(want[i]).toBe(Math.min(Math.max(even + yZp, qlo), qhi));
          }
        } else {
          expect(want).toContain(qlo);
          expect(want).toContain(qhi);
        }
        expectSame(runFast(box, t, bp, epi), want, `requant ${tn(aS)}×${tn(bS)} kind=${kind} mult=${mult}`);
      }
    }
  });

  it('requantises like the reference for non-finite multipliers and fractional or NaN clamp bounds', () => {
    const r = rng(6);
    const M = 5, N = 19, K = 21;
    for (const kind of [EPI_U8, EPI_S8]) {
      box.reset();
      const t = randomCase(r, M, N, K, false, true, false);
      const { bp } = packB(box, t, PB_I16 | PB_I8);
      // Multipliers that make some products NaN (0·inf is not reachable, so NaN itself), ±inf,
      // huge, tiny and ordinary, one per column.
      const specials = [NaN, Infinity, -Infinity, 1e30, -1e30, 1e-30, 0, 2 ** 21, -(2 ** 21), 0.37, -0.011];
      const scale = new Float32Array(N).map((_, n) => specials[n % specials.length]);
      const bounds: [number, number][] = [[100.5, 199.5], [-3.5, 7.25], [NaN, 50], [10, NaN], [300, 200], [-1e10, 1e10]];
      for (const [lo, hi] of bounds) {
        for (const m of [1, 0]) {
          const epi: Epi = { kind, scale, scaleCs: 1, yZp: kind === EPI_U8 ? 9 : -9, act: 2, lo, hi };
          // m = 0: the same multipliers scaled down so most outputs land inside the range.
          if (m === 0) epi.scale = scale.map((x) => (Number.isFinite(x) && Math.abs(x) > 1 ? x * 2 ** -30 : x));
          for (const [M2, lda] of [[M, K], [1, K]]) {
            const want = runRef(box, { ...t, M: M2 }, epi);
            expectSame(runFast(box, { ...t, M: M2, lda }, bp, epi), want, `kind=${kind} lo=${lo} hi=${hi} M=${M2}`);
          }
        }
      }
    }
  });

  it('packs transposed B to the same bytes and rejects mismatched shapes and descriptors', () => {
    box.reset();
    const r = rng(11);
    const K = 13, N = 19;
    const b = bytesIn(r, K * N, 0, 255);
    const bt = new Uint8Array(N * K);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = b[k * N + n];
    const zp = box.put(bytesIn(r, N, 0, 255));
    const headerAndSums = 16 + 2 * 4 * 32;
    const slabs = 32 * 16;
    for (const layouts of LAYOUTS) {
      const bytes = box.call('pack_b_i8_bytes', K, N, layouts) as number;
      expect(bytes).toBe(headerAndSums + slabs * ((layouts & PB_I8 ? 1 : 0) + (layouts & PB_I16 ? 2 : 0)));
      const p1 = box.alloc(bytes), p2 = box.alloc(bytes);
      box.call('pack_b_i8', box.put(b), N, 0, 0, zp, 1, K, N, p1, layouts);
      box.call('pack_b_i8', box.put(bt), K, 1, 0, zp, 1, K, N, p2, layouts);
      expect(box.u8(p1, bytes)).toEqual(box.u8(p2, bytes));
    }
    const p1 = box.alloc(box.call('pack_b_i8_bytes', K, N, PB_I16) as number);
    box.call('pack_b_i8', box.put(b), N, 0, 0, zp, 1, K, N, p1, PB_I16);
    expect(box.call('pack_b_i8', box.put(b), N, 0, 0, 0, 0, 0, N, p1, PB_I16)).toBe(1);
    expect(box.call('pack_b_i8', box.put(b), N, 0, 0, 0, 0, K, N, p1, 0)).toBe(1);
    expect(box.call('pack_b_i8', box.put(b), N, 0, 0, 0, 0, K, N, p1, 4)).toBe(1);
    box.call('pack_b_i8', box.put(b), N, 0, 0, zp, 1, K, N, p1, PB_I16);

    const a = box.put(bytesIn(r, 4 * K, 0, 255));
    const c = box.alloc(4 * N * 4);
    const scratch = box.alloc(box.call('qgemm_i8_scratch_bytes', 4, K) as number);
    const ok = putEpi(box, { kind: EPI_I32 });
    expect(box.call('qgemm_i8', a, K, 0, 0, 0, p1, c, N, 4, N, K, ok, scratch)).toBe(0);
    expect(box.call('qgemm_i8', a, K, 0, 0, 0, p1, c, N, 4, N - 1, K, ok, scratch)).toBe(1);
    expect(box.call('qgemm_i8', a, K + 1, 0, 0, 0, p1, c, N, 4, N, K + 1, ok, scratch)).toBe(1);
    expect(box.call('qgemm_i8', a, K, 0, 0, 0, p1, c, N, 4, N, K, putEpi(box, { kind: 7 }), scratch)).toBe(1);
    expect(box.call('qgemm_i8', a, K, 0, 0, 0, p1, c, N, 4, N, K, putEpi(box, { kind: EPI_U8 }), scratch)).toBe(1);
  });
});
