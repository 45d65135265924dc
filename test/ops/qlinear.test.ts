// QLinearMatMul, MatMulInteger, QLinearConv, ConvInteger through the public API: bit-exact vs
// onnxruntime-node on random models (every build), per-row parameters (which onnxruntime does
// not implement) vs the written formula, and bad quantisation parameters as load errors.
//
// onnxruntime's u8×s8 kernels may use pmaddubsw on CPUs without VNNI, whose i16 pair sums
// saturate for 8-bit weights, so u8-activation × s8-weight models draw weights from [−64, 63];
// the full 8-bit range is checked bit-exactly against the scalar reference in the kernel tests.

import { describe, expect, it } from 'vitest';
import { InferenceSession, LowbitError, Tensor } from '../../src/index.js';
import { differential, formatReport, type Feeds, type FeedValue } from '../../scripts/lib/differential.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

type Q8 = 'uint8' | 'int8';
const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

function q8(r: () => number, type: Q8, n: number, narrow = false): Int8Array | Uint8Array {
  const lo = type === 'uint8' ? 0 : narrow ? -64 : -128;
  const span = type === 'uint8' ? 256 : narrow ? 128 : 256;
  const v = Array.from({ length: n }, () => lo + Math.floor(r() * span));
  return type === 'uint8' ? Uint8Array.from(v) : Int8Array.from(v);
}

const feed = (type: Q8 | 'float32', data: FeedValue['data'], dims: readonly number[]): FeedValue => ({ type, data, dims });

interface MatCase {
  name: string;
  op: 'QLinearMatMul' | 'MatMulInteger';
  a: number[];
  b: number[];
  aType: Q8;
  bType: Q8;
  /** B is an initializer (packed once) rather than a graph input. */
  constB: boolean;
  /** B's scale / zero point per column ([1, N]; [N] for MatMulInteger). */
  perCol?: boolean;
}

/** Output scale that spreads y over its range: acc has spread ≈ √K·74² for full-range operands. */
const yScaleFor = (aS: number, bS: number, K: number) => (aS * bS * Math.sqrt(K) * 74 * 74) / 60;

function buildMatMul(c: MatCase, seed: number): { bytes: Uint8Array; feeds: Feeds } {
  const r = rng(seed);
  const K = c.a[c.a.length - 1];
  const N = c.b.length === 1 ? 1 : c.b[c.b.length - 1];
  const narrow = c.aType === 'uint8' && c.bType === 'int8';
  const bld = new OnnxBuilder({ opset: 10 });
  const feeds: Feeds = { a: feed(c.aType, q8(r, c.aType, prod(c.a)), c.a) };
  const a = bld.input('a', c.aType, c.a);
  const bData = q8(r, c.bType, prod(c.b), narrow);
  let b: string;
  if (c.constB) b = bld.init('b', c.bType, c.b, bData);
  else {
    b = bld.input('b', c.bType, c.b);
    feeds.b = feed(c.bType, bData, c.b);
  }
  // Per column: [1, N] (QLinearMatMul) or [N] (MatMulInteger) for 2-D B, [...batch, 1, N] for batched B.
  const qDims = !c.perCol ? [] : c.b.length > 2 ? [...c.b.slice(0, -2), 1, N] : c.op === 'QLinearMatMul' ? [1, N] : [N];
  const nq = prod(qDims);
  const aZp = bld.const(c.aType, [], q8(r, c.aType, 1));
  const bZp = bld.const(c.bType, qDims, q8(r, c.bType, nq, narrow));
  let y: string;
  if (c.op === 'MatMulInteger') y = bld.op('MatMulInteger', [a, b, aZp, bZp]);
  else {
    const aS = 0.01 + r() * 0.04;
    const bS = Float32Array.from({ length: nq }, () => 0.002 + r() * 0.01);
    const yS = yScaleFor(aS, bS[0], K);
    y = bld.op('QLinearMatMul', [a, bld.const('float32', [], [aS]), aZp, b, bld.const('float32', qDims, bS), bZp,
      bld.const('float32', [], [yS]), bld.const(c.aType, [], q8(r, c.aType, 1))]);
  }
  bld.output(y, c.op === 'MatMulInteger' ? 'int32' : c.aType, null);
  return { bytes: bld.toBytes(), feeds };
}

