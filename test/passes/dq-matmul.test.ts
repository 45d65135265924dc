// The dq-matmul rule: DequantizeLinear(constant low-bit W) → MatMul/Gemm B becomes ai.lowbit
// MatMulQW (graph-in → graph-out), runs exactly against float64 maths on the same quantized
// values, and keeps W `bits` wide in session memory.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor, type Backend } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Graph } from '../../src/ir/graph.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, randomF32, rng } from '../support/kernels.js';
import { bounds } from '../support/nbits-models.js';
import { encodeSource, randomWeights, refF64, SRC_KN, SRC_NK, ZP_BYTES, ZP_NONE, ZP_PACKED, type PlainWeights } from '../support/qweights.js';

type Granularity = 'tensor' | 'channel' | 'block';

interface Case {
  name: string;
  wtype: DType;
  gran: Granularity;
  /** Block size for 'block'. */
  bs?: number;
  K: number;
  N: number;
  zp: boolean;
  /** MatMul (W [K,N]) or Gemm with transB (W [N,K]) and C. */
  consumer: 'MatMul' | 'Gemm' | 'GemmT';
  lead: number[];
}

const BITS: Record<string, number> = { int2: 2, uint2: 2, int4: 4, uint4: 4, int8: 8, uint8: 8 };

interface Built {
  bytes: Uint8Array;
  w: PlainWeights;
  bias: Float32Array | null;
}

/**
 * A model y = consumer(a, DequantizeLinear(W, scale, zp)). The plain weights hold the same
 * (q − zp)·scale values, with one block spanning K for per-channel and per-tensor scales.
 */
function build(c: Case, seed: number, dqAttrs: Record<string, AttrInput> = {}): Built {
  const r = rng(seed);
  const bits = BITS[c.wtype];
  const signed = c.wtype.startsWith('int');
  const bs = c.gran === 'block' ? c.bs! : c.K;
  const w = randomWeights(r, c.N, c.K, bits, bs, !c.zp);
  if (!c.zp && !signed) w.zp.fill(0);
  if (c.gran === 'tensor') {
    w.scale.fill(w.scale[0]);
    w.zp.fill(w.zp[0]);
  }
  const transB = c.consumer === 'GemmT';
  const zpLayout = !c.zp ? ZP_NONE : bits === 8 ? ZP_BYTES : ZP_PACKED;
  const s = encodeSource(w, transB ? SRC_NK : SRC_KN, signed, zpLayout);
  const kb = Math.ceil(c.K / bs);
  const sDims = c.gran === 'tensor' ? [] : c.gran === 'channel' ? [c.N] : transB ? [c.N, kb] : [kb, c.N];
  const nScale = c.gran === 'tensor' ? 1 : c.N * kb;
  const b = new OnnxBuilder({ opset: 21 });
  const a = b.input('a', 'float32', [...c.lead, c.K]);
  const W = b.init('W', c.wtype, transB ? [c.N, c.K] : [c.K, c.N], s.src);
  const S = b.init('S', 'float32', sDims, s.scale.slice(0, nScale));
  const Z = c.zp ? b.init('Z', c.wtype, sDims, c.gran === 'tensor' ? s.zp!.slice(0, 1).map((x) => x & ((1 << bits) - 1)) : s.zp!) : '';
  const kAxis = transB ? 1 : 0;
  const attrs: Record<string, AttrInput> = c.gran === 'block' ? { axis: kAxis, block_size: bs } : c.gran === 'channel' ? { axis: 1 - kAxis } : {};
  const dq = b.op('DequantizeLinear', Z ? [W, S, Z] : [W, S], { ...attrs, ...dqAttrs }, { name: 'dq', outputs: ['Wf'] });
  const bias = c.consumer === 'MatMul' ? null : randomF32(r, c.N);
  if (c.consumer === 'MatMul') b.op('MatMul', [a, dq], {}, { name: 'mm', outputs: ['y'] });
  else b.op('Gemm', [a, dq, b.init('C', 'float32', [c.N], bias!)], transB ? { transB: 1 } : {}, { name: 'mm', outputs: ['y'] });
  b.output('y', 'float32', [...c.lead, c.N]);
  return { bytes: b.toBytes(), w, bias };
}

