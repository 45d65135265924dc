// tconv_t2i8 (transpose to position-major rows, im2col with the zero point in padded taps, the
// ternary GEMM core storing NCHW) against tconv_t2i8__ref (direct convolution on the plain
// layouts) on every build, bit for bit, with every epilogue kind; the reference against a JS
// convolution; pack_ternary_conv_i8's tap-major order.

import { describe, expect, it } from 'vitest';
import { geomDescriptor, type ConvGeom } from '../../src/ops/conv-geom.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';
import {
  EPI_F32, EPI_I32, EPI_S8, EPI_U8, epilogues, outBytes, putI8Epi, readOut, scrambleTernaryPadding, ternary,
  ternaryWeightsBytes, unpackTernary, type I8Epi,
} from '../support/ternary.js';

interface Case {
  name: string;
  batch: number;
  group: number;
  C: number;
  M: number;
  inSpatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  xSigned: boolean;
  zp: boolean;
  bias: boolean;
  chunk: number;
}

const prod = (v: number[]) => v.reduce((a, b) => a * b, 1);

function geom(c: Case): ConvGeom {
  const r = c.inSpatial.length;
  const outSpatial = c.inSpatial.map((n, i) => Math.floor((n + c.pads[i] + c.pads[i + r] - ((c.kernel[i] - 1) * c.dilations[i] + 1)) / c.strides[i]) + 1);
  return { group: c.group, C: c.C, M: c.M, kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads: c.pads.slice(0, r), inSpatial: c.inSpatial, outSpatial };
}

interface Data {
  g: ConvGeom;
  x: Uint8Array;
  w: Int8Array;
  xZp: number;
  bias: Int32Array | null;
}

function data(c: Case, seed: number): Data {
  const r = rng(seed);
  const g = geom(c);
  const n = c.batch * c.group * c.C * prod(c.inSpatial);
  return {
    g,
    x: Uint8Array.from({ length: n }, () => Math.floor(r() * 256)),
    w: ternary(r, c.M * c.group * c.C * prod(c.kernel), 0.3),
    xZp: c.zp ? Math.floor(r() * 256) : 0,
    bias: c.bias ? Int32Array.from({ length: c.M * c.group }, () => Math.floor((r() - 0.5) * 3000)) : null,
  };
}

const outCount = (c: Case, d: Data) => c.batch * c.M * c.group * prod(d.g.outSpatial);

function runRef(box: KernelBox, c: Case, d: Data, e: I8Epi): number[] {
  const n = outCount(c, d);
  const y = box.alloc(n * outBytes(e.kind));
  const rc = box.call('tconv_t2i8__ref', box.put(geomDescriptor(c.batch, d.g, c.chunk)), box.put(d.x), +c.xSigned,
    c.zp ? box.put(Uint8Array.of(d.xZp)) : 0, box.put(d.w), d.bias ? box.put(d.bias) : 0, putI8Epi(box, e), y);
  expect(rc).toBe(0);
  return readOut(box, y, e.kind, n);
}

function runKernel(box: KernelBox, c: Case, d: Data, e: I8Epi, r: () => number): number[] {
  const T = prod(c.kernel), K = c.C * T, rows = c.M * c.group;
  const wb = ternaryWeightsBytes(rows, K);
  const wp = box.alloc(wb + 4 * rows);
  expect(box.call('pack_ternary_conv_i8', box.put(d.w), rows, c.C, T, wp)).toBe(0);
  scrambleTernaryPadding(box, wp, rows, K, r);
  const sums = wp + wb;
  box.call('ternary_row_sums', wp, rows, K, sums);
  const xZp = c.zp ? box.put(Uint8Array.of(d.xZp)) : 0;
  const rowc = box.alloc(4 * rows);
  box.call('ternary_rowc', sums, rows, xZp, +c.xSigned, d.bias ? box.put(d.bias) : 0, rowc);
  const desc = box.put(geomDescriptor(c.batch, d.g, c.chunk));
  const scratch = box.alloc(box.call('tconv_t2i8_scratch_bytes', desc) as number);
  const n = outCount(c, d);
  const y = box.alloc(n * outBytes(e.kind));
  const rc = box.call('tconv_t2i8', desc, box.put(d.x), +c.xSigned, xZp, wp, rowc, putI8Epi(box, e), y, scratch);
  expect(rc).toBe(0);
  return readOut(box, y, e.kind, n);
}

