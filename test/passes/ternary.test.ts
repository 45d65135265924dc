// The ternary rule (src/passes/ternary.ts): W2A8 QDQ layers (DQ of INT2 weights) and implicit
// {−s_n, 0, +s_n} float weights behind Q→DQ int8/uint8 activations become ai.lowbit
// TernaryMatMul / TernaryConv; graph in → graph out, what it leaves alone, and the numbers on
// every build:
//   - requantised outputs bit-exact against onnxruntime-node on the int8 twin (the same weights
//     as INT8), which onnxruntime fuses into QLinearMatMul / QGemm / QLinearConv — the integer
//     form this op computes; and within one quantum of the literal float graph (onnxruntime at
//     'basic' level, which runs INT2 DequantizeLinear unfused), whose per-product roundings can
//     move a .5 tie;
//   - float outputs bit-exact against the documented formula act(f32(acc)·f32(sx·sw[n]) + b[n])
//     evaluated in JS on the exact integer acc, and within float rounding of the float graph:
//     |y − ref| ≤ 2^−20·max|ref| (the graph rounds each of its K ≤ 300 products and partial
//     sums to f32; measured ≤ 2^−23·max|ref| here).

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { Graph } from '../../src/ir/graph.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { ternaryPass } from '../../src/passes/ternary.js';
import { ALL_BACKENDS } from '../support/kernels.js';
import { layerData, layerInput, ternaryModel, type LayerData, type TernaryCase, type WeightForm } from '../support/ternary-models.js';

const graphOf = (bytes: Uint8Array): Graph => decodeModel(bytes).graph;
const ops = (g: Graph) => g.nodes.map((n) => `${n.domain === '' ? '' : `${n.domain}::`}${n.opType}`);

const base: TernaryCase = {
  name: '', kind: 'MatMul', x: [5, 70], N: 13, xType: 'uint8', sx: 0.0173, perChannel: true, bias: 'none', act: 'none', q: true,
};
const conv3 = { kind: 'Conv' as const, kernel: [3, 3], attrs: { pads: [1, 1, 1, 1] } };