const CASES: Case[] = [
  { name: 'int4 blocked 32 along K, zero point, MatMul, batched A', wtype: 'int4', gran: 'block', bs: 32, K: 77, N: 13, zp: true, consumer: 'MatMul', lead: [2, 3] },
  { name: 'uint4 blocked 16, no zero point (0), Gemm transB + C', wtype: 'uint4', gran: 'block', bs: 16, K: 40, N: 9, zp: false, consumer: 'GemmT', lead: [5] },
  { name: 'uint4 per-channel, zero point, MatMul GEMV', wtype: 'uint4', gran: 'channel', K: 50, N: 11, zp: true, consumer: 'MatMul', lead: [1] },
  { name: 'int4 per-channel, no zero point, Gemm transB', wtype: 'int4', gran: 'channel', K: 64, N: 17, zp: false, consumer: 'GemmT', lead: [4] },
  { name: 'int4 per-tensor, zero point, Gemm', wtype: 'int4', gran: 'tensor', K: 33, N: 6, zp: true, consumer: 'Gemm', lead: [3] },
  { name: 'int2 blocked 64, zero point', wtype: 'int2', gran: 'block', bs: 64, K: 130, N: 7, zp: true, consumer: 'MatMul', lead: [6] },
  { name: 'uint2 per-channel, no zero point', wtype: 'uint2', gran: 'channel', K: 31, N: 5, zp: false, consumer: 'MatMul', lead: [2] },
  { name: 'int8 per-channel, zero point, Gemm transB', wtype: 'int8', gran: 'channel', K: 45, N: 8, zp: true, consumer: 'GemmT', lead: [9] },
  { name: 'uint8 blocked 128, zero point, 1-D A', wtype: 'uint8', gran: 'block', bs: 128, K: 200, N: 4, zp: true, consumer: 'MatMul', lead: [] },
];

const graphOf = (bytes: Uint8Array): Graph => decodeModel(bytes).graph;