const base = { batch: 1, group: 1, strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], xSigned: false, zp: true, bias: true, chunk: 16 };

const CASES: Case[] = [
  { ...base, name: '3x3 pad 1, u8, C 3 (scalar taps), chunk 4', C: 3, M: 5, inSpatial: [7, 9], kernel: [3, 3], pads: [1, 1, 1, 1], chunk: 4 },
  { ...base, name: '3x3 pad 1, C 40 (K 360), u8, 12×11, chunk 37', C: 40, M: 7, inSpatial: [12, 11], kernel: [3, 3], pads: [1, 1, 1, 1], chunk: 37 },
  { ...base, name: '2 groups, stride 2, dilation 2, asymmetric pads, s8', batch: 2, group: 2, C: 17, M: 9, inSpatial: [11, 10], kernel: [3, 2], strides: [2, 2], dilations: [2, 2], pads: [2, 1, 0, 2], xSigned: true, chunk: 9 },
  { ...base, name: 'no zero point, no bias, chunk larger than the output', C: 20, M: 16, inSpatial: [5, 6], kernel: [2, 3], pads: [1, 2, 1, 2], zp: false, bias: false, chunk: 64 },
  { ...base, name: '1-D, stride 3, pad 4, odd K', C: 7, M: 3, inSpatial: [1, 23], kernel: [1, 5], strides: [1, 3], pads: [0, 4, 0, 4], chunk: 5 },
  { ...base, name: 'depthwise 8 groups, 3x3 stride 2 pad 1', batch: 2, group: 8, C: 1, M: 1, inSpatial: [9, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], xSigned: true, chunk: 12 },
  { ...base, name: 'kernel larger than x with padding (every row touches the border)', C: 33, M: 6, inSpatial: [2, 2], kernel: [3, 3], pads: [1, 1, 1, 1], chunk: 4 },
  { ...base, name: '1×1, stride 1, no pad (im2col skipped), C 64, u8', C: 64, M: 10, inSpatial: [6, 7], kernel: [1, 1], pads: [0, 0, 0, 0], chunk: 20 },
  { ...base, name: '1×1 stride 2 (im2col)', C: 24, M: 5, inSpatial: [7, 7], kernel: [1, 1], strides: [2, 2], chunk: 16 },
  { ...base, name: '3-D 3×3×3 pad 1, 2 groups, s8', group: 2, C: 6, M: 4, inSpatial: [4, 5, 6], kernel: [3, 3, 3], strides: [1, 2, 1], dilations: [1, 1, 1], pads: [1, 1, 1, 1, 1, 1], xSigned: true, chunk: 13 },
];

describe('tconv_t2i8__ref', () => {
  it('equals a JS direct convolution (i32 output, zero point, bias, padding as zero)', () => {
    const c = CASES[2];
    const d = data(c, 5);
    const got = runRef(new KernelBox('scalar'), c, d, { kind: EPI_I32 });
    const s8 = (v: number) => (c.xSigned && v > 127 ? v - 256 : v);
    const [IH, IW] = c.inSpatial;
    const [OH, OW] = d.g.outSpatial;
    const want: number[] = [];
    for (let n = 0; n < c.batch; n++) for (let ch = 0; ch < c.M * c.group; ch++) {
      const g = Math.floor(ch / c.M);
      for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = d.bias![ch];
        for (let ci = 0; ci < c.C; ci++) for (let a = 0; a < c.kernel[0]; a++) for (let b = 0; b < c.kernel[1]; b++) {
          const ih = oh * c.strides[0] - c.pads[0] + a * c.dilations[0];
          const iw = ow * c.strides[1] - c.pads[1] + b * c.dilations[1];
          if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
          const xv = s8(d.x[(((n * c.group + g) * c.C + ci) * IH + ih) * IW + iw]) - s8(d.xZp);
          s += xv * d.w[((ch * c.C + ci) * c.kernel[0] + a) * c.kernel[1] + b];
        }
        want.push(s);
      }
    }
    expect(got).toEqual(want);
  });
});

