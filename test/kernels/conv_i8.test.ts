// conv_i8 (zero-padded i16 input volume + the 4×8 tile read through tap offsets + per-channel
// epilogue) and conv_dw_i8 against conv_i8__ref (direct convolution on the plain layouts) on every
// build, bit for bit; the reference itself against a JS convolution.

import { describe, expect, it } from 'vitest';
import { geomDescriptor, type ConvGeom } from '../../src/ops/conv-geom.js';
import { convI8ScratchBytes, convWeightBytes, dwScratchBytes, dwWeightBytes, winoScratchBytes, winoWeightBytes } from '../../src/ops/qconv.js';
import { ALL_BACKENDS, KernelBox, rng } from '../support/kernels.js';

const EPI_I32 = 0, EPI_U8 = 1, EPI_S8 = 2;

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
  wSigned: boolean;
  wZpPerChannel: boolean;
  bias: boolean;
  epi: number;
}

function geom(c: Case): ConvGeom {
  const outSpatial = c.inSpatial.map((n, i) => Math.floor((n + 2 * c.pads[i] - ((c.kernel[i] - 1) * c.dilations[i] + 1)) / c.strides[i]) + 1);
  return { group: c.group, C: c.C, M: c.M, kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads: c.pads, inSpatial: c.inSpatial, outSpatial };
}

