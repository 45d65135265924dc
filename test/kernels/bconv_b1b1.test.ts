import { describe, expect, it } from 'vitest';
import { bconvScratchBytes } from '../../src/ops/binary.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import {
  BEPI_F32, BEPI_I32, type BinaryEpi, bitRowBytes, bpanelBytes, expectSameArray, panelPaddingIsZero, paddingIsZero,
  putEpi, randomAffine, randomSignedF32, scramblePadding, scramblePanelPadding, signEpi, signOf, unpackBits, unpackPanels,
} from '../support/binary.js';

interface Geom {
  N: number; G: number; C: number; M: number;
  inp: number[]; k: number[]; s: number[]; dil: number[]; pad: number[]; out: number[]; chunk: number;
}

const prod = (v: number[]): number => v.reduce((a, b) => a * b, 1);

function descriptor(g: Geom): Int32Array {
  return new Int32Array([g.N, g.G, g.C, g.M, ...g.inp, ...g.k, ...g.s, ...g.dil, ...g.pad, ...g.out, g.chunk]);
}

/** A random 1-, 2- or 3-D geometry; end pads 0..2 independent of the begin pads. */
function randomGeom(r: () => number): Geom {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const rank = pick([1, 2, 2, 2, 3]);
  const inp = [1, 1, 1], k = [1, 1, 1], s = [1, 1, 1], dil = [1, 1, 1], pad = [0, 0, 0], out = [1, 1, 1];
  for (let i = 3 - rank; i < 3; i++) {
    inp[i] = 1 + Math.floor(r() * (rank === 3 ? 5 : 9));
    k[i] = pick([1, 2, 3, 3]);
    s[i] = pick([1, 1, 2, 3]);
    dil[i] = pick([1, 1, 2]);
    pad[i] = Math.floor(r() * 3);
    const end = Math.floor(r() * 3);
    const span = dil[i] * (k[i] - 1) + 1;
    if (inp[i] + pad[i] + end < span) pad[i] += span - (inp[i] + pad[i] + end);
    out[i] = Math.floor((inp[i] + pad[i] + end - span) / s[i]) + 1;
  }
  return {
    N: pick([1, 2]), G: pick([1, 1, 2, 3]), C: pick([1, 2, 3, 5, 16, 32, 33, 40, 64, 70]), M: pick([1, 2, 3, 5, 8, 13]),
    inp, k, s, dil, pad, out, chunk: pick([1, 3, 4, 7, 16, 64]),
  };
}

/** The float Conv on ±1 values with ONNX zero padding, in JS (independent of the kernels). */
function floatConv(g: Geom, x: Int8Array, w: Int8Array): number[] {
  const Pin = prod(g.inp), Pout = prod(g.out), T = prod(g.k);
  const y: number[] = [];
  for (let n = 0; n < g.N; n++) for (let gi = 0; gi < g.G; gi++) for (let m = 0; m < g.M; m++) {
    for (let od = 0; od < g.out[0]; od++) for (let oh = 0; oh < g.out[1]; oh++) for (let ow = 0; ow < g.out[2]; ow++) {
      let acc = 0;
      for (let c = 0; c < g.C; c++) for (let a = 0; a < g.k[0]; a++) for (let b = 0; b < g.k[1]; b++) for (let e = 0; e < g.k[2]; e++) {
        const id = od * g.s[0] - g.pad[0] + a * g.dil[0];
        const ih = oh * g.s[1] - g.pad[1] + b * g.dil[1];
        const iw = ow * g.s[2] - g.pad[2] + e * g.dil[2];
        const inside = id >= 0 && id < g.inp[0] && ih >= 0 && ih < g.inp[1] && iw >= 0 && iw < g.inp[2];
        const xv = inside ? x[((n * g.G + gi) * g.C + c) * Pin + (id * g.inp[1] + ih) * g.inp[2] + iw] : 0;
        acc += xv * w[((gi * g.M + m) * g.C + c) * T + (a * g.k[1] + b) * g.k[2] + e];
      }
      y.push(acc);
    }
  }
  expect(y.length).toBe(g.N * g.G * g.M * Pout);
  return y;
}

function runRef(box: KernelBox, g: Geom, x: Int8Array, w: Int8Array, e: BinaryEpi): number[] {
  const n = g.N * g.G * g.M * prod(g.out);
  const y = box.alloc(n * 4);
  expect(box.call('bconv_b1b1__ref', box.put(x), box.put(w), y, box.put(descriptor(g)), putEpi(box, e))).toBe(0);
  if (e.kind === BEPI_I32) return [...box.i32(y, n)];
  if (e.kind === BEPI_F32) return [...box.f32(y, n)];
  return [...new Int8Array(box.u8(y, n).buffer.slice(0))].slice(0, n);
}