/** form: how the model under test writes W; ortFuses: onnxruntime runs the int8 twin as one integer node. */
const CASES: (TernaryCase & { form: WeightForm; becomes: string; runs?: string; ortFuses: boolean })[] = [
  { ...base, name: 'INT2 MatMul per channel, u8 → u8', form: 'int2', becomes: 'TernaryMatMul', ortFuses: true },
  { ...base, name: 'INT2 MatMul per tensor, s8, A [2, 3, K]', x: [2, 3, 129], xType: 'int8', perChannel: false, form: 'int2', becomes: 'TernaryMatMul', ortFuses: true },
  { ...base, name: 'INT2 Gemm transB + int32 bias, s8 → s8', kind: 'Gemm', x: [7, 300], N: 33, xType: 'int8', attrs: { transB: 1 }, bias: 'int32', form: 'int2', becomes: 'TernaryMatMul', ortFuses: true },
  { ...base, name: 'INT2 Gemm + Relu → u8 (a clamp in the quantised domain)', kind: 'Gemm', x: [4, 90], N: 9, attrs: { transB: 1 }, bias: 'int32', act: 'relu', form: 'int2', becomes: 'TernaryMatMul', ortFuses: false },
  { ...base, name: 'INT2 Conv 3×3 pad 1 + int32 bias, u8 → u8', ...conv3, x: [2, 20, 7, 6], N: 12, bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'conv_i8', ortFuses: true },
  { ...base, name: 'INT2 Conv group 2, stride 2, dilation 2, s8, per tensor', kind: 'Conv', kernel: [3, 3], attrs: { group: 2, strides: [2, 2], dilations: [2, 2], pads: [2, 1, 2, 1] }, x: [1, 16, 11, 9], N: 6, xType: 'int8', perChannel: false, form: 'int2', becomes: 'TernaryConv', runs: 'conv_i8', ortFuses: true },
  { ...base, name: 'INT2 Conv 1×1 (no im2col) + Clip → u8', kind: 'Conv', kernel: [1, 1], x: [1, 48, 5, 5], N: 8, act: 'clip', bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'conv_i8', ortFuses: false },
  { ...base, name: 'implicit f32 MatMul, float output', x: [6, 100], sx: 2 ** -6, q: false, form: 'f32', becomes: 'TernaryMatMul', ortFuses: false },
  { ...base, name: 'implicit f32 Gemm transB, float bias, Relu, float output', kind: 'Gemm', x: [3, 64], N: 17, sx: 2 ** -5, attrs: { transB: 1 }, bias: 'float', act: 'relu', q: false, xType: 'int8', form: 'f32', becomes: 'TernaryMatMul', ortFuses: false },
  { ...base, name: 'implicit f32 Conv + float bias + Clip, float output', ...conv3, x: [1, 9, 6, 8], N: 5, sx: 2 ** -7, bias: 'float', act: 'clip', q: false, form: 'f32', becomes: 'TernaryConv', runs: 'conv_i8', ortFuses: false },
  { ...base, name: 'INT2 Conv, float output (no Q)', ...conv3, x: [1, 10, 5, 5], N: 4, sx: 2 ** -6, bias: 'int32', q: false, form: 'int2', becomes: 'TernaryConv', runs: 'conv_i8', ortFuses: false },
  { ...base, name: 'implicit f32 Gemm, float bias + Q (no integer form: Q kept)', kind: 'Gemm', x: [4, 50], N: 7, bias: 'float', form: 'f32', becomes: 'TernaryMatMul', ortFuses: false },
  // K = T·C ≥ 512: the ternary im2col kernel; smaller K, or Winograd, or depthwise: the int8 conv kernels.
  { ...base, name: 'INT2 Conv 3×3 pad 1, 32 channels × 14 columns (K = 288, few outputs), u8 → u8', ...conv3, x: [1, 32, 5, 14], N: 6, bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'tconv_t2i8', ortFuses: true },
  { ...base, name: 'INT2 Conv 3×3 pad 1, K = 576, u8 → u8', ...conv3, x: [1, 64, 5, 6], N: 10, bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'tconv_t2i8', ortFuses: true },
  { ...base, name: 'INT2 Conv 1×1 stride 2, K = 530, per tensor, s8 → s8', kind: 'Conv', kernel: [1, 1], attrs: { strides: [2, 2] }, x: [2, 530, 3, 4], N: 7, xType: 'int8', perChannel: false, form: 'int2', becomes: 'TernaryConv', runs: 'tconv_t2i8', ortFuses: true },
  { ...base, name: 'INT2 Conv 3×3 pad 1, 32 channels, 32×33 outputs (Winograd), u8 → u8', ...conv3, x: [1, 32, 32, 33], N: 6, bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'conv_wino_i8', ortFuses: true },
  { ...base, name: 'INT2 depthwise Conv 3×3 pad 1, 6 groups, u8 → u8', ...conv3, attrs: { group: 6, pads: [1, 1, 1, 1] }, x: [1, 6, 7, 9], N: 6, bias: 'int32', form: 'int2', becomes: 'TernaryConv', runs: 'conv_dw_i8', ortFuses: true },
];