const prod = (v: number[]) => v.reduce((a, b) => a * b, 1);
const bytes = (r: () => number, n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

interface Data {
  g: ConvGeom;
  x: Uint8Array;
  w: Uint8Array;
  xZp: Uint8Array;
  wZp: Uint8Array;
  bias: Int32Array | null;
  scale: Float32Array;
  yZp: number;
}

function data(c: Case, seed: number): Data {
  const r = rng(seed);
  const g = geom(c);
  const channels = c.M * c.group;
  return {
    g,
    x: bytes(r, c.batch * c.group * c.C * prod(c.inSpatial)),
    w: bytes(r, channels * c.C * prod(c.kernel)),
    xZp: bytes(r, 1),
    wZp: bytes(r, c.wZpPerChannel ? channels : 1),
    bias: c.bias ? Int32Array.from({ length: channels }, () => Math.floor((r() - 0.5) * 20000)) : null,
    scale: Float32Array.from({ length: channels }, () => 0.0005 + r() * 0.01),
    yZp: c.epi === EPI_S8 ? -7 : 131,
  };
}

function epilogue(box: KernelBox, c: Case, d: Data): number {
  const scale = c.epi === EPI_I32 ? 0 : box.put(d.scale);
  return box.put(new Int32Array([c.epi, scale, 0, 1, d.yZp, 0, 0, 0, 0, 0, 0]));
}

function readOut(box: KernelBox, c: Case, at: number, n: number): number[] {
  if (c.epi === EPI_I32) return Array.from(box.i32(at, n));
  const u = box.u8(at, n);
  return Array.from(c.epi === EPI_S8 ? new Int8Array(u.buffer, u.byteOffset, n) : u);
}

function outCount(c: Case, d: Data): number {
  return c.batch * c.M * c.group * prod(d.g.outSpatial);
}

function runRef(box: KernelBox, c: Case, d: Data): number[] {
  const n = outCount(c, d);
  const y = box.alloc(n * 4);
  const rc = box.call('conv_i8__ref', box.put(geomDescriptor(c.batch, d.g, 0)), box.put(d.x), +c.xSigned, box.put(d.xZp),
    box.put(d.w), +c.wSigned, box.put(d.wZp), +c.wZpPerChannel, d.bias ? box.put(d.bias) : 0, epilogue(box, c, d), y);
  expect(rc).toBe(0);
  return readOut(box, c, y, n);
}

function runKernel(box: KernelBox, c: Case, d: Data): number[] {
  const T = prod(c.kernel);
  const groupBytes = convWeightBytes(c.M, c.C, T);
  expect(box.call('conv_w_i8_bytes', c.M, c.C, T)).toBe(groupBytes);
  const wp = box.alloc(groupBytes * c.group);
  const w = box.put(d.w);
  const wZp = box.put(d.wZp);
  for (let j = 0; j < c.group; j++) {
    const rc = box.call('pack_w_conv_i8', w + j * c.M * c.C * T, +c.wSigned, wZp + (c.wZpPerChannel ? j * c.M : 0), +c.wZpPerChannel, c.M, c.C, T, wp + j * groupBytes);
    expect(rc).toBe(0);
  }
  const desc = box.put(geomDescriptor(c.batch, d.g, 0));
  const scratchBytes = convI8ScratchBytes(d.g);
  expect(box.call('conv_i8_scratch_bytes', desc)).toBe(scratchBytes);
  // Scratch starts dirty: the kernel must write every byte it reads.
  const scratch = box.put(new Uint8Array(scratchBytes).fill(0xa5));
  const n = outCount(c, d);
  const y = box.alloc(n * 4);
  const rc = box.call('conv_i8', desc, box.put(d.x), +c.xSigned, box.put(d.xZp), wp,
    d.bias ? box.put(d.bias) : 0, epilogue(box, c, d), y, scratch);
  expect(rc).toBe(0);
  return readOut(box, c, y, n);
}

/** conv_wino_i8 (Winograd F(2×2, 3×3)) on the same case. */
function runWinograd(box: KernelBox, c: Case, d: Data): number[] {
  const groupBytes = winoWeightBytes(c.M, c.C);
  expect(box.call('conv_w_wino_i8_bytes', c.M, c.C)).toBe(groupBytes);
  const up = box.alloc(groupBytes * c.group);
  const w = box.put(d.w);
  const wZp = box.put(d.wZp);
  for (let j = 0; j < c.group; j++) {
    const rc = box.call('pack_w_wino_i8', w + j * c.M * c.C * 9, +c.wSigned, wZp + (c.wZpPerChannel ? j * c.M : 0), +c.wZpPerChannel, c.M, c.C, up + j * groupBytes);
    expect(rc).toBe(0);
  }
  const desc = box.put(geomDescriptor(c.batch, d.g, 0));
  const scratchBytes = winoScratchBytes(d.g);
  expect(box.call('conv_wino_i8_scratch_bytes', desc)).toBe(scratchBytes);
  const scratch = box.put(new Uint8Array(scratchBytes).fill(0xa5));
  const n = outCount(c, d);
  const y = box.alloc(n * 4);
  const rc = box.call('conv_wino_i8', desc, box.put(d.x), +c.xSigned, box.put(d.xZp), up,
    d.bias ? box.put(d.bias) : 0, epilogue(box, c, d), y, scratch);
  expect(rc).toBe(0);
  return readOut(box, c, y, n);
}

/** conv_dw_i8 (direct, one input channel per group) on the same case. */
function runDepthwise(box: KernelBox, c: Case, d: Data): number[] {
  const KW = c.kernel[c.kernel.length - 1];
  const rows = prod(c.kernel) / KW;
  const channels = c.M * c.group;
  const bytes = dwWeightBytes(channels, rows, KW);
  expect(box.call('conv_w_dw_i8_bytes', channels, rows, KW)).toBe(bytes);
  const wp = box.alloc(bytes);
  expect(box.call('pack_w_dw_i8', box.put(d.w), +c.wSigned, box.put(d.wZp), +c.wZpPerChannel, channels, rows, KW, wp)).toBe(0);
  const n = outCount(c, d);
  const y = box.alloc(n * 4);
  const desc = box.put(geomDescriptor(c.batch, d.g, 0));
  const scratchBytes = dwScratchBytes(d.g);
  expect(box.call('conv_dw_i8_scratch_bytes', desc)).toBe(scratchBytes);
  const rc = box.call('conv_dw_i8', desc, box.put(d.x), +c.xSigned, box.put(d.xZp), wp,
    d.bias ? box.put(d.bias) : 0, epilogue(box, c, d), y, box.alloc(scratchBytes));
  expect(rc).toBe(0);
  return readOut(box, c, y, n);
}

const base = { batch: 1, group: 1, strides: [1, 1], dilations: [1, 1], pads: [0, 0], xSigned: false, wSigned: true, wZpPerChannel: false, bias: false, epi: EPI_I32 };

const CASES: Case[] = [
  { ...base, name: '3x3 pad 1, u8×s8, i32', C: 3, M: 5, inSpatial: [7, 9], kernel: [3, 3], pads: [1, 1] },
  { ...base, name: '2 groups, stride 2, dilation 2, s8×s8, per-channel zp, bias, → s8', batch: 2, group: 2, C: 3, M: 17, inSpatial: [11, 10], kernel: [3, 2], strides: [2, 2], dilations: [2, 2], pads: [2, 1], xSigned: true, wZpPerChannel: true, bias: true, epi: EPI_S8 },
  { ...base, name: 'u8×u8, per-channel zp, bias, → u8', C: 5, M: 16, inSpatial: [5, 6], kernel: [2, 3], pads: [1, 2], wSigned: false, wZpPerChannel: true, bias: true, epi: EPI_U8 },
  { ...base, name: '1-D, stride 3, pad 4, odd K', C: 7, M: 3, inSpatial: [1, 23], kernel: [1, 5], strides: [1, 3], pads: [0, 4], epi: EPI_U8, bias: true },
  { ...base, name: 'depthwise 8 groups, 3x3 stride 2 pad 1', batch: 2, group: 8, C: 1, M: 1, inSpatial: [9, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1], xSigned: true, epi: EPI_S8, bias: true },
  { ...base, name: '1x1, 33 channels, kernel larger than x with padding', C: 4, M: 33, inSpatial: [2, 2], kernel: [3, 3], pads: [1, 1] },
  // Rows long enough for the vector copies into the padded volume (stride 1: 8 columns at a
  // time, stride 2: 16 from an even padded column, with odd and even pads), ragged quads.
  { ...base, name: '3x3 pad 1, 19×41, u8 → u8, per-channel zp, bias', C: 3, M: 6, inSpatial: [19, 41], kernel: [3, 3], pads: [1, 1], wZpPerChannel: true, bias: true, epi: EPI_U8 },
  { ...base, name: '3x3 stride 2 pad 1, 13×70, s8 → s8', C: 2, M: 5, inSpatial: [13, 70], kernel: [3, 3], strides: [2, 2], pads: [1, 1], xSigned: true, epi: EPI_S8, bias: true },
  { ...base, name: '4x4 stride 2 pad 2, 9×53, 9 channels, 20 outputs, → u8', C: 9, M: 20, inSpatial: [9, 53], kernel: [4, 4], strides: [2, 2], pads: [2, 2], wZpPerChannel: true, bias: true, epi: EPI_U8 },
  { ...base, name: '5x5 dilation 2 pad 3, 21×35, i32', C: 2, M: 9, inSpatial: [21, 35], kernel: [5, 5], dilations: [2, 2], pads: [3, 3] },
  { ...base, name: '1-D stride 2, runs of exactly 16 and 17', C: 3, M: 4, inSpatial: [2, 34], kernel: [1, 2], strides: [1, 2], epi: EPI_U8 },
  { ...base, name: '1-D stride 1, run of exactly 16', C: 2, M: 4, inSpatial: [3, 18], kernel: [1, 3], epi: EPI_U8 },
  { ...base, name: 'stride 3 dilation 3 in W, stride 2 in H, 11×40, s8 x, 8 outputs', C: 6, M: 8, inSpatial: [11, 40], kernel: [2, 3], strides: [2, 3], dilations: [1, 3], pads: [1, 2], xSigned: true, bias: true, epi: EPI_S8 },
  { ...base, name: '3-D 2×3×3, stride (2,1,1), pad (1,1,1), 7 channels, 12 outputs', C: 7, M: 12, inSpatial: [5, 6, 19], kernel: [2, 3, 3], strides: [2, 1, 1], dilations: [1, 1, 1], pads: [1, 1, 1], bias: true, epi: EPI_U8 },
  { ...base, name: '1x1 stride 1, 64 channels, 24 outputs, 7×7 (a ResNet tail)', C: 64, M: 24, inSpatial: [7, 7], kernel: [1, 1], bias: true, epi: EPI_U8 },
];

describe('conv_i8__ref', () => {
  it('equals a JS direct convolution (i32 output, per-channel zero points, bias)', () => {
    const c = CASES[1];
    const d = data(c, 5);
    const box = new KernelBox('scalar');
    const got = runRef(box, { ...c, epi: EPI_I32 }, d);
    const s8 = (v: number, signed: boolean) => (signed && v > 127 ? v - 256 : v);
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
          const xv = s8(d.x[(((n * c.group + g) * c.C + ci) * IH + ih) * IW + iw], c.xSigned) - s8(d.xZp[0], c.xSigned);
          const wv = s8(d.w[((ch * c.C + ci) * c.kernel[0] + a) * c.kernel[1] + b], c.wSigned) - s8(d.wZp[ch], c.wSigned);
          s += xv * wv;
        }
        want.push(s);
      }
    }
    expect(got).toEqual(want);
  });
});