describe('dq-matmul rewrites', () => {
  it('int4 blocked DequantizeLinear → MatMul becomes MatMulQW with the original initializers, and QuantParams on W', () => {
    const { bytes, w } = build(CASES[0], 1);
    const g = graphOf(bytes);
    const rep = runPasses(g);
    expect(rep.fired).toEqual({ 'dq-matmul': 1 });
    expect(rep.removedNodes).toBe(1);
    expect(g.nodes.map((n) => `${n.domain}::${n.opType}`)).toEqual(['ai.lowbit::MatMulQW']);
    const n = g.nodes[0];
    expect(n.name).toBe('mm');
    expect(n.inputs).toEqual(['a', 'W', 'S', 'Z']);
    expect(n.outputs).toEqual(['y']);
    expect(Object.fromEntries([...n.attrs].map(([k, v]) => [k, v.value]))).toEqual({ bits: 4, signed: 1, trans_b: 0, block_size: 32 });
    const q = g.quant.get('W')!;
    expect(q).toMatchObject({ axis: 0, blockSize: 32, bits: 4, signed: true, narrow: false });
    expect(q.scale.length).toBe(3 * 13);
    // Scales and zero points in the scale's [kb, N] order; zero points signed.
    expect(q.scale[13 + 2]).toBe(w.scale[2 * 3 + 1]);
    expect(q.zeroPoint[13 + 2]).toBe(w.zp[2 * 3 + 1] - 8);
    expect(g.opsets.get('ai.lowbit')).toBe(1);
  });

  it('Gemm transB with C: C becomes the bias and trans_b = 1', () => {
    const g = graphOf(build(CASES[1], 2).bytes);
    runPasses(g);
    expect(g.nodes).toHaveLength(1);
    expect(g.nodes[0].inputs).toEqual(['a', 'W', 'S', '', 'C']);
    expect(g.nodes[0].attrs.get('trans_b')?.value).toBe(1);
    expect(g.quant.get('W')).toMatchObject({ axis: 1, blockSize: 16, bits: 4, signed: false });
  });

  it('one DequantizeLinear feeding two MatMuls rewrites both', () => {
    const b = new OnnxBuilder({ opset: 21 });
    const a = b.input('a', 'float32', [2, 32]);
    const W = b.init('W', 'int4', [32, 4], new Uint8Array(64).fill(0x21));
    const dq = b.op('DequantizeLinear', [W, b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 });
    b.output(b.op('MatMul', [a, dq], {}, { outputs: ['y1'] }), 'float32', [2, 4]);
    b.output(b.op('MatMul', [b.op('Relu', [a]), dq], {}, { outputs: ['y2'] }), 'float32', [2, 4]);
    const g = graphOf(b.toBytes());
    expect(runPasses(g).fired).toEqual({ 'dq-matmul': 1 });
    expect(g.nodes.map((n) => n.opType)).toEqual(['MatMulQW', 'Relu', 'MatMulQW']);
  });

  const unchanged: Array<[string, () => Uint8Array]> = [
    ['W is a graph input (not constant)', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float32', [2, 32]);
      const W = b.input('W', 'int4', [32, 4]);
      b.output(b.op('MatMul', [a, b.op('DequantizeLinear', [W, b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 })], {}, { outputs: ['y'] }), 'float32', [2, 4]);
      return b.toBytes();
    }],
    ['the dequantized W has another consumer', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float32', [2, 32]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 });
      b.output(b.op('MatMul', [a, dq], {}, { outputs: ['y'] }), 'float32', [2, 4]);
      b.output(b.op('Relu', [dq], {}, { outputs: ['r'] }), 'float32', [32, 4]);
      return b.toBytes();
    }],
    ['the dequantized W is a graph output', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float32', [2, 32]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 }, { outputs: ['Wf'] });
      b.output(b.op('MatMul', [a, dq], {}, { outputs: ['y'] }), 'float32', [2, 4]);
      b.output('Wf', 'float32', [32, 4]);
      return b.toBytes();
    }],
    ['the dequantized W is MatMul input A', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const x = b.input('x', 'float32', [4, 2]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 });
      b.output(b.op('MatMul', [dq, x], {}, { outputs: ['y'] }), 'float32', [32, 2]);
      return b.toBytes();
    }],
    ['blocks of 24 (not a multiple of 16)', () => build({ ...CASES[0], bs: 24 }, 3).bytes],
    ['per-channel along K (axis 0 of a MatMul B)', () => build({ ...CASES[2], N: 50 }, 4, { axis: 0 }).bytes],
    ['blocks along N', () => build({ ...CASES[0], K: 13, N: 77, lead: [1] }, 5, { axis: 1 }).bytes],
    ['Gemm alpha 2', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float32', [2, 32]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 });
      b.output(b.op('Gemm', [a, dq], { alpha: 2.5 }, { outputs: ['y'] }), 'float32', [2, 4]);
      return b.toBytes();
    }],
    ['Gemm C of shape [2,4] (not a bias)', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float32', [2, 32]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float32', [4], [1, 2, 3, 4])], { axis: 1 });
      b.output(b.op('Gemm', [a, dq, b.init('C', 'float32', [2, 4], new Float32Array(8))], {}, { outputs: ['y'] }), 'float32', [2, 4]);
      return b.toBytes();
    }],
    ['float16 scale', () => {
      const b = new OnnxBuilder({ opset: 21 });
      const a = b.input('a', 'float16', [2, 32]);
      const dq = b.op('DequantizeLinear', [b.init('W', 'int4', [32, 4], new Uint8Array(64)), b.init('S', 'float16', [4], new Uint16Array(4).fill(0x3c00))], { axis: 1 });
      b.output(b.op('MatMul', [a, dq], {}, { outputs: ['y'] }), 'float16', [2, 4]);
      return b.toBytes();
    }],
  ];

  it.each(unchanged)('leaves the graph as it was when %s', (_, make) => {
    const g = graphOf(make());
    const before = JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })));
    const rep = runPasses(g);
    expect(rep).toEqual({ fired: {}, removedNodes: 0 });
    expect(JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })))).toBe(before);
    expect(g.quant.size).toBe(0);
    expect(g.opsets.has('ai.lowbit')).toBe(false);
  });
});