describe('pack_ternary_conv_i8', () => {
  it('writes row r, element t·C + c = w[r, c, t]', () => {
    const box = new KernelBox('scalar');
    const r = rng(7);
    const rows = 3, C = 5, T = 9, K = C * T;
    const w = ternary(r, rows * K, 0.3);
    const wp = box.alloc(ternaryWeightsBytes(rows, K));
    expect(box.call('pack_ternary_conv_i8', box.put(w), rows, C, T, wp)).toBe(0);
    const got = unpackTernary(box.u8(wp, ternaryWeightsBytes(rows, K)), rows, K);
    expect(got.badPadding).toBe(false);
    for (let q = 0; q < rows; q++) for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) {
      expect(got.w[q * K + t * C + c]).toBe(w[(q * C + c) * T + t]);
    }
  });
});

describe.each(ALL_BACKENDS)('tconv_t2i8 (%s)', (backend) => {
  it.each(CASES)('$name: bit-exact vs the reference, every epilogue', (c) => {
    const box = new KernelBox(backend);
    const r = rng(c.C * 31 + c.M);
    for (const seed of [1, 2]) {
      const d = data(c, seed * 100 + c.M);
      const K = c.C * prod(c.kernel);
      for (const e of epilogues(r, c.M * c.group, 128 * Math.sqrt(K))) {
        const got = runKernel(box, c, d, e, r), want = runRef(box, c, d, e);
        expect(got.length).toBe(want.length);
        const bad = got.findIndex((v, i) => !Object.is(v, want[i]));
        expect(bad, `seed ${seed} kind ${e.kind}: [${bad}] ${got[bad]} vs ${want[bad]}`).toBe(-1);
        if (e.kind === EPI_U8 || e.kind === EPI_S8) expect(new Set(got).size).toBeGreaterThan(Math.min(8, got.length / 4));
        box.reset();
      }
    }
  });

  it('padding is the zero point: x constant at x_zp gives bias only, whatever the weights', () => {
    const c: Case = { ...base, name: 'zp', C: 18, M: 5, inSpatial: [6, 6], kernel: [3, 3], pads: [2, 2, 2, 2], chunk: 8 };
    const box = new KernelBox(backend);
    for (const xSigned of [false, true]) {
      const d = data({ ...c, xSigned }, 3);
      d.xZp = xSigned ? 0x85 : 200; // −123 as s8
      d.x.fill(d.xZp);
      const got = runKernel(box, { ...c, xSigned }, d, { kind: EPI_I32 }, rng(1));
      const per = prod(d.g.outSpatial);
      expect(got).toEqual(Array.from({ length: c.M * per }, (_, i) => d.bias![Math.floor(i / per)]));
      box.reset();
    }
  });

  it('refuses a bad geometry or epilogue', () => {
    const box = new KernelBox(backend);
    const c = CASES[0];
    const d = data(c, 1);
    const buf = box.alloc(1 << 16);
    const good = geomDescriptor(1, d.g, 4);
    expect(box.call('tconv_t2i8', box.put(good), buf, 0, 0, buf, 0, putI8Epi(box, { kind: 9 }), buf, buf)).toBe(1);
    const noChunk = good.slice();
    noChunk[22] = 0;
    expect(box.call('tconv_t2i8', box.put(noChunk), buf, 0, 0, buf, 0, putI8Epi(box, { kind: EPI_I32 }), buf, buf)).toBe(1);
    expect(box.call('tconv_t2i8__ref', box.put(noChunk), buf, 0, 0, buf, 0, putI8Epi(box, { kind: EPI_F32, scale: new Float32Array(8) }), buf)).toBe(1);
  });
});