describe.each(ALL_BACKENDS)('conv_i8 (%s)', (backend) => {
  it.each(CASES)('$name: bit-exact vs the reference', (c) => {
    const box = new KernelBox(backend);
    for (const seed of [1, 2]) {
      const d = data(c, seed * 100 + c.M);
      expect(runKernel(box, c, d), `seed ${seed}`).toEqual(runRef(box, c, d));
      box.reset();
    }
  });

  it('extreme values: x at the zero point or the far end, 7-bit and 8-bit weights', () => {
    const c: Case = { ...base, name: 'extremes', C: 6, M: 7, inSpatial: [6, 6], kernel: [3, 3], pads: [1, 1], xSigned: false, wSigned: true, epi: EPI_I32 };
    const box = new KernelBox(backend);
    for (const [xv, wv, zp] of [[255, -128, 0], [0, 127, 255], [255, 127, 255], [0, -128, 0]]) {
      const d = data(c, 9);
      d.x.fill(xv);
      d.w.fill(wv & 255);
      d.xZp[0] = zp;
      expect(runKernel(box, c, d), `x ${xv} w ${wv} zp ${zp}`).toEqual(runRef(box, c, d));
      box.reset();
    }
  });
});

const wino = { ...base, kernel: [3, 3], pads: [1, 1] };
const WINO_CASES: Case[] = [
  { ...wino, name: '3x3 pad 1, 7×9, u8×s8, i32', C: 3, M: 5, inSpatial: [7, 9] },
  { ...wino, name: '3x3 pad 1, 19×41, u8 → u8, per-channel zp, bias (full and ragged blocks)', C: 6, M: 9, inSpatial: [19, 41], wZpPerChannel: true, bias: true, epi: EPI_U8 },
  { ...wino, name: '3x3 pad 1, 2 groups, batch 2, 16×32 (whole blocks), s8×s8 → s8', batch: 2, group: 2, C: 5, M: 8, inSpatial: [16, 32], xSigned: true, bias: true, epi: EPI_S8 },
  { ...wino, name: '3x3 pad 0, 12×35, u8×u8, per-channel zp → u8', C: 16, M: 12, inSpatial: [12, 35], pads: [0, 0], wSigned: false, wZpPerChannel: true, epi: EPI_U8 },
  { ...wino, name: '3x3 pad 2, 5×6 (output larger than x), odd C, i32', C: 7, M: 3, inSpatial: [5, 6], pads: [2, 2], bias: true },
  { ...wino, name: '3x3 pad (0, 1), 3×70, 33 channels, 4 outputs → u8', C: 33, M: 4, inSpatial: [3, 70], pads: [0, 1], bias: true, epi: EPI_U8 },
  { ...wino, name: '3x3 pad 1, 1×1 input', C: 2, M: 6, inSpatial: [1, 1], bias: true, epi: EPI_U8 },
];

