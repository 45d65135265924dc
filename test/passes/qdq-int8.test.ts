// The int8 layer rules (src/passes/qdq-int8.ts, dynamic-int8.ts): graph in → graph out on small
// built models, what they leave alone, and the rewritten graphs' numbers against
// onnxruntime-node — requantised outputs within one quantum (ties may round apart: the float
// graph and the integer kernel approximate the same real value), the dynamic chain bit-exact.
// Graph inputs and outputs are the integer tensors themselves, so no QuantizeLinear /
// DequantizeLinear remains to run after the rewrite.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { Graph } from '../../src/ir/graph.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { dynamicInt8Pass } from '../../src/passes/dynamic-int8.js';
import { runPasses } from '../../src/passes/index.js';
import { qdqInt8Pass } from '../../src/passes/qdq-int8.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

type Kind = 'Gemm' | 'MatMul' | 'Conv';

interface Layer {
  kind: Kind;
  M: number;
  K: number;
  N: number;
  /** Int32 bias on the accumulator's scale; 'off-scale' uses a different bias scale. */
  bias: 'none' | 'int32' | 'off-scale' | 'float';
  act: 'none' | 'relu' | 'clip';
  /** Requantise (Q after the layer) or leave the float output. */
  q: boolean;
  yZp: number;
  xSigned: boolean;
}

const ints = (r: () => number, n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));

/** x_q (graph input) → DQ → kind(DQ(W per channel), bias) → act → [Q → output y_q]. */
function layerModel(c: Layer, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: 17 });
  const xt = c.xSigned ? 'int8' : 'uint8';
  const conv = c.kind === 'Conv';
  const x = b.input('x', xt, conv ? [c.M, c.K, 3, 3] : [c.M, c.K]);
  const sx = 0.02 + r() * 0.01;
  const dx = b.op('DequantizeLinear', [x, b.init('sx', 'float32', [], [sx]), b.init('zx', xt, [], [c.xSigned ? -3 : 120])], {}, { name: 'dqx' });
  const sw = Array.from({ length: c.N }, () => Math.fround(0.002 + r() * 0.004));
  const wDims = conv ? [c.N, c.K, 3, 3] : c.kind === 'Gemm' ? [c.N, c.K] : [c.K, c.N];
  const wq = b.init('W', 'int8', wDims, ints(r, wDims.reduce((p, d) => p * d, 1), -127, 127));
  const dw = b.op('DequantizeLinear', [wq, b.init('sw', 'float32', [c.N], sw), b.init('zw', 'int8', [c.N], new Array(c.N).fill(0))], { axis: c.kind === 'MatMul' ? 1 : 0 }, { name: 'dqw' });
  const inputs = [dx, dw];
  if (c.bias === 'float') inputs.push(b.init('Bf', 'float32', [c.N], Array.from({ length: c.N }, () => r() - 0.5)));
  else if (c.bias !== 'none') {
    const sb = sw.map((s) => Math.fround(Math.fround(sx) * s) * (c.bias === 'off-scale' ? 1.5 : 1));
    inputs.push(b.op('DequantizeLinear', [b.init('Bq', 'int32', [c.N], ints(r, c.N, -3000, 3000)), b.init('sb', 'float32', [c.N], sb), b.init('zb', 'int32', [c.N], new Array(c.N).fill(0))], { axis: 0 }, { name: 'dqb' }));
  }
  const attrs: Record<string, AttrInput> = c.kind === 'Gemm' ? { transB: 1 } : conv ? { pads: [1, 1, 1, 1] } : {};
  let y = b.op(c.kind, inputs, attrs, { name: 'layer', outputs: ['y'] });
  if (c.act === 'relu') y = b.op('Relu', [y], {}, { outputs: ['ya'] });
  if (c.act === 'clip') y = b.op('Clip', [y, b.init('lo', 'float32', [], [-0.5]), b.init('hi', 'float32', [], [0.8])], {}, { outputs: ['ya'] });
  const yDims = conv ? [c.M, c.N, 3, 3] : [c.M, c.N];
  if (c.q) {
    const yt = c.xSigned ? 'int8' : 'uint8';
    b.op('QuantizeLinear', [y, b.init('sy', 'float32', [], [0.01]), b.init('zy', yt, [], [c.yZp])], {}, { name: 'qy', outputs: ['out'] });
    b.output('out', yt, yDims);
  } else {
    b.op('Identity', [y], {}, { outputs: ['out'] });
    b.output('out', 'float32', yDims);
  }
  return b.toBytes();
}