/** bconv_b1b1 on packed operands; SIGN output read from bit NHWC back to NCHW order. */
function runFast(box: KernelBox, g: Geom, xp: number, wp: number, e: BinaryEpi): number[] {
  const Pout = prod(g.out), Mt = g.G * g.M;
  const bytes = Math.max(g.N * Mt * Pout * 4, g.N * Pout * bitRowBytes(Mt));
  const y = box.alloc(bytes);
  box.m.u8().fill(0x5a, y, y + bytes);
  const d = box.put(descriptor(g));
  const scratchBytes = box.call('bconv_b1b1_scratch_bytes', d) as number;
  expect(scratchBytes).toBe(bconvScratchBytes(prod(g.k), g.C, g.M, g.chunk));
  const scratch = box.alloc(scratchBytes);
  box.m.u8().fill(0xa5, scratch, scratch + scratchBytes);
  expect(box.call('bconv_b1b1', xp, wp, y, d, putEpi(box, e), scratch)).toBe(0);
  const n = g.N * Mt * Pout;
  if (e.kind === BEPI_I32) return [...box.i32(y, n)];
  if (e.kind === BEPI_F32) return [...box.f32(y, n)];
  const raw = box.u8(y, g.N * Pout * bitRowBytes(Mt));
  expect(paddingIsZero(raw, g.N * Pout, Mt)).toBe(true);
  const nhwc = unpackBits(raw, g.N * Pout, Mt);
  const out: number[] = [];
  for (let b = 0; b < g.N; b++) for (let ch = 0; ch < Mt; ch++) for (let p = 0; p < Pout; p++) out.push(nhwc[(b * Pout + p) * Mt + ch]);
  return out;
}

/** Packs x (f32 NCHW) and w (f32 [G·M, C, taps]) on the box and checks the packed bits. */
function pack(box: KernelBox, g: Geom, xf: Float32Array, wf: Float32Array): { xp: number; wp: number } {
  const Pin = prod(g.inp), Ct = g.G * g.C, T = prod(g.k), K = T * g.C;
  const xp = box.alloc(g.N * Pin * bitRowBytes(Ct));
  box.call('pack_signs_nchw_f32', box.put(xf), g.N, Ct, Pin, xp, 0);
  const xb = unpackBits(box.u8(xp, g.N * Pin * bitRowBytes(Ct)), g.N * Pin, Ct);
  for (let n = 0; n < g.N; n++) for (let c = 0; c < Ct; c++) for (let p = 0; p < Pin; p++) {
    if (xb[(n * Pin + p) * Ct + c] !== signOf(xf[(n * Ct + c) * Pin + p])) expect.fail(`pack_signs_nchw_f32 n=${n} c=${c} p=${p}`);
  }
  const groupBytes = bpanelBytes(g.M, K);
  const wp = box.alloc(g.G * groupBytes);
  box.m.u8().fill(0xff, wp, wp + g.G * groupBytes);
  box.call('pack_bconv_weights_f32', box.put(wf), g.G, g.M, g.C, T, wp);
  for (let gi = 0; gi < g.G; gi++) {
    const wb = box.u8(wp + gi * groupBytes, groupBytes);
    expect(panelPaddingIsZero(wb, g.M, K)).toBe(true);
    const wu = unpackPanels(wb, g.M, K);
    for (let m = 0; m < g.M; m++) for (let c = 0; c < g.C; c++) for (let t = 0; t < T; t++) {
      if (wu[m * K + t * g.C + c] !== signOf(wf[((gi * g.M + m) * g.C + c) * T + t])) expect.fail(`pack_bconv_weights_f32 g=${gi} m=${m} c=${c} t=${t}`);
    }
    // The kernels must not depend on the panels' padding bits and rows.
    scramblePanelPadding(box, wp + gi * groupBytes, g.M, K, rng(gi + K));
  }
  return { xp, wp };
}

describe('bconv_b1b1__ref', () => {
  it('equals the float Conv on ±1 values with zero padding (JS)', () => {
    const box = new KernelBox('scalar');
    const r = rng(31);
    for (let i = 0; i < 40; i++) {
      box.reset();
      const g = randomGeom(r);
      const x = Int8Array.from({ length: g.N * g.G * g.C * prod(g.inp) }, () => (r() < 0.5 ? -1 : 1));
      const w = Int8Array.from({ length: g.G * g.M * g.C * prod(g.k) }, () => (r() < 0.5 ? -1 : 1));
      expect(runRef(box, g, x, w, { kind: BEPI_I32 })).toEqual(floatConv(g, x, w));
    }
  });
});