const MAT_CASES: MatCase[] = [
  { name: 'u8×u8 2-D, constant B', op: 'QLinearMatMul', a: [0, 13], b: [13, 7], aType: 'uint8', bType: 'uint8', constB: true },
  { name: 'u8×s8, per-column b scale and zero point', op: 'QLinearMatMul', a: [0, 33], b: [33, 17], aType: 'uint8', bType: 'int8', constB: true, perCol: true },
  { name: 's8×s8, runtime B, batch broadcast', op: 'QLinearMatMul', a: [2, 0, 10], b: [1, 10, 5], aType: 'int8', bType: 'int8', constB: false },
  { name: 'u8×u8, 3-D A against one constant B (one tall GEMM)', op: 'QLinearMatMul', a: [3, 0, 9], b: [9, 19], aType: 'uint8', bType: 'uint8', constB: true },
  { name: 'u8×s8, runtime per-batch B, per-column params', op: 'QLinearMatMul', a: [2, 0, 7], b: [2, 7, 6], aType: 'uint8', bType: 'int8', constB: false, perCol: true },
  { name: '1-D a', op: 'QLinearMatMul', a: [21], b: [21, 11], aType: 'uint8', bType: 'uint8', constB: true },
  { name: '1-D b', op: 'QLinearMatMul', a: [0, 12], b: [12], aType: 'int8', bType: 'int8', constB: false },
  { name: 'MatMulInteger u8×u8, constant B', op: 'MatMulInteger', a: [0, 15], b: [15, 9], aType: 'uint8', bType: 'uint8', constB: true },
  { name: 'MatMulInteger u8×s8, runtime B, per-column zero point, 3-D', op: 'MatMulInteger', a: [2, 0, 31], b: [2, 31, 18], aType: 'uint8', bType: 'int8', constB: false, perCol: true },
  { name: 'MatMulInteger s8×s8, per-column zero point', op: 'MatMulInteger', a: [0, 64], b: [64, 33], aType: 'int8', bType: 'int8', constB: true, perCol: true },
];

/** Fills the 0 in a case's A shape (the M slot) with m. */
const withM = (c: MatCase, m: number): MatCase => ({ ...c, a: c.a.map((d) => (d === 0 ? m : d)) });

const EXACT = { rtol: 0, atol: 0 };

describe.each(ALL_BACKENDS)('QLinearMatMul / MatMulInteger vs onnxruntime-node (%s)', (backend) => {
  it.each(MAT_CASES)('$name, M 1..9', async (c) => {
    for (const m of c.a.includes(0) ? [1, 2, 3, 4, 5, 8, 9] : [1]) {
      const { bytes, feeds } = buildMatMul(withM(c, m), 17 * m + c.b[0]);
      const rep = await differential(bytes, feeds, EXACT, backend);
      expect(rep.ok, `M ${m}\n${formatReport(rep)}`).toBe(true);
    }
  });
});

interface ConvCase {
  name: string;
  op: 'QLinearConv' | 'ConvInteger';
  x: number[];
  w: number[];
  xType: Q8;
  wType: Q8;
  constW: boolean;
  perChannel?: boolean;
  bias?: boolean;
  attrs: Record<string, AttrInput>;
}