describe.each(ALL_BACKENDS)('conv_wino_i8 (%s)', (backend) => {
  it.each([...WINO_CASES, CASES[0], CASES[6]])('$name: bit-exact vs the reference', (c) => {
    const box = new KernelBox(backend);
    for (const seed of [1, 2]) {
      const d = data(c, seed * 100 + c.M);
      expect(runWinograd(box, c, d), `seed ${seed}`).toEqual(runRef(box, c, d));
      box.reset();
    }
  });

  it('extreme values up to the largest exact channel count (|Y| just under 2^29)', () => {
    const box = new KernelBox(backend);
    for (const [C, xv, wv, zx, wz] of [[6, 255, 128, 0, 0], [6, 0, 127, 255, 128], [917, 255, 0, 0, 255], [917, 0, 255, 255, 0]]) {
      const c: Case = { ...wino, name: 'extremes', C, M: 5, inSpatial: [6, 18], wSigned: false, wZpPerChannel: true, epi: EPI_I32 };
      const d = data(c, 9);
      d.x.fill(xv);
      d.w.fill(wv);
      d.xZp[0] = zx;
      d.wZp.fill(wz);
      const want = runRef(box, c, d);
      if (C === 917) expect(Math.max(...want.map(Math.abs))).toBe(9 * 917 * 255 * 255);
      expect(runWinograd(box, c, d), `C ${C} x ${xv} w ${wv} zp ${zx}/${wz}`).toEqual(want);
      box.reset();
    }
  });

  it('rejects shapes it does not compute', () => {
    const box = new KernelBox(backend);
    for (const c of [CASES[1], CASES[3], CASES[7], { ...wino, name: 'C over the bound', C: 918, M: 1, inSpatial: [4, 4] }]) {
      const d = data(c, 3);
      const desc = box.put(geomDescriptor(c.batch, d.g, 0));
      expect(box.call('conv_wino_i8_scratch_bytes', desc)).toBe(0);
      expect(box.call('conv_wino_i8', desc, 0, 0, 0, 0, 0, epilogue(box, c, d), 0, 0)).toBe(1);
      box.reset();
    }
  });
});