describe('ternary rewrites', () => {
  it('DQ(INT2) MatMul → Q becomes one TernaryMatMul on the integer tensors, QuantParams bits 2', () => {
    const c = CASES[0];
    const g = graphOf(ternaryModel(c, layerData(c, 1), 'int2'));
    expect(runPasses(g).fired).toEqual({ ternary: 1 });
    expect(ops(g)).toEqual(['QuantizeLinear', 'ai.lowbit::TernaryMatMul']);
    const n = g.nodes[1];
    expect(n.inputs.slice(0, 3)).toEqual([g.nodes[0].outputs[0], 'sx', 'zx']);
    expect(n.inputs.slice(5)).toEqual(['', 'sy', 'zy']);
    expect(n.outputs).toEqual(['out']);
    const codes = g.initializers.get(n.inputs[3])!;
    expect([codes.dtype, codes.dims]).toEqual(['int8', [70, 13]]);
    expect(g.quant.get(n.inputs[3])).toMatchObject({ bits: 2, signed: true, narrow: true, axis: 1, blockSize: 0 });
    expect(g.quant.get(n.inputs[3])!.scale.length).toBe(13);
    expect(g.quant.get('out')).toMatchObject({ bits: 8, signed: false });
  });

  it('a ReLU before the Q becomes y_min; float outputs carry act_min/act_max; a float bias keeps the Q', () => {
    const relu = graphOf(ternaryModel(CASES[3], layerData(CASES[3], 2), 'int2'));
    runPasses(relu);
    const t = relu.nodes.find((n) => n.opType === 'TernaryMatMul')!;
    expect([t.attrs.get('y_min')?.value, t.attrs.get('y_max')?.value, t.attrs.get('trans_b')?.value]).toEqual([128, 255, 1]);
    const flt = graphOf(ternaryModel(CASES[9], layerData(CASES[9], 3), 'f32'));
    runPasses(flt);
    expect(ops(flt)).toEqual(['QuantizeLinear', 'ai.lowbit::TernaryConv', 'Identity']);
    const tc = flt.nodes[1];
    expect([tc.attrs.get('act_min')?.value, tc.attrs.get('act_max')?.value]).toEqual([-0.5, 0.75]);
    expect(tc.attrs.get('pads')?.value).toEqual([1, 1, 1, 1]);
    expect(tc.inputs).toHaveLength(6);
    const kept = graphOf(ternaryModel(CASES[11], layerData(CASES[11], 4), 'f32'));
    runPasses(kept);
    expect(ops(kept)).toEqual(['QuantizeLinear', 'ai.lowbit::TernaryMatMul', 'QuantizeLinear']);
  });

  const unchanged: [string, TernaryCase, WeightForm, (d: LayerData) => void][] = [
    ['implicit weights without a zero (±s only: the binary rule\'s)', { ...base, zeros: 0 }, 'f32', () => {}],
    ['an INT2 weight of −2 (no ternary code)', base, 'int2', (d) => { d.codes[5] = -2; }],
    ['INT8 weights (the int8 rule\'s)', base, 'int8', () => {}],
  ];
  it.each(unchanged)('leaves the layer alone when %s', (_, c, form, spoil) => {
    const d = layerData(c, 5);
    spoil(d);
    const g = graphOf(ternaryModel(c, d, form));
    expect(runPasses(g, [ternaryPass]).fired).toEqual({});
    expect(ops(g)).toContain('MatMul');
  });

  it('leaves float activations (no DequantizeLinear) and two magnitudes in a channel alone', () => {
    const d = layerData(base, 6);
    const g = graphOf(ternaryModel(base, d, 'f32'));
    const mm = g.nodes.find((n) => n.opType === 'MatMul')!;
    mm.inputs[0] = 'x';
    expect(runPasses(g, [ternaryPass]).fired).toEqual({});
    const g2 = graphOf(ternaryModel(base, d, 'f32'));
    const w = new Float32Array(g2.initializers.get('W')!.bytes.buffer);
    const at = w.findIndex((v) => v !== 0);
    w[at] *= 2;
    expect(runPasses(g2, [ternaryPass]).fired).toEqual({});
  });
});

type Feeds = Record<string, ort.Tensor>;

async function runOrt(bytes: Uint8Array, feeds: Feeds, level: 'all' | 'basic'): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: level });
  return Array.from((await s.run(feeds)).out.data as ArrayLike<number>);
}