const INT8_RULES = [qdqInt8Pass, dynamicInt8Pass];
const graphOf = (bytes: Uint8Array): Graph => decodeModel(bytes).graph;
const ops = (g: Graph) => g.nodes.map((n) => `${n.domain === '' ? '' : `${n.domain}::`}${n.opType}`);
const base: Layer = { kind: 'Gemm', M: 5, K: 37, N: 19, bias: 'int32', act: 'none', q: true, yZp: 128, xSigned: false };

describe('qdq-int8 rewrites', () => {
  it('DQ → Gemm(transB, per-channel W, int32 bias) → Q becomes one QGemm on the integer tensors', () => {
    const g = graphOf(layerModel(base, 1));
    const rep = runPasses(g);
    expect(rep.fired).toEqual({ 'qdq-int8': 1 });
    expect(ops(g)).toEqual(['ai.lowbit::QGemm']);
    const n = g.nodes[0];
    expect(n.inputs).toEqual(['x', 'sx', 'zx', 'W', 'sw', 'zw', 'Bq', 'sy', 'zy']);
    expect(n.outputs).toEqual(['out']);
    expect(Object.fromEntries([...n.attrs].map(([k, v]) => [k, v.value]))).toEqual({ trans_b: 1 });
    expect(g.quant.get('x')).toMatchObject({ bits: 8, signed: false, blockSize: 0 });
    expect(g.quant.get('x')!.zeroPoint).toEqual(Int32Array.from([120]));
    expect(g.quant.get('W')).toMatchObject({ axis: 0, bits: 8, signed: true });
    expect(g.quant.get('W')!.scale.length).toBe(19);
    expect(g.quant.get('out')!.zeroPoint).toEqual(Int32Array.from([128]));
  });

  it('MatMul without bias → QLinearMatMul; Conv → QLinearConv with its attributes', () => {
    const g1 = graphOf(layerModel({ ...base, kind: 'MatMul', bias: 'none' }, 2));
    runPasses(g1);
    expect(ops(g1)).toEqual(['QLinearMatMul']);
    expect(g1.nodes[0].inputs).toEqual(['x', 'sx', 'zx', 'W', 'sw', 'zw', 'sy', 'zy']);
    const g2 = graphOf(layerModel({ ...base, kind: 'Conv', M: 2, K: 3, N: 4 }, 3));
    runPasses(g2);
    expect(ops(g2)).toEqual(['QLinearConv']);
    expect(g2.nodes[0].inputs).toEqual(['x', 'sx', 'zx', 'W', 'sw', 'zw', 'sy', 'zy', 'Bq']);
    expect(g2.nodes[0].attrs.get('pads')?.value).toEqual([1, 1, 1, 1]);
  });

  it('a ReLU / Clip before Q becomes a clamp of the quantised value; ReLU with y_zp = qmin is dropped', () => {
    const relu = graphOf(layerModel({ ...base, act: 'relu' }, 4));
    runPasses(relu);
    expect(ops(relu)).toEqual(['ai.lowbit::QGemm']);
    expect(relu.nodes[0].attrs.get('y_min')?.value).toBe(128);
    expect(relu.nodes[0].attrs.get('y_max')?.value).toBe(255);
    const clip = graphOf(layerModel({ ...base, act: 'clip' }, 5));
    runPasses(clip);
    // Q(−0.5) = −50 + 128, Q(0.8) = 80 + 128.
    expect([clip.nodes[0].attrs.get('y_min')?.value, clip.nodes[0].attrs.get('y_max')?.value]).toEqual([78, 208]);
    const plain = graphOf(layerModel({ ...base, act: 'relu', yZp: 0, kind: 'MatMul', bias: 'none' }, 6));
    runPasses(plain);
    expect(ops(plain)).toEqual(['QLinearMatMul']);
  });

  it('no Q after the layer: QGemmToFloat with f32(sx·sw[n]) and the bias dequantised as DequantizeLinear does', () => {
    const g = graphOf(layerModel({ ...base, q: false, act: 'relu' }, 7));
    expect(runPasses(g).fired).toEqual({ 'qdq-int8': 1 });
    expect(ops(g)).toEqual(['ai.lowbit::QGemmToFloat', 'Identity']);
    const n = g.nodes[0];
    expect(n.inputs.slice(0, 4)).toEqual(['x', 'zx', 'W', 'zw']);
    expect(n.attrs.get('act_min')?.value).toBe(0);
    const scale = new Float32Array(g.initializers.get(n.inputs[4])!.bytes.slice().buffer);
    const sx = new Float32Array(g.initializers.get('sx')!.bytes.slice().buffer)[0];
    const sw = new Float32Array(g.initializers.get('sw')!.bytes.slice().buffer);
    expect(Array.from(scale)).toEqual(Array.from(sw, (s) => Math.fround(sx * s)));
    expect(n.outputs).toEqual(['ya']);
  });

  it('an int32 bias off the accumulator scale cannot be requantised exactly: float output, Q kept', () => {
    const g = graphOf(layerModel({ ...base, bias: 'off-scale' }, 8));
    runPasses(g);
    expect(ops(g)).toEqual(['ai.lowbit::QGemmToFloat', 'QuantizeLinear']);
  });

  it('a Conv without an integer form (float bias before a Q; no Q) outputs f32 on QConvToFloat, the Relu and Q kept', () => {
    const g = graphOf(layerModel({ ...base, kind: 'Conv', M: 1, K: 2, N: 3, bias: 'float', act: 'relu' }, 9));
    expect(runPasses(g, INT8_RULES).fired).toEqual({ 'qdq-int8': 1 });
    expect(ops(g)).toEqual(['ai.lowbit::QConvToFloat', 'Relu', 'QuantizeLinear']);
    expect(g.nodes[0].inputs).toEqual(['x', 'zx', 'W', 'zw', 'y_acc_scale', 'Bf']);
    expect(g.nodes[0].outputs).toEqual(['y']);
    expect(g.nodes[0].attrs.get('pads')?.value).toEqual([1, 1, 1, 1]);
    const f = graphOf(layerModel({ ...base, kind: 'Conv', M: 1, K: 2, N: 3, q: false }, 9));
    runPasses(f, INT8_RULES);
    expect(ops(f)).toEqual(['ai.lowbit::QConvToFloat', 'Identity']);
    expect(f.nodes[0].inputs.at(-1)).toBe('y_bias');
  });

  const unchanged: Array<[string, () => Uint8Array]> = [
    ['W is not a constant', () => {
      const b = new OnnxBuilder({ opset: 17 });
      const dx = b.op('DequantizeLinear', [b.input('x', 'uint8', [2, 4]), b.init('sx', 'float32', [], [0.1])]);
      const dw = b.op('DequantizeLinear', [b.input('w', 'int8', [4, 3]), b.init('sw', 'float32', [], [0.1])]);
      b.output(b.op('MatMul', [dx, dw], {}, { outputs: ['y'] }), 'float32', [2, 3]);
      return b.toBytes();
    }],
    ['x is dequantised per channel', () => {
      const b = new OnnxBuilder({ opset: 17 });
      const dx = b.op('DequantizeLinear', [b.input('x', 'uint8', [2, 4]), b.init('sx', 'float32', [4], [0.1, 0.2, 0.3, 0.4])], { axis: 1 });
      const dw = b.op('DequantizeLinear', [b.init('w', 'int8', [4, 3], new Array(12).fill(1)), b.init('sw', 'float32', [], [0.1])]);
      b.output(b.op('MatMul', [dx, dw], {}, { outputs: ['y'] }), 'float32', [2, 3]);
      return b.toBytes();
    }],
    ['W is quantised per channel along K', () => {
      const b = new OnnxBuilder({ opset: 17 });
      const dx = b.op('DequantizeLinear', [b.input('x', 'uint8', [2, 4]), b.init('sx', 'float32', [], [0.1])]);
      const dw = b.op('DequantizeLinear', [b.init('w', 'int8', [4, 3], new Array(12).fill(1)), b.init('sw', 'float32', [4], [1, 2, 3, 4])], { axis: 0 });
      b.output(b.op('MatMul', [dx, dw], {}, { outputs: ['y'] }), 'float32', [2, 3]);
      return b.toBytes();
    }],
    ['Gemm alpha 2', () => {
      const b = new OnnxBuilder({ opset: 17 });
      const dx = b.op('DequantizeLinear', [b.input('x', 'uint8', [2, 4]), b.init('sx', 'float32', [], [0.1])]);
      const dw = b.op('DequantizeLinear', [b.init('w', 'int8', [4, 3], new Array(12).fill(1)), b.init('sw', 'float32', [], [0.1])]);
      b.output(b.op('Gemm', [dx, dw], { alpha: 2 }, { outputs: ['y'] }), 'float32', [2, 3]);
      return b.toBytes();
    }],
  ];

  it.each(unchanged)('leaves the graph as it was when %s', (_, make) => {
    const g = graphOf(make());
    const before = JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })));
    // Only the int8 layer rules: dq-matmul may still take such a weight onto its f32 kernel.
    expect(runPasses(g, INT8_RULES)).toEqual({ fired: {}, removedNodes: 0 });
    expect(JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })))).toBe(before);
    expect(g.quant.size).toBe(0);
  });

  it('a layer output with another reader keeps its producer: the float form feeds both', () => {
    const bytes = layerModel(base, 10);
    const g = graphOf(bytes);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [5, 19] });
    runPasses(g);
    expect(ops(g)).toEqual(['ai.lowbit::QGemmToFloat', 'QuantizeLinear']);
    expect(g.nodes[0].outputs).toEqual(['y']);
  });
});