describe.each(ALL_BACKENDS)('bconv_b1b1 (%s) vs the reference', (backend) => {
  const box = new KernelBox(backend);
  /** Each layer, with every epilogue (i32, f32 affine, its SIGN form), against the reference. */
  const pinLayers = (r: () => number, geoms: Geom[], scrambleX = false): void => {
    for (const g of geoms) {
      box.reset();
      const Mt = g.G * g.M, K = prod(g.k) * g.C;
      const xf = randomSignedF32(r, g.N * g.G * g.C * prod(g.inp));
      const wf = randomSignedF32(r, Mt * g.C * prod(g.k));
      const { xp, wp } = pack(box, g, xf, wf);
      if (scrambleX) scramblePadding(box, xp, g.N * prod(g.inp), g.C, r);
      const x = Int8Array.from(xf, signOf), w = Int8Array.from(wf, signOf);
      const affine = randomAffine(r, Mt, K);
      for (const e of [{ kind: BEPI_I32 }, affine, signEpi(box, affine, Mt, K)] as BinaryEpi[]) {
        const err = expectSameArray(runFast(box, g, xp, wp, e), runRef(box, g, x, w, e), `${backend} ${JSON.stringify(g)} kind ${e.kind}`);
        if (err) expect.fail(err);
      }
    }
  };
  it('matches bit-exactly over random strides, dilations, pads, groups, ranks and batches', () => {
    const r = rng(4242);
    const cases = backend === 'scalar' ? 80 : 160;
    for (let i = 0; i < cases; i++) {
      box.reset();
      const g = randomGeom(r);
      const Mt = g.G * g.M, K = prod(g.k) * g.C;
      const xf = randomSignedF32(r, g.N * g.G * g.C * prod(g.inp));
      const wf = randomSignedF32(r, Mt * g.C * prod(g.k));
      const { xp, wp } = pack(box, g, xf, wf);
      const x = Int8Array.from(xf, signOf), w = Int8Array.from(wf, signOf);
      const affine = randomAffine(r, Mt, K);
      const epis: BinaryEpi[] = [{ kind: BEPI_I32 }, { ...affine, act: 1 }, signEpi(box, affine, Mt, K)];
      for (const e of epis) {
        const err = expectSameArray(runFast(box, g, xp, wp, e), runRef(box, g, x, w, e), `${backend} case ${i} ${JSON.stringify(g)} kind ${e.kind}`);
        if (err) expect.fail(err);
      }
    }
  });
  it('pins a 3×3 pad-1 layer with 64 channels and a SIGN chain into a second conv', () => {
    box.reset();
    const r = rng(9);
    const g: Geom = { N: 2, G: 1, C: 64, M: 64, inp: [1, 7, 9], k: [1, 3, 3], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 1, 1], out: [1, 7, 9], chunk: 16 };
    const xf = randomSignedF32(r, 2 * 64 * 63), wf = randomSignedF32(r, 64 * 64 * 9), wf2 = randomSignedF32(r, 64 * 64 * 9);
    const { xp, wp } = pack(box, g, xf, wf);
    const { wp: wp2 } = pack(box, g, xf, wf2);
    const affine = randomAffine(r, 64, 576);
    // Layer 1 straight to bits, layer 2 from those bits: equals the float chain on ±1 values.
    const Pout = 63;
    const mid = box.alloc(2 * Pout * bitRowBytes(64));
    const d = box.put(descriptor(g));
    const scratch = box.alloc(box.call('bconv_b1b1_scratch_bytes', d) as number);
    expect(box.call('bconv_b1b1', xp, wp, mid, d, putEpi(box, signEpi(box, affine, 64, 576)), scratch)).toBe(0);
    const y2 = box.alloc(2 * 64 * Pout * 4);
    expect(box.call('bconv_b1b1', mid, wp2, y2, d, putEpi(box, { kind: BEPI_I32 }), scratch)).toBe(0);
    const x = Int8Array.from(xf, signOf);
    const y1 = runRef(box, g, x, Int8Array.from(wf, signOf), affine);
    const want = floatConv(g, Int8Array.from(y1, signOf), Int8Array.from(wf2, signOf));
    expect([...box.i32(y2, 2 * 64 * Pout)]).toEqual(want);
  });
  it('pins pointwise layers (1×1, stride 1, no padding, one group: no im2col), padding bits of X scrambled', () => {
    const r = rng(11);
    const geoms: Geom[] = [
      { N: 2, G: 1, C: 100, M: 13, inp: [1, 5, 7], k: [1, 1, 1], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 0, 0], out: [1, 5, 7], chunk: 6 },
      { N: 1, G: 1, C: 256, M: 64, inp: [2, 3, 11], k: [1, 1, 1], s: [1, 1, 1], dil: [1, 2, 1], pad: [0, 0, 0], out: [2, 3, 11], chunk: 64 },
      { N: 1, G: 1, C: 3, M: 9, inp: [1, 1, 3], k: [1, 1, 1], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 0, 0], out: [1, 1, 3], chunk: 2 },
    ];
    pinLayers(r, geoms, true);
  });
  it('pins grouped layers whose SIGN bits straddle a word (G·M = 2·31) and word-aligned channels (32, 64, 96)', () => {
    const r = rng(10);
    const geoms: Geom[] = [
      { N: 2, G: 2, C: 33, M: 31, inp: [1, 5, 6], k: [1, 3, 2], s: [1, 2, 1], dil: [1, 1, 2], pad: [0, 1, 2], out: [1, 3, 5], chunk: 5 },
      { N: 1, G: 3, C: 32, M: 30, inp: [1, 6, 6], k: [1, 3, 3], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 1, 1], out: [1, 6, 6], chunk: 64 },
      { N: 2, G: 2, C: 64, M: 9, inp: [1, 4, 5], k: [1, 3, 3], s: [1, 2, 2], dil: [1, 2, 1], pad: [0, 2, 1], out: [1, 2, 3], chunk: 2 },
      // 12-byte tap slots: the interior positions' copy takes a u64 and a u32 word per tap.
      { N: 1, G: 2, C: 96, M: 10, inp: [1, 6, 7], k: [1, 3, 3], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 1, 1], out: [1, 6, 7], chunk: 17 },
    ];
    pinLayers(r, geoms);
  });
  it('pins layers whose K takes several microkernel calls (> 31 blocks) with more than 64 rows per chunk', () => {
    const r = rng(14);
    const geoms: Geom[] = [
      { N: 1, G: 1, C: 512, M: 11, inp: [1, 9, 9], k: [1, 3, 3], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 1, 1], out: [1, 9, 9], chunk: 81 },
      { N: 2, G: 2, C: 456, M: 9, inp: [1, 5, 4], k: [1, 3, 3], s: [1, 1, 1], dil: [1, 1, 1], pad: [0, 2, 1], out: [1, 7, 4], chunk: 70 },
    ];
    pinLayers(r, geoms);
  });
  it('pack_signs_nchw_f32 packs ragged positions (16-position SIMD groups + tail) and channels (8-channel groups + tail)', () => {
    const r = rng(13);
    for (const [N, C, P] of [[1, 1, 1], [1, 8, 16], [2, 7, 17], [1, 9, 15], [2, 64, 33], [1, 131, 48], [1, 3, 31], [2, 17, 100]]) {
      box.reset();
      const xf = randomSignedF32(r, N * C * P);
      const xp = box.alloc(N * P * bitRowBytes(C));
      box.m.u8().fill(0xff, xp, xp + N * P * bitRowBytes(C));
      box.call('pack_signs_nchw_f32', box.put(xf), N, C, P, xp, 0);
      const raw = box.u8(xp, N * P * bitRowBytes(C));
      expect(paddingIsZero(raw, N * P, C)).toBe(true);
      const xb = unpackBits(raw, N * P, C);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) {
        if (xb[(n * P + p) * C + c] !== signOf(xf[(n * C + c) * P + p])) expect.fail(`${backend} N=${N} C=${C} P=${P}: n=${n} c=${c} p=${p}`);
      }
    }
  });
  it('unpack_signs_nhwc_f32 inverts pack_signs_nchw_f32 to ±1 NCHW', () => {
    box.reset();
    const r = rng(12);
    const [N, C, P] = [2, 131, 7];
    const xf = randomSignedF32(r, N * C * P);
    const xp = box.alloc(N * P * bitRowBytes(C));
    box.call('pack_signs_nchw_f32', box.put(xf), N, C, P, xp, 0);
    const y = box.alloc(N * C * P * 4);
    box.call('unpack_signs_nhwc_f32', xp, N, C, P, y);
    expect([...box.f32(y, N * C * P)]).toEqual([...xf].map(signOf));
  });
  it('rejects a zero stride and a zero chunk', () => {
    box.reset();
    const g: Geom = { N: 1, G: 1, C: 1, M: 1, inp: [1, 1, 3], k: [1, 1, 1], s: [1, 1, 0], dil: [1, 1, 1], pad: [0, 0, 0], out: [1, 1, 3], chunk: 4 };
    const e = putEpi(box, { kind: BEPI_I32 });
    const buf = box.alloc(1024);
    expect(box.call('bconv_b1b1', buf, buf, buf, box.put(descriptor(g)), e, buf)).toBe(1);
    expect(box.call('bconv_b1b1', buf, buf, buf, box.put(descriptor({ ...g, s: [1, 1, 1], chunk: 0 })), e, buf)).toBe(1);
  });
});