function buildConv(c: ConvCase, seed: number): { bytes: Uint8Array; feeds: Feeds } {
  const r = rng(seed);
  const M = c.w[0];
  const K = prod(c.w.slice(1));
  const narrow = c.xType === 'uint8' && c.wType === 'int8';
  const bld = new OnnxBuilder({ opset: 10 });
  const feeds: Feeds = { x: feed(c.xType, q8(r, c.xType, prod(c.x)), c.x) };
  const x = bld.input('x', c.xType, c.x);
  const wData = q8(r, c.wType, prod(c.w), narrow);
  let w: string;
  if (c.constW) w = bld.init('w', c.wType, c.w, wData);
  else {
    w = bld.input('w', c.wType, c.w);
    feeds.w = feed(c.wType, wData, c.w);
  }
  const xZp = bld.const(c.xType, [], q8(r, c.xType, 1));
  // onnxruntime requires one weight zero point value even when it is given per channel.
  const wZpValue = q8(r, c.wType, 1, narrow)[0];
  const nq = c.perChannel ? M : 1;
  const qDims = c.perChannel ? [M] : [];
  const wZp = bld.const(c.wType, qDims, new Array<number>(nq).fill(wZpValue));
  let y: string;
  if (c.op === 'ConvInteger') y = bld.op('ConvInteger', [x, w, xZp, wZp], c.attrs);
  else {
    const xS = 0.01 + r() * 0.04;
    const wS = Float32Array.from({ length: nq }, () => 0.002 + r() * 0.01);
    const yS = yScaleFor(xS, wS[0], K);
    const ins = [x, bld.const('float32', [], [xS]), xZp, w, bld.const('float32', qDims, wS), wZp,
      bld.const('float32', [], [yS]), bld.const(c.xType, [], q8(r, c.xType, 1))];
    if (c.bias) ins.push(bld.const('int32', [M], Int32Array.from({ length: M }, () => Math.floor((r() - 0.5) * 40000))));
    y = bld.op('QLinearConv', ins, c.attrs);
  }
  bld.output(y, c.op === 'ConvInteger' ? 'int32' : c.xType, null);
  return { bytes: bld.toBytes(), feeds };
}

const CONV_CASES: ConvCase[] = [
  { name: 'u8×s8, per-channel w_scale, bias, 2 groups, stride 2, pads', op: 'QLinearConv', x: [2, 6, 11, 9], w: [10, 3, 3, 3], xType: 'uint8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: { group: 2, strides: [2, 2], pads: [1, 0, 2, 1] } },
  { name: 's8×s8, stride 2/1, SAME_UPPER, bias', op: 'QLinearConv', x: [1, 5, 12, 13], w: [7, 5, 4, 3], xType: 'int8', wType: 'int8', constW: true, bias: true, attrs: { strides: [2, 1], auto_pad: 'SAME_UPPER' } },
  { name: 's8×s8, dilation 2, per-channel scale', op: 'QLinearConv', x: [1, 5, 12, 13], w: [7, 5, 3, 3], xType: 'int8', wType: 'int8', constW: true, perChannel: true, attrs: { dilations: [2, 2], pads: [2, 1, 0, 3] } },
  { name: 'u8×u8, runtime weights, per-channel scale', op: 'QLinearConv', x: [1, 4, 9, 10], w: [17, 4, 2, 3], xType: 'uint8', wType: 'uint8', constW: false, perChannel: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: 'depthwise 3x3 stride 2 pad 1 (8 groups)', op: 'QLinearConv', x: [2, 8, 15, 14], w: [8, 1, 3, 3], xType: 'uint8', wType: 'uint8', constW: true, bias: true, attrs: { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] } },
  { name: '1-D, stride 3, asymmetric pads', op: 'QLinearConv', x: [2, 3, 29], w: [5, 3, 4], xType: 'int8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: { strides: [3], pads: [2, 1] } },
  { name: '1x1, 40 outputs', op: 'QLinearConv', x: [1, 16, 7, 6], w: [40, 16, 1, 1], xType: 'uint8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: {} },
  { name: 'ConvInteger, pads, stride 2', op: 'ConvInteger', x: [2, 3, 10, 11], w: [6, 3, 3, 3], xType: 'uint8', wType: 'uint8', constW: true, attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 'ConvInteger, runtime weights, 3 groups, dilation', op: 'ConvInteger', x: [1, 6, 9, 9], w: [9, 2, 2, 2], xType: 'uint8', wType: 'uint8', constW: false, attrs: { group: 3, dilations: [2, 3] } },
];

describe.each(ALL_BACKENDS)('QLinearConv / ConvInteger vs onnxruntime-node (%s)', (backend) => {
  it.each(CONV_CASES)('$name', async (c) => {
    for (const seed of [1, 2]) {
      const { bytes, feeds } = buildConv(c, seed * 1000 + c.w[0]);
      const rep = await differential(bytes, feeds, EXACT, backend);
      expect(rep.ok, `seed ${seed}\n${formatReport(rep)}`).toBe(true);
    }
  });
});