async function runBoth(bytes: Uint8Array, feeds: Record<string, { type: 'uint8' | 'int8' | 'float32'; data: Uint8Array | Int8Array | Float32Array; dims: number[] }>, backend: (typeof ALL_BACKENDS)[number]) {
  const s = await InferenceSession.create(bytes, { backend });
  const got = (await s.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new Tensor(f.type, f.data, f.dims)])))).out.data as ArrayLike<number>;
  const fired = s._engine.passes.fired;
  await s.release();
  const r = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const want = (await r.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)])))).out.data as ArrayLike<number>;
  return { got: Array.from(got), want: Array.from(want), fired };
}

const E2E: Layer[] = [
  { ...base, M: 64, K: 784, N: 256 },
  { ...base, M: 3, K: 33, N: 17, act: 'relu', yZp: 20 },
  { ...base, M: 7, K: 40, N: 9, xSigned: true, yZp: -5, act: 'clip' },
  { ...base, kind: 'MatMul', bias: 'none', M: 6, K: 50, N: 21 },
  { ...base, kind: 'Conv', M: 2, K: 5, N: 6 },
];

describe.each(ALL_BACKENDS)('rewritten layers against onnxruntime-node (%s)', (backend) => {
  it.each(E2E)('$kind M=$M K=$K N=$N act=$act: requantised outputs within one quantum', async (c) => {
    const bytes = layerModel(c, c.K * 7 + c.N);
    const n = c.kind === 'Conv' ? c.M * c.K * 9 : c.M * c.K;
    const r = rng(c.N);
    const x = c.xSigned ? Int8Array.from(ints(r, n, -128, 127)) : Uint8Array.from(ints(r, n, 0, 255));
    const { got, want, fired } = await runBoth(bytes, { x: { type: c.xSigned ? 'int8' : 'uint8', data: x, dims: c.kind === 'Conv' ? [c.M, c.K, 3, 3] : [c.M, c.K] } }, backend);
    expect(fired).toEqual({ 'qdq-int8': 1 });
    expect(got.length).toBe(want.length);
    const off = got.filter((v, i) => v !== want[i]).length;
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThanOrEqual(1);
    expect(off).toBeLessThanOrEqual(Math.ceil(got.length / 100));
    expect(new Set(got).size).toBeGreaterThan(10);
  });

  it('float-output Conv (QConvToFloat, int32 bias): within float rounding of the float graph', async () => {
    const c: Layer = { ...base, kind: 'Conv', q: false, M: 2, K: 7, N: 5 };
    const x = Uint8Array.from(ints(rng(5), c.M * c.K * 9, 0, 255));
    const { got, want, fired } = await runBoth(layerModel(c, 12), { x: { type: 'uint8', data: x, dims: [c.M, c.K, 3, 3] } }, backend);
    expect(fired).toEqual({ 'qdq-int8': 1 });
    const scale = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * scale);
  });

  it('float output (QGemmToFloat, ReLU): within float rounding of the float graph', async () => {
    const c: Layer = { ...base, q: false, act: 'relu', M: 9, K: 300, N: 33 };
    const x = Uint8Array.from(ints(rng(4), c.M * c.K, 0, 255));
    const { got, want } = await runBoth(layerModel(c, 11), { x: { type: 'uint8', data: x, dims: [c.M, c.K] } }, backend);
    const scale = Math.max(...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * scale);
    expect(got.filter((v) => v === 0).length).toBeGreaterThan(0);
  });
});

