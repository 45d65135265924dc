// The binary rule: MatMul/Gemm/Conv with ±s_n per-channel weights become ai.lowbit binary ops
// (graph-in → graph-out), agree with onnxruntime-node on every build, and keep one bit per weight.
//
// Tolerance. Scales are s_n = (1 + j/128)·2^e (8 significant bits, e ∈ [−6, 0]) and biases
// multiples of 2^−8, so with K ≤ 1024 every partial sum of ±s_n (and of the bias) is a multiple of
// 2^−13 below 2^10: exact in f32 in any order. ORT's float result is then the exact value, and
// lowbit's f32(dot)·s_n + bias differs from it by at most the rounding of that final multiply
// and add: |y − ref| ≤ 2^−23·|ref| (here in fact 0).

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

type Act = 'bipolar' | 'sign' | 'float' | 'where_pm2';
type Weights = 'pm_s' | 'one_off' | 'mixed' | 'zero';

interface Case {
  name: string;
  layer: 'MatMul' | 'Gemm' | 'Conv';
  act: Act;
  weights: Weights;
  /** ai.lowbit op it must become, or null for "left on the float path". */
  becomes: string | null;
  attrs?: Record<string, AttrInput>;
  /** MatMul/Gemm: M, K, N. Conv: [N, C, H, W] input, M outputs, kernel k, group. */
  M?: number; K?: number; N?: number;
  conv?: { n: number; c: number; hw: number; m: number; k: number; group: number };
  bias?: boolean;
  /** A Relu or Clip [−0.25, 0.5] after the layer, which fuse-activation folds into its epilogue. */
  then?: 'Relu' | 'Clip';
}