const dw = { ...base, C: 1, M: 1, bias: true };
const DW_CASES: Case[] = [
  { ...dw, name: '3x3 pad 1, 8 groups, 23×37, u8 → u8, per-channel zp', group: 8, inSpatial: [23, 37], kernel: [3, 3], pads: [1, 1], wZpPerChannel: true, epi: EPI_U8 },
  { ...dw, name: '3x3 pad 1, 2 per group, 9×40, s8×s8 → s8', group: 5, M: 2, inSpatial: [9, 40], kernel: [3, 3], pads: [1, 1], xSigned: true, epi: EPI_S8 },
  { ...dw, name: '5x5 pad 2, 3 per group, 12×29, u8×u8, i32, no bias', group: 3, M: 3, inSpatial: [12, 29], kernel: [5, 5], pads: [2, 2], wSigned: false, bias: false },
  { ...dw, name: '3x3 stride 2 pad 1, 30×31', batch: 2, group: 4, inSpatial: [30, 31], kernel: [3, 3], strides: [2, 2], pads: [1, 1], epi: EPI_U8 },
  { ...dw, name: '3x3 dilation 2 pad 2, 14×33', group: 3, inSpatial: [14, 33], kernel: [3, 3], dilations: [2, 2], pads: [2, 2], epi: EPI_S8 },
  { ...dw, name: '1-D kernel 4, pad 0, width 8 and 9 rows', group: 2, inSpatial: [1, 9], kernel: [1, 4], epi: EPI_U8 },
  { ...dw, name: '1-D kernel 2, width 20 (even taps), pad 1', group: 2, inSpatial: [1, 20], kernel: [1, 2], pads: [0, 1] },
  { ...dw, name: 'kernel wider than the input', group: 2, inSpatial: [3, 4], kernel: [3, 7], pads: [1, 3], epi: EPI_U8 },
];

describe.each(ALL_BACKENDS)('conv_dw_i8 (%s)', (backend) => {
  it.each([...DW_CASES, CASES[4]])('$name: bit-exact vs the reference', (c) => {
    const box = new KernelBox(backend);
    for (const seed of [1, 2]) {
      const d = data(c, seed * 100 + c.group);
      expect(runDepthwise(box, c, d), `seed ${seed}`).toEqual(runRef(box, c, d));
      box.reset();
    }
  });

  it('extreme values: x at the zero point or the far end, 8-bit weights', () => {
    const c: Case = { ...dw, name: 'extremes', group: 3, inSpatial: [6, 30], kernel: [3, 3], pads: [1, 1], wZpPerChannel: true, epi: EPI_I32 };
    const box = new KernelBox(backend);
    for (const [xv, wv, xz, wz] of [[255, 128, 0, 0], [0, 127, 255, 128], [255, 0, 0, 255], [0, 255, 255, 0]]) {
      const d = data(c, 9);
      d.x.fill(xv);
      d.w.fill(wv);
      d.xZp[0] = xz;
      d.wZp.fill(wz);
      expect(runDepthwise(box, c, d), `x ${xv} w ${wv} zp ${xz}/${wz}`).toEqual(runRef(box, c, d));
      box.reset();
    }
  });
});