/** quantize_dynamic's chain with the DynamicQuantizeLinear's outputs as graph inputs. */
function dynamicModel(M: number, K: number, N: number, opts: { relu: boolean; castTo?: number; rowScale?: boolean }, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: 17 });
  const a = b.input('a', 'uint8', [M, K]);
  const as = b.input('a_scale', 'float32', opts.rowScale ? [M, 1] : []);
  const az = b.input('a_zp', 'uint8', []);
  const s = b.op('Mul', [as, b.init('w_scale', 'float32', [], [0.0071])]);
  const mm = b.op('MatMulInteger', [a, b.init('W', 'int8', [K, N], ints(r, K * N, -127, 127)), az, b.init('w_zp', 'int8', [], [0])]);
  const f = b.op('Cast', [mm], { to: opts.castTo ?? 1 });
  let y = b.op('Add', [b.init('bias', 'float32', [N], Array.from({ length: N }, () => r() - 0.5)), b.op('Mul', [f, s])]);
  if (opts.relu) y = b.op('Relu', [y]);
  b.op('Identity', [y], {}, { outputs: ['out'] });
  b.output('out', opts.castTo === 11 ? 'float64' : 'float32', [M, N]);
  return b.toBytes();
}

describe('dynamic-int8 rewrites', () => {
  it('MatMulInteger → Cast → Mul → Add → Relu becomes one QGemmToFloat reading the graph\'s own scale product', () => {
    const g = graphOf(dynamicModel(3, 8, 5, { relu: true }, 1));
    expect(runPasses(g).fired).toEqual({ 'dynamic-int8': 1 });
    expect(ops(g)).toEqual(['Mul', 'ai.lowbit::QGemmToFloat', 'Identity']);
    const n = g.nodes[1];
    expect(n.inputs.slice(0, 4)).toEqual(['a', 'a_zp', 'W', 'w_zp']);
    expect(n.inputs[4]).toBe(g.nodes[0].outputs[0]);
    expect(n.inputs[5]).toBe('bias');
    expect(n.attrs.get('act_min')?.value).toBe(0);
    expect(g.quant.get('W')).toMatchObject({ bits: 8, signed: true, axis: 1 });
  });

  it.each([
    ['the Cast is to double', { relu: false, castTo: 11 }],
    ['the scale is per row ([M, 1] broadcasts differently)', { relu: false, rowScale: true }],
  ] as const)('leaves the graph as it was when %s', (_, opts) => {
    const g = graphOf(dynamicModel(3, 8, 5, opts, 2));
    const before = JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })));
    expect(runPasses(g, INT8_RULES).fired).toEqual({});
    expect(JSON.stringify(g.nodes.map((n) => ({ ...n, attrs: [...n.attrs] })))).toBe(before);
  });

  it.each(ALL_BACKENDS)('%s: bit-exact with onnxruntime-node', async (backend) => {
    const [M, K, N] = [13, 300, 37];
    const r = rng(5);
    const feeds = {
      a: { type: 'uint8' as const, data: Uint8Array.from(ints(r, M * K, 0, 255)), dims: [M, K] },
      a_scale: { type: 'float32' as const, data: new Float32Array([0.0123]), dims: [] },
      a_zp: { type: 'uint8' as const, data: new Uint8Array([117]), dims: [] },
    };
    const { got, want, fired } = await runBoth(dynamicModel(M, K, N, { relu: true }, 6), feeds, backend);
    expect(fired).toEqual({ 'dynamic-int8': 1 });
    expect(got).toEqual(want);
  });
});