/** The float layer's documented value for every output, from the exact integer accumulators. */
function floatFormula(c: TernaryCase, d: LayerData, q: Int32Array): number[] {
  const per = (n: number) => Math.fround(Math.fround(c.sx) * d.sw[c.perChannel ? n : 0]);
  const act = (v: number) => (c.act === 'relu' ? Math.max(v, 0) : c.act === 'clip' ? Math.min(Math.max(v, -0.5), 0.75) : v);
  const biasOf = (n: number) => (d.bias ? (d.bias instanceof Int32Array ? Math.fround(Math.fround(d.bias[n]) * per(n)) : d.bias[n]) : undefined);
  const y = (acc: number, n: number) => {
    let v = Math.fround(Math.fround(acc) * per(n));
    const b = biasOf(n);
    if (b !== undefined) v = Math.fround(v + b);
    return act(v);
  };
  const out: number[] = [];
  if (c.kind !== 'Conv') {
    const K = d.K, rows = q.length / K;
    const transB = c.attrs?.transB === 1;
    for (let m = 0; m < rows; m++) for (let n = 0; n < c.N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (q[m * K + k] - d.zx) * d.codes[transB ? n * K + k : k * c.N + n];
      out.push(y(acc, n));
    }
    return out;
  }
  const [B, C, H, W] = c.x;
  const [KH, KW] = c.kernel!;
  const pads = (c.attrs?.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const OH = H + pads[0] + pads[2] - KH + 1, OW = W + pads[1] + pads[3] - KW + 1;
  for (let b = 0; b < B; b++) for (let n = 0; n < c.N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let acc = 0;
    for (let ci = 0; ci < C; ci++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const ih = oh - pads[0] + i, iw = ow - pads[1] + j;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      acc += (q[((b * C + ci) * H + ih) * W + iw] - d.zx) * d.codes[((n * C + ci) * KH + i) * KW + j];
    }
    out.push(y(acc, n));
  }
  return out;
}

describe.each(ALL_BACKENDS)('ternary layers against onnxruntime-node (%s)', (backend) => {
  it.each(CASES)('$name', async (c) => {
    const d = layerData(c, c.N * 7 + c.x.length);
    const bytes = ternaryModel(c, d, c.form);
    const { x, q } = layerInput(c, d, c.N);
    const s = await InferenceSession.create(bytes, { backend });
    const report = s.inspect();
    expect(report.passes).toMatchObject({ ternary: 1 });
    const layer = report.nodes.find((n) => n.name === 'layer')!;
    expect([layer.opType, layer.domain, layer.exact]).toEqual([c.becomes, 'ai.lowbit', true]);
    const kernel = c.runs ?? 'tgemm_t2i8';
    expect(layer.kernels).toContain(kernel);
    expect(layer.math).toMatch(kernel.startsWith('t') ? /^ternary×int8→int32/ : /^int8/);
    const requant = c.q && c.bias !== 'float';
    // Requantised: the QuantizeLinear after the layer is gone (the layer writes the integers).
    expect(report.nodes.some((n) => n.name === 'qy')).toBe(c.q && !requant);
    const got = Array.from((await s.run({ x: new Tensor('float32', x, c.x) })).out.data as ArrayLike<number>);
    await s.release();
    const feeds = { x: new ort.Tensor('float32', x, c.x) };
    const literal = await runOrt(bytes, feeds, 'basic');
    expect(got.length).toBe(literal.length);
    if (requant) {
      const twin = await runOrt(ternaryModel(c, d, 'int8'), feeds, 'all');
      if (c.ortFuses) expect(got).toEqual(twin);
      else expect(got.filter((v, i) => v !== twin[i]).length).toBeLessThanOrEqual(Math.ceil(got.length / 50));
      expect(Math.max(...got.map((v, i) => Math.abs(v - literal[i])))).toBeLessThanOrEqual(1);
      expect(new Set(got).size).toBeGreaterThan(8);
      return;
    }
    if (!c.q) expect(got).toEqual(floatFormula(c, d, q));
    const scale = Math.max(...literal.map(Math.abs));
    const tol = c.q ? 1 : 2 ** -20 * scale;
    expect(Math.max(...got.map((v, i) => Math.abs(v - literal[i])))).toBeLessThanOrEqual(tol);
  });
});

describe('ternary weights in memory', () => {
  it('keep 2 bits per weight: N·⌈K/64⌉·16 bytes plus the row sums and scales', async () => {
    const c: TernaryCase = { ...base, x: [1, 1024], N: 64, q: false, sx: 2 ** -6 };
    const s = await InferenceSession.create(ternaryModel(c, layerData(c, 9), 'f32'), { backend: 'simd' });
    const { weightsBytes } = s.inspect().memory;
    const packed = 64 * Math.ceil(1024 / 64) * 16;
    expect(weightsBytes).toBeGreaterThanOrEqual(packed);
    expect(weightsBytes).toBeLessThanOrEqual(packed + 8 * 64 + 256); // f32 weights would be 256 KiB
  });
});
