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
  { name: 'depthwise 3x3 stride 1 pad 1 (12 groups, 2 outputs each), per-channel scale', op: 'QLinearConv', x: [1, 12, 13, 35], w: [24, 1, 3, 3], xType: 'uint8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: { group: 12, pads: [1, 1, 1, 1] } },
  { name: 'ConvInteger, depthwise, runtime weights', op: 'ConvInteger', x: [1, 4, 6, 21], w: [4, 1, 3, 3], xType: 'int8', wType: 'int8', constW: false, attrs: { group: 4, pads: [0, 1, 2, 1] } },
  { name: '1-D, stride 3, asymmetric pads', op: 'QLinearConv', x: [2, 3, 29], w: [5, 3, 4], xType: 'int8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: { strides: [3], pads: [2, 1] } },
  { name: '1x1, 40 outputs', op: 'QLinearConv', x: [1, 16, 7, 6], w: [40, 16, 1, 1], xType: 'uint8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: {} },
  { name: 'ConvInteger, pads, stride 2', op: 'ConvInteger', x: [2, 3, 10, 11], w: [6, 3, 3, 3], xType: 'uint8', wType: 'uint8', constW: true, attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
  { name: 'ConvInteger, runtime weights, 3 groups, dilation', op: 'ConvInteger', x: [1, 6, 9, 9], w: [9, 2, 2, 2], xType: 'uint8', wType: 'uint8', constW: false, attrs: { group: 3, dilations: [2, 3] } },
  // 3x3 stride 1 with ≥ 32 channels per group and ≥ 12 output columns: the Winograd kernel.
  { name: '3x3 pad 1, 34 channels, 13×19 (Winograd)', op: 'QLinearConv', x: [1, 34, 13, 19], w: [10, 34, 3, 3], xType: 'uint8', wType: 'int8', constW: true, perChannel: true, bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: 'u8×u8, 2 groups of 32, pads (0, 2), batch 2 (Winograd)', op: 'QLinearConv', x: [2, 64, 9, 14], w: [6, 32, 3, 3], xType: 'uint8', wType: 'uint8', constW: true, bias: true, attrs: { group: 2, pads: [0, 2, 1, 0] } },
  { name: 'ConvInteger 3x3, 40 channels, 14×14 (Winograd)', op: 'ConvInteger', x: [1, 40, 14, 14], w: [5, 40, 3, 3], xType: 'uint8', wType: 'int8', constW: true, attrs: {} },
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

/** Round half to even. */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

describe.each(ALL_BACKENDS)('QLinearMatMul opset 21 per-row a parameters (%s)', (backend) => {
  // onnxruntime implements per-tensor a only: check against the formula written in
  // assembly/qlinear_params.ts, y = saturate(rint(f32(acc · f32(f32(a_s[m]·b_s[n]) / y_s))) + y_zp).
  const cases = [
    { name: 'per-batch per-row a [2, M, 1], per-column b [1, N], runtime scales', batchParams: true, runtime: true },
    { name: 'shared per-row a [M, 1] over a batch, constant scales', batchParams: false, runtime: false },
  ];
  it.each(cases)('$name', async ({ batchParams, runtime }) => {
    const r = rng(batchParams ? 3 : 4);
    const [B, M, K, N] = [2, 5, 19, 9];
    const aDims = batchParams ? [B, M, 1] : [M, 1];
    const nA = prod(aDims);
    const a = q8(r, 'int8', B * M * K) as Int8Array;
    const w = q8(r, 'int8', K * N) as Int8Array;
    const aS = Float32Array.from({ length: nA }, () => 0.01 + r() * 0.05);
    const aZ = q8(r, 'int8', nA) as Int8Array;
    const bS = Float32Array.from({ length: N }, () => 0.002 + r() * 0.01);
    const bZ = q8(r, 'int8', N) as Int8Array;
    const yS = new Float32Array([yScaleFor(0.03, 0.007, K)]);
    const yZ = new Int8Array([-5]);
    const bld = new OnnxBuilder({ opset: 21 });
    const feeds: Record<string, Tensor> = { a: new Tensor('int8', a, [B, M, K]) };
    const param = (name: string, type: 'float32' | 'int8', dims: number[], data: Float32Array | Int8Array) => {
      if (!runtime) return bld.init(name, type, dims, data);
      feeds[name] = new Tensor(type, data, dims);
      return bld.input(name, type, dims);
    };
    const y = bld.op('QLinearMatMul', [bld.input('a', 'int8', [B, M, K]), param('a_scale', 'float32', aDims, aS), param('a_zero_point', 'int8', aDims, aZ),
      bld.init('b', 'int8', [K, N], w), param('b_scale', 'float32', [1, N], bS), param('b_zero_point', 'int8', [1, N], bZ),
      param('y_scale', 'float32', [], yS), param('y_zero_point', 'int8', [], yZ)]);
    bld.output(y, 'int8', null);
    const s = await InferenceSession.create(bld.toBytes(), { backend });
    const got = Array.from((await s.run(feeds))[s.outputNames[0]].data as Int8Array);
    const want: number[] = [];
    for (let b = 0; b < B; b++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      const p = batchParams ? b * M + m : m;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (a[(b * M + m) * K + k] - aZ[p]) * (w[k * N + n] - bZ[n]);
      const mult = Math.fround(Math.fround(aS[p] * bS[n]) / yS[0]);
      want.push(Math.min(127, Math.max(-128, rint(Math.fround(acc * mult)) + yZ[0])));
    }
    expect(got).toEqual(want);
    expect(new Set(got).size).toBeGreaterThan(20);
  });
});

describe('bad quantisation parameters are load errors naming the node', () => {
  interface Bad {
    name: string;
    code: string;
    build: (b: OnnxBuilder) => string;
  }
  const f = (b: OnnxBuilder, dims: number[], v = 0.02) => b.const('float32', dims, new Array<number>(prod(dims)).fill(v));
  const u = (b: OnnxBuilder, dims: number[], type: Q8 = 'uint8') => b.const(type, dims, new Array<number>(prod(dims)).fill(3));
  const qmm = (b: OnnxBuilder, o: { aS?: number[]; aZ?: number[]; aZType?: Q8; bS?: number[]; bZ?: number[]; yZ?: number[]; yS?: string }) =>
    b.op('QLinearMatMul', [b.input('a', 'uint8', [4, 6]), f(b, o.aS ?? []), u(b, o.aZ ?? [], o.aZType), b.init('w', 'uint8', [6, 5], new Uint8Array(30)),
      f(b, o.bS ?? []), u(b, o.bZ ?? []), o.yS ?? f(b, []), u(b, o.yZ ?? [])], {}, { name: 'qmm' });
  const qconv = (b: OnnxBuilder, o: { wS?: number[]; wZ?: number[]; wZType?: Q8; bias?: number[] }) =>
    b.op('QLinearConv', [b.input('x', 'uint8', [1, 2, 5, 5]), f(b, []), u(b, []), b.init('w', 'uint8', [3, 2, 3, 3], new Uint8Array(54)),
      f(b, o.wS ?? []), u(b, o.wZ ?? [], o.wZType), f(b, []), u(b, []), ...(o.bias ? [b.const('int32', o.bias, new Array<number>(prod(o.bias)).fill(1))] : [])],
    {}, { name: 'qconv' });
  const CASES: Bad[] = [
    { name: 'a_scale with neither one value nor one per row', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qmm(b, { aS: [3], aZ: [3] }) },
    { name: 'b_scale per row instead of per column', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qmm(b, { bS: [6, 1], bZ: [6, 1] }) },
    { name: 'a_scale and a_zero_point of different shapes', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qmm(b, { aS: [4, 1], aZ: [] }) },
    { name: 'y_zero_point with several values', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qmm(b, { yZ: [2] }) },
    { name: 'a_zero_point of the wrong type', code: 'LOWBIT_TYPE_MISMATCH', build: (b) => qmm(b, { aZType: 'int8' }) },
    { name: 'an int32 y_scale', code: 'LOWBIT_UNSUPPORTED', build: (b) => qmm(b, { yS: b.const('int32', [], [1]) }) },
    { name: 'w_scale not one per output channel', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qconv(b, { wS: [4], wZ: [4] }) },
    { name: 'w_zero_point of the wrong type', code: 'LOWBIT_TYPE_MISMATCH', build: (b) => qconv(b, { wZType: 'int8' }) },
    { name: 'bias of the wrong length', code: 'LOWBIT_SHAPE_MISMATCH', build: (b) => qconv(b, { bias: [2] }) },
  ];
  it.each(CASES)('$name', async (c) => {
    const b = new OnnxBuilder({ opset: 13 });
    b.output(c.build(b), 'uint8', null);
    const err = await InferenceSession.create(b.toBytes(), { backend: 'scalar' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LowbitError);
    expect(err).toMatchObject({ code: c.code });
    expect((err as Error).message).toMatch(/node 'q(mm|conv)'/);
  });
});