const U = 2 ** -24;

async function run(bytes: Uint8Array, a: Float32Array, dims: number[], backend: Backend): Promise<{ y: Float32Array; session: InferenceSession }> {
  const session = await InferenceSession.create(bytes, { backend });
  const out = await session.run({ a: new Tensor('float32', a, dims) });
  return { y: out.y.data as Float32Array, session };
}

describe.each(ALL_BACKENDS)('DequantizeLinear → MatMul/Gemm end to end (%s)', (backend) => {
  it.each(CASES)('$name: float64 within (K+2)·2^-24·Σ|w·a|', async (c) => {
    const seed = c.K * 100 + c.N;
    const { bytes, w, bias } = build(c, seed);
    const M = c.lead.reduce((p, d) => p * d, 1);
    const a = randomF32(rng(seed + 1), M * c.K);
    const { y, session } = await run(bytes, a, [...c.lead, c.K], backend);
    expect(session._engine.passes.fired).toEqual({ 'dq-matmul': 1 });
    const { y: want, mag } = refF64(w, a, M, bias);
    expect(y.length).toBe(M * c.N);
    for (let i = 0; i < y.length; i++) {
      const bound = (c.K + 2) * U * mag[i];
      if (!(Math.abs(y[i] - want[i]) <= bound)) expect.fail(`${c.name}: y[${i}] = ${y[i]}, float64 ${want[i]} (bound ${bound})`);
    }
  });
});

describe('onnxruntime-node on the same models (its int8 activations: within the int8 bound of float64)', () => {
  it.each([CASES[0], CASES[2], CASES[3]])('$name', async (c) => {
    const { bytes, w, bias } = build(c, 31);
    const M = c.lead.reduce((p, d) => p * d, 1);
    const a = randomF32(rng(32), M * c.K);
    const ref = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const r = (await ref.run({ a: new ort.Tensor('float32', a, [...c.lead, c.K]) })).y.data as Float32Array;
    const b = bounds(w, a, M, bias);
    for (let i = 0; i < r.length; i++) {
      if (!(Math.abs(r[i] - b.y[i]) <= b.int8[i])) expect.fail(`${c.name}: onnxruntime y[${i}] = ${r[i]}, float64 ${b.y[i]} (int8 bound ${b.int8[i]})`);
    }
  });
});

describe('a 4-bit weight costs 4 bits and a 2-bit weight 2 bits in session memory', () => {
  it.each([
    ['int4 blocked 32', { wtype: 'int4', gran: 'block', bs: 32 }, 512 / 32],
    ['uint4 per-channel', { wtype: 'uint4', gran: 'channel' }, 1],
    ['int2 blocked 64', { wtype: 'int2', gran: 'block', bs: 64 }, 512 / 64],
    ['uint2 blocked 32', { wtype: 'uint2', gran: 'block', bs: 32 }, 512 / 32],
    ['int2 per-channel', { wtype: 'int2', gran: 'channel' }, 1],
  ] as const)('%s: the W region is exactly K·N·bits/8 + 5 bytes per (channel, block)', async (_, g, blocks) => {
    const c: Case = { name: 'size', K: 512, N: 256, zp: true, consumer: 'MatMul', lead: [2], ...g };
    const { bytes } = build(c, 9);
    const { y, session } = await run(bytes, randomF32(rng(1), 2 * c.K), [2, c.K], 'scalar');
    // Packed `bits`-wide weights, one f32 scale and one u8 zero point per block of each channel;
    // the low-bit initializer itself (and any f32 copy of W) is not kept.
    expect(session._engine.weights.size).toBe((c.K * c.N * BITS[c.wtype]) / 8 + c.N * blocks * 5);
    expect(y.length).toBe(2 * c.N);
  });
});