const CASES: Case[] = [
  { name: 'bipolar → MatMul, ragged K', layer: 'MatMul', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryMatMul', M: 5, K: 200, N: 13 },
  { name: 'bipolar → Gemm transB + bias', layer: 'Gemm', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryMatMul', M: 7, K: 129, N: 9, attrs: { transB: 1 }, bias: true },
  { name: 'bipolar → MatMul GEMV, K = 1024', layer: 'MatMul', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryMatMul', M: 1, K: 1024, N: 64 },
  { name: 'bipolar → Conv 3×3 pad 1 + bias', layer: 'Conv', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryConv', conv: { n: 2, c: 40, hw: 7, m: 6, k: 3, group: 1 }, attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: 'bipolar → Conv stride 2, group 2', layer: 'Conv', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryConv', conv: { n: 1, c: 64, hw: 9, m: 8, k: 3, group: 2 }, attrs: { pads: [1, 0, 1, 0], strides: [2, 2], group: 2 } },
  { name: 'bipolar → Conv + Relu (fused)', layer: 'Conv', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryConv', conv: { n: 1, c: 32, hw: 6, m: 5, k: 3, group: 1 }, attrs: { pads: [1, 1, 1, 1] }, bias: true, then: 'Relu' },
  { name: 'bipolar → Gemm + Clip (fused)', layer: 'Gemm', act: 'bipolar', weights: 'pm_s', becomes: 'BinaryMatMul', M: 4, K: 300, N: 11, bias: true, then: 'Clip' },
  { name: 'f32 → MatMul (no sign: float path)', layer: 'MatMul', act: 'float', weights: 'pm_s', becomes: null, M: 6, K: 77, N: 10 },
  { name: 'Sign → MatMul (Sign(0) = 0: float path)', layer: 'MatMul', act: 'sign', weights: 'pm_s', becomes: null, M: 4, K: 100, N: 8 },
  { name: 'Sign → Conv (Sign(0) = 0: float path)', layer: 'Conv', act: 'sign', weights: 'pm_s', becomes: null, conv: { n: 1, c: 8, hw: 5, m: 4, k: 3, group: 1 } },
  { name: 'Where(Less(x, 0), −1, +2) is not a sign', layer: 'MatMul', act: 'where_pm2', weights: 'pm_s', becomes: null, M: 3, K: 40, N: 6 },
  { name: 'one weight not ±s', layer: 'MatMul', act: 'bipolar', weights: 'one_off', becomes: null, M: 3, K: 40, N: 6 },
  { name: 'mixed magnitudes in a channel', layer: 'Conv', act: 'bipolar', weights: 'mixed', becomes: null, conv: { n: 1, c: 8, hw: 5, m: 4, k: 3, group: 1 } },
  { name: 'a zero weight', layer: 'Gemm', act: 'bipolar', weights: 'zero', becomes: null, M: 3, K: 40, N: 6 },
];

/** s_n = (1 + j/128)·2^e: few significant bits, so float sums of ±s_n are exact (see the top). */
function channelScales(r: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (1 + Math.floor(r() * 128) / 128) * 2 ** -Math.floor(r() * 7));
}

/** W with element (n, j) at n·cs + j·js equal to ±s_n, then spoiled as the case asks. */
function weights(c: Case, r: () => number, N: number, per: number, cs: number, js: number): Float32Array {
  const s = channelScales(r, N);
  const w = new Float32Array(N * per);
  for (let n = 0; n < N; n++) for (let j = 0; j < per; j++) w[n * cs + j * js] = r() < 0.5 ? -s[n] : s[n];
  const at = (N - 1) * cs + (per - 1) * js;
  if (c.weights === 'one_off') w[at] *= 1.5;
  if (c.weights === 'zero') w[at] = 0;
  if (c.weights === 'mixed') for (let j = 0; j < per; j += 2) w[j * js] *= 2; // channel 0: ±s and ±2s
  return w;
}

function build(c: Case, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: 17 });
  const xDims = c.conv ? [c.conv.n, c.conv.c, c.conv.hw, c.conv.hw] : [c.M!, c.K!];
  let x = b.input('x', 'float32', xDims);
  if (c.act === 'sign') x = b.op('Sign', [x]);
  if (c.act === 'bipolar' || c.act === 'where_pm2') {
    const neg = b.op('Less', [x, b.init('zero', 'float32', [], [0])]);
    x = b.op('Where', [neg, b.init('minus', 'float32', [], [-1]), b.init('plus', 'float32', [], [c.act === 'bipolar' ? 1 : 2])]);
  }
  const N = c.conv ? c.conv.m : c.N!;
  const ins = [x];
  if (c.conv) {
    const per = (c.conv.c / c.conv.group) * c.conv.k * c.conv.k;
    ins.push(b.init('w', 'float32', [N, c.conv.c / c.conv.group, c.conv.k, c.conv.k], weights(c, r, N, per, per, 1)));
  } else {
    const transB = c.attrs?.transB === 1;
    const w = transB ? weights(c, r, N, c.K!, c.K!, 1) : weights(c, r, N, c.K!, 1, N);
    ins.push(b.init('w', 'float32', transB ? [N, c.K!] : [c.K!, N], w));
  }
  if (c.bias) ins.push(b.init('b', 'float32', [N], Float32Array.from({ length: N }, () => Math.round((r() * 2 - 1) * 256) / 256)));
  const y = b.op(c.layer, ins, c.attrs ?? {}, { name: 'layer', outputs: [c.then ? 't' : 'y'] });
  if (c.then === 'Relu') b.op('Relu', [y], {}, { outputs: ['y'] });
  if (c.then === 'Clip') b.op('Clip', [y, b.init('lo', 'float32', [], [-0.25]), b.init('hi', 'float32', [], [0.5])], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  return b.toBytes();
}

/** Inputs with exact zeros (and −0) in them, so the ±0 → +1 rule and Sign(0) = 0 are exercised. */
function input(c: Case, seed: number): { data: Float32Array; dims: number[] } {
  const r = rng(seed);
  const dims = c.conv ? [c.conv.n, c.conv.c, c.conv.hw, c.conv.hw] : [c.M!, c.K!];
  const data = Float32Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => {
    const u = r();
    return u < 0.05 ? 0 : u < 0.1 ? -0 : (r() * 2 - 1);
  });
  return { data, dims };
}

function lowbitOps(bytes: Uint8Array): string[] {
  const g = decodeModel(bytes).graph;
  runPasses(g);
  return g.nodes.map((n) => `${n.domain}::${n.opType}`);
}

describe('binary pass', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.becomes ?? 'not rewritten'}`, () => {
      const ops = lowbitOps(build(c, 1));
      if (c.becomes) {
        expect(ops).toContain(`ai.lowbit::${c.becomes}`);
        // The bipolar Where/Less pair is read only by the layer: it goes away.
        if (c.act === 'bipolar') expect(ops.filter((o) => o === '::Where' || o === '::Less')).toEqual([]);
        if (c.then) expect(ops).toEqual([`ai.lowbit::${c.becomes}`]); // the activation went into its epilogue
      } else {
        expect(ops.some((o) => o.startsWith('ai.lowbit::Binary'))).toBe(false);
        expect(ops).toContain(`::${c.layer}`);
      }
    });
  }

  it('records bits-1 per-channel QuantParams for the weights', () => {
    const g = decodeModel(build(CASES[1], 1)).graph;
    runPasses(g);
    const q = g.quant.get('w')!;
    expect(q.bits).toBe(1);
    expect(q.scale.length).toBe(9);
    expect(q.axis).toBe(0); // Gemm transB: W is [N, K]
  });

  for (const backend of ALL_BACKENDS) {
    for (const c of CASES.filter((x) => x.becomes)) {
      it(`${backend}: ${c.name} agrees with onnxruntime-node`, async () => {
        const bytes = build(c, 2);
        const session = await InferenceSession.create(bytes, { backend });
        const report = session.inspect();
        expect(report.passes.binary).toBe(1);
        const layer = report.nodes.find((n) => n.name === 'layer')!;
        expect(layer.kernels).toContain(c.layer === 'Conv' ? 'bconv_b1b1' : 'bgemm_b1b1');
        expect([layer.math, layer.exact]).toEqual(['binary×binary (xnor-popcount)', true]);
        const { data, dims } = input(c, 3);
        const y = (await session.run({ x: new Tensor('float32', data, dims) })).y.data as Float32Array;
        const ref = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
        const want = (await ref.run({ x: new ort.Tensor('float32', data, dims) })).y.data as Float32Array;
        expect(y.length).toBe(want.length);
        const bad = Array.from(y).findIndex((v, i) => !(Math.abs(v - want[i]) <= 2 ** -23 * Math.abs(want[i])));
        expect(bad, bad >= 0 ? `element ${bad}: ${y[bad]} vs ${want[bad]}` : '').toBe(-1);
      });
    }
  }

  it('keeps one bit per weight: N·⌈K/128⌉·16 bytes plus the per-channel scales', async () => {
    const c = CASES[2]; // K = 1024, N = 64: f32 weights would be 256 KiB
    const session = await InferenceSession.create(build(c, 4), { backend: 'simd' });
    const { weightsBytes } = session.inspect().memory;
    const bits = c.N! * Math.ceil(c.K! / 128) * 16;
    expect(weightsBytes).toBeGreaterThanOrEqual(bits);
    expect(weightsBytes).toBeLessThanOrEqual(bits + 4 * c.N! + 256);
  });
});
