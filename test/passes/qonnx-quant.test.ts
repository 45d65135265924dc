// QONNX Quant / BipolarQuant layers → integer and low-bit-weight layers (src/passes/qonnx-quant.ts).
//
// Each case builds the same QONNX-style layer twice: with constant scales (the rule fires) and with
// the scales as graph inputs (the rule cannot read them, so every Quant runs literally and the
// layer on f32 — the literal QONNX graph, whose ops test/ops/qonnx.test.ts pins bit-exactly to
// qonnx's executor). With power-of-two scales and activations on a dyadic grid the float graph
// makes no rounding error, and the low-bit layer must give the same bits — rounding ties included
// (the grids put x/s on .5 exactly), so every rounding mode is checked on the integer side too.
// With arbitrary scales both are compared with the exact value in float64 within their error bounds.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { GraphView } from '../../src/passes/graph-view.js';
import { runPasses } from '../../src/passes/index.js';
import { weightQuant } from '../../src/passes/qonnx-match.js';
import { isTernary } from '../../src/passes/qonnx-quant.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const QONNX = 'qonnx.custom_op.general';

/** A quantizer: Quant (bits, signed, narrow, rounding mode, zero point) or BipolarQuant; scale one value or per channel. */
interface QSpec {
  op?: 'Quant' | 'BipolarQuant';
  bits?: number;
  signed?: 0 | 1;
  narrow?: 0 | 1;
  mode?: string;
  zp?: number | number[];
  scale: number | number[];
}

type Kind = 'MatMul' | 'Gemm' | 'GemmT' | 'Conv' | 'ConvDW';

interface Case {
  name: string;
  kind: Kind;
  w: QSpec;
  x?: QSpec;
  bias?: boolean;
  /** The bias as Brevitas exports it: Quant(b, scale, 0, 32) (scale one value or per channel). */
  biasQuant?: number | number[];
  /** The lowered layer: op type, its weight initializer's type, a kernel it calls. */
  want: { op: string; wType: DType; kernel: string };
}

const M = 3, K = 37, N = 6, C = 5, HW = 7;
const pow2 = (r: () => number) => 2 ** (Math.floor(r() * 5) - 3);
const pow2s = (r: () => number, n: number) => Array.from({ length: n }, () => pow2(r));

const CASES: Case[] = [
  // f32 activations × n-bit weights
  { name: '4-bit signed per-channel W, MatMul', kind: 'MatMul', w: { bits: 4, scale: pow2s(rng(1), N) }, want: { op: 'MatMulQW', wType: 'int4', kernel: 'qwgemm_f32' } },
  { name: '3-bit W (stored as 4), Gemm transB, bias', kind: 'GemmT', w: { bits: 3, scale: 0.25 }, bias: true, want: { op: 'MatMulQW', wType: 'int4', kernel: 'qwgemm_f32' } },
  { name: '2-bit ternary W (signed narrow), MatMul', kind: 'MatMul', w: { bits: 2, narrow: 1, scale: pow2s(rng(2), N) }, want: { op: 'MatMulQW', wType: 'int2', kernel: 'qwgemm_f32' } },
  { name: '8-bit unsigned W with zero points per channel, Gemm', kind: 'Gemm', w: { bits: 8, signed: 0, zp: [128, 100, 3, 255, 0, 77], scale: pow2s(rng(3), N) }, want: { op: 'MatMulQW', wType: 'uint8', kernel: 'qwgemm_f32' } },
  { name: '2-bit unsigned W, zero point 5 (widened to 4 bits), FLOOR', kind: 'MatMul', w: { bits: 2, signed: 0, zp: 5, mode: 'FLOOR', scale: 0.5 }, want: { op: 'MatMulQW', wType: 'uint4', kernel: 'qwgemm_f32' } },
  { name: '1-bit Quant W on f32 activations (int2 ±1)', kind: 'MatMul', w: { bits: 1, scale: pow2s(rng(4), N) }, want: { op: 'MatMulQW', wType: 'int2', kernel: 'qwgemm_f32' } },
  // int8 activations × int8 weights
  { name: '8-bit act × 4-bit per-channel W, MatMul', kind: 'MatMul', x: { bits: 8, scale: 0.125 }, w: { bits: 4, scale: pow2s(rng(5), N) }, want: { op: 'MatMulQWQ8', wType: 'int4', kernel: 'qwgemm_i8' } },
  { name: '8-bit unsigned act zp 128 × 4-bit W, Gemm transB, bias', kind: 'GemmT', x: { bits: 8, signed: 0, zp: 128, scale: 0.25 }, w: { bits: 4, scale: pow2s(rng(13), N) }, bias: true, want: { op: 'MatMulQWQ8', wType: 'int4', kernel: 'qwgemm_i8' } },
  { name: '8-bit unsigned act zp 0 (t − z beyond int8) × 4-bit W: int8 weights', kind: 'MatMul', x: { bits: 8, signed: 0, scale: 0.25 }, w: { bits: 4, scale: 0.5 }, want: { op: 'QGemmToFloat', wType: 'int8', kernel: 'qgemm_i8' } },
  { name: '4-bit unsigned act zp 3, HALF_UP × 8-bit W, Gemm transB, bias', kind: 'GemmT', x: { bits: 4, signed: 0, zp: 3, mode: 'HALF_UP', scale: 0.5 }, w: { bits: 8, scale: pow2s(rng(6), N) }, bias: true, want: { op: 'QGemmToFloat', wType: 'int8', kernel: 'qgemm_i8' } },
  { name: '2-bit narrow act (CEIL) × 2-bit ternary W', kind: 'MatMul', x: { bits: 2, narrow: 1, mode: 'CEIL', scale: 1 }, w: { bits: 2, narrow: 1, scale: 0.25 }, want: { op: 'TernaryMatMul', wType: 'int8', kernel: 'tgemm_t2i8' } },
  { name: '8-bit unsigned act × ternary per-channel W, Gemm transB, bias', kind: 'GemmT', x: { bits: 8, signed: 0, scale: 0.125 }, w: { bits: 2, narrow: 1, scale: pow2s(rng(14), N) }, bias: true, want: { op: 'TernaryMatMul', wType: 'int8', kernel: 'tgemm_t2i8' } },
  { name: '8-bit unsigned narrow act (UP) × 8-bit unsigned W zp, Gemm', kind: 'Gemm', x: { bits: 8, signed: 0, narrow: 1, mode: 'UP', zp: 128, scale: 0.25 }, w: { bits: 8, signed: 0, zp: [1, 2, 3, 250, 128, 0], scale: pow2s(rng(7), N) }, want: { op: 'QGemmToFloat', wType: 'uint8', kernel: 'qgemm_i8' } },
  { name: '4-bit act (DOWN) × 1-bit Quant W', kind: 'MatMul', x: { bits: 4, mode: 'DOWN', scale: 0.25 }, w: { bits: 1, scale: pow2s(rng(8), N) }, want: { op: 'MatMulQWQ8', wType: 'int2', kernel: 'qwgemm_i8' } },
  { name: 'BipolarQuant act × 4-bit W', kind: 'MatMul', x: { op: 'BipolarQuant', scale: 0.5 }, w: { bits: 4, scale: pow2s(rng(9), N) }, want: { op: 'MatMulQWQ8', wType: 'int4', kernel: 'qwgemm_i8' } },
  { name: '1-bit Quant act (zp 1) × BipolarQuant W', kind: 'MatMul', x: { bits: 1, zp: 1, scale: 0.5 }, w: { op: 'BipolarQuant', scale: pow2s(rng(10), N) }, want: { op: 'MatMulQWQ8', wType: 'int2', kernel: 'qwgemm_i8' } },
  { name: 'Conv 3×3 pad 1: 8-bit act (HALF_DOWN) × 4-bit per-channel W, bias', kind: 'Conv', x: { bits: 8, mode: 'HALF_DOWN', scale: 0.125 }, w: { bits: 4, scale: pow2s(rng(11), N) }, bias: true, want: { op: 'QConvToFloat', wType: 'int8', kernel: 'conv_i8' } },
  { name: 'Conv: 4-bit unsigned act × 2-bit W', kind: 'Conv', x: { bits: 4, signed: 0, scale: 0.25 }, w: { bits: 2, scale: 0.5 }, want: { op: 'QConvToFloat', wType: 'int8', kernel: 'conv_i8' } },
  { name: 'Gemm transB: 8-bit act × 4-bit W, bias Quant(b, s, 0, 32)', kind: 'GemmT', x: { bits: 8, scale: 0.25 }, w: { bits: 4, scale: pow2s(rng(16), N) }, biasQuant: 2 ** -6, want: { op: 'MatMulQWQ8', wType: 'int4', kernel: 'qwgemm_i8' } },
  { name: 'Conv: 8-bit act × ternary W, per-channel bias Quant(b, s[n], 0, 32)', kind: 'Conv', x: { bits: 8, scale: 0.125 }, w: { bits: 2, narrow: 1, scale: 0.5 }, biasQuant: pow2s(rng(17), N).map((v) => v / 64), want: { op: 'TernaryConv', wType: 'int8', kernel: 'conv_i8' } },
  { name: 'Conv 3×3 pad 1: 8-bit act (zp 3) × ternary per-channel W, bias', kind: 'Conv', x: { bits: 8, zp: 3, scale: 0.125 }, w: { bits: 2, narrow: 1, scale: pow2s(rng(15), N) }, bias: true, want: { op: 'TernaryConv', wType: 'int8', kernel: 'conv_i8' } },
  { name: 'depthwise Conv: 8-bit act × 8-bit unsigned W zp', kind: 'ConvDW', x: { bits: 8, scale: 0.25 }, w: { bits: 8, signed: 0, zp: [7, 128, 200, 0, 31], scale: pow2s(rng(12), C) }, want: { op: 'QConvToFloat', wType: 'uint8', kernel: 'conv_dw_i8' } },
];

interface Shapes {
  x: number[];
  w: number[];
  /** Channel axis of W and the shape a per-channel parameter takes. */
  channels: number;
  param: number[];
}

function shapes(kind: Kind): Shapes {
  switch (kind) {
    case 'MatMul': return { x: [M, K], w: [K, N], channels: N, param: [1, N] };
    case 'Gemm': return { x: [M, K], w: [K, N], channels: N, param: [N] };
    case 'GemmT': return { x: [M, K], w: [N, K], channels: N, param: [N, 1] };
    case 'Conv': return { x: [2, C, HW, HW], w: [N, C, 3, 3], channels: N, param: [N, 1, 1, 1] };
    case 'ConvDW': return { x: [1, C, HW, HW], w: [C, 1, 3, 3], channels: C, param: [C, 1, 1, 1] };
  }
}

const one = (v: number | number[]) => (Array.isArray(v) ? v : [v]);

/**
 * The quantizer's node; `scaleInput` names a graph input for the scale (the literal graph) instead
 * of a constant.
 */
function quantizer(b: OnnxBuilder, x: string, q: QSpec, pDims: number[], scaleInput?: string): string {
  const s = one(q.scale);
  const sDims = s.length === 1 ? [] : pDims;
  const scale = scaleInput ? b.input(scaleInput, 'float32', sDims) : b.const('float32', sDims, s);
  if (q.op === 'BipolarQuant') return b.op('BipolarQuant', [x, scale], {}, { domain: QONNX });
  const z = one(q.zp ?? 0);
  const attrs: Record<string, AttrInput> = { signed: q.signed ?? 1, narrow: q.narrow ?? 0 };
  if (q.mode) attrs.rounding_mode = q.mode;
  return b.op('Quant', [x, scale, b.const('float32', z.length === 1 ? [] : pDims, z), b.const('float32', [], [q.bits ?? 8])], attrs, { domain: QONNX });
}

/** Weights around the quantisation grid of channel c: ties (k + ½)·s, clamped extremes, noise. */
function weights(c: Case, sh: Shapes): Float32Array {
  const r = rng(c.name.length * 7 + 1);
  const n = sh.w.reduce((p, q) => p * q, 1);
  const inner = n / sh.w[0];
  const s = one(c.w.scale);
  return Float32Array.from({ length: n }, (_, i) => {
    const ch = sh.channels === sh.w[0] ? Math.floor(i / inner) : i % sh.w[1];
    const sc = s[s.length === 1 ? 0 : ch];
    const span = 2 ** Math.min(c.w.bits ?? 1, 8);
    return r() < 0.7 ? (Math.floor((r() - 0.5) * span * 2.4) / 2) * sc : (r() - 0.5) * span * 1.2 * sc;
  });
}

function build(c: Case, literal: boolean): Uint8Array {
  const sh = shapes(c.kind);
  const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  let x = b.input('x', 'float32', sh.x);
  if (c.x) x = quantizer(b, x, c.x, [], literal ? 'sx' : undefined);
  const w = quantizer(b, b.init('w', 'float32', sh.w, weights(c, sh)), c.w, sh.param, literal ? 'sw' : undefined);
  const biasValues = (noise: number) => Array.from({ length: sh.channels }, (_, i) => (i - 2) / 4 + noise * Math.sin(i));
  let bias = c.bias ? [b.init('bias', 'float32', [sh.channels], biasValues(0))] : [];
  if (c.biasQuant !== undefined) {
    const s = one(c.biasQuant);
    const q = [b.init('bias', 'float32', [sh.channels], biasValues(0.3)), b.const('float32', s.length === 1 ? [] : [sh.channels], s), b.const('float32', [], [0]), b.const('float32', [], [32])];
    bias = [b.op('Quant', q, { signed: 1, narrow: 0 }, { domain: QONNX })];
  }
  const out = { outputs: ['y'], name: 'layer' };
  if (c.kind === 'MatMul') b.op('MatMul', [x, w], {}, out);
  else if (c.kind === 'Gemm' || c.kind === 'GemmT') b.op('Gemm', [x, w, ...bias], c.kind === 'GemmT' ? { transB: 1 } : {}, out);
  else b.op('Conv', [x, w, ...bias], c.kind === 'ConvDW' ? { pads: [1, 1, 1, 1], group: C } : { pads: [1, 1, 1, 1] }, out);
  b.output('y', 'float32', null);
  return b.toBytes();
}

/** Activations on a grid of 1/16 (ties for power-of-two scales), with a few beyond every clamp when quantised. */
function input(c: Case, seed: number): Tensor {
  const dims = shapes(c.kind).x;
  const r = rng(seed);
  const n = dims.reduce((p, q) => p * q, 1);
  // Without an activation quantizer the products stay exact only for small x.
  const wide = c.x ? 600 : 40;
  return new Tensor('float32', Float32Array.from({ length: n }, () => Math.round((r() - 0.5) * 2 * (r() < 0.1 ? wide : 40)) / 16), dims);
}

function feeds(c: Case, literal: boolean, seed: number): Record<string, Tensor> {
  const f: Record<string, Tensor> = { x: input(c, seed) };
  if (!literal) return f;
  const sh = shapes(c.kind);
  const sw = one(c.w.scale);
  f.sw = new Tensor('float32', Float32Array.from(sw), sw.length === 1 ? [] : sh.param);
  if (c.x) f.sx = new Tensor('float32', Float32Array.of(one(c.x.scale)[0]), []);
  return f;
}

describe('QONNX layers: the graph the rule makes', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const g = decodeModel(build(c, false)).graph;
      expect(runPasses(g).fired['qonnx-quant']).toBe(1);
      const layer = g.nodes.find((n) => n.name === 'layer')!;
      expect(layer.opType).toBe(c.want.op);
      const wIn = layer.inputs[{ MatMulQW: 1, MatMulQWQ8: 3, TernaryMatMul: 3, TernaryConv: 3 }[c.want.op] ?? 2];
      expect(g.initializers.get(wIn)?.dtype).toBe(c.want.wType);
      expect(g.nodes.map((n) => n.opType)).toEqual(c.x ? [c.x.op === 'BipolarQuant' ? 'QonnxBipolarInt' : 'QonnxQuantInt', c.want.op] : [c.want.op]);
      const wq = g.quant.get(wIn)!;
      expect({ bits: wq.bits, signed: wq.signed, narrow: wq.narrow, scales: wq.scale.length }).toEqual({
        bits: c.w.op === 'BipolarQuant' ? 1 : c.w.bits, signed: c.w.op === 'BipolarQuant' || c.w.signed !== 0, narrow: c.w.narrow === 1, scales: one(c.w.scale).length,
      });
      if (c.x) expect(g.quant.get(layer.inputs[0])?.bits).toBe(c.x.op === 'BipolarQuant' ? 1 : c.x.bits);
      const lit = decodeModel(build(c, true)).graph;
      expect(runPasses(lit).fired['qonnx-quant']).toBeUndefined();
    });
  }
});

describe('the ternary hook', () => {
  it('isTernary marks exactly the 2-bit signed narrow weights with zero point 0', () => {
    const seen = [false, false];
    for (const c of CASES) {
      const g = decodeModel(build(c, false)).graph;
      const layer = g.nodes.find((n) => n.name === 'layer')!;
      const w = weightQuant(new GraphView(g), layer.inputs[1], (rank) => (c.kind === 'MatMul' || c.kind === 'Gemm' ? rank - 1 : 0))!;
      const ternary = c.w.op !== 'BipolarQuant' && c.w.bits === 2 && c.w.signed !== 0 && c.w.narrow === 1 && one(c.w.zp ?? 0).every((z) => z === 0);
      expect(isTernary(w), c.name).toBe(ternary);
      seen[+ternary] = true;
    }
    expect(seen).toEqual([true, true]);
  });
});

/** Bit patterns, so −0 and +0 differ and the first mismatch is named. */
function expectSameBits(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const g = new Uint32Array(got.slice().buffer);
  const w = new Uint32Array(want.slice().buffer);
  const bad = g.findIndex((v, i) => v !== w[i]);
  if (bad >= 0) expect.fail(`${what}: element ${bad} is ${got[bad]}, the literal QONNX graph gives ${want[bad]}`);
}

describe.each(ALL_BACKENDS)('QONNX layers give the literal graph\'s bits (%s)', (backend) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const fast = await InferenceSession.create(build(c, false), { backend });
      const slow = await InferenceSession.create(build(c, true), { backend });
      const report = fast.inspect();
      expect(report.nodes.find((n) => n.name === 'layer')?.kernels).toContain(c.want.kernel);
      expect(report.nodes.every((n) => n.exact)).toBe(true);
      for (const seed of [1, 2]) {
        const a = (await fast.run(feeds(c, false, seed))).y.data as Float32Array;
        const b = (await slow.run(feeds(c, true, seed))).y.data as Float32Array;
        expectSameBits(a, b, `${c.name}, seed ${seed}`);
      }
    });
  }
});

describe('layers with a quantised weight left on the float path say why (inspect)', () => {
  const layer = (kind: 'Conv' | 'Gemm', attrs: Record<string, AttrInput>, bias?: number[], xQuant = false): Uint8Array => {
    const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
    const conv = kind === 'Conv';
    let x = b.input('x', 'float32', conv ? [1, C, HW, HW] : [M, K]);
    if (xQuant) x = quantizer(b, x, { bits: 8, scale: 0.25 }, []);
    const wDims = conv ? [N, C, 3, 3] : [N, K];
    const w = quantizer(b, b.init('w', 'float32', wDims, Float32Array.from({ length: wDims.reduce((p, q) => p * q, 1) }, (_, i) => (i % 7) - 3)), { bits: 4, scale: 0.5 }, []);
    const ins = bias ? [x, w, b.init('bias', 'float32', [bias.length], bias)] : [x, w];
    b.op(kind, ins, attrs, { outputs: ['y'], name: 'layer' });
    b.output('y', 'float32', null);
    return b.toBytes();
  };
  const cases: Array<[string, Uint8Array, string]> = [
    ['a Conv on f32 activations', layer('Conv', { pads: [1, 1, 1, 1] }), 'qonnx-quant: the activation is float (no QONNX quantizer before the layer), and there is no n-bit weight × f32 conv kernel'],
    ['a Gemm with alpha 2', layer('Gemm', { transB: 1, alpha: 2 }, undefined, true), 'qonnx-quant: Gemm needs transA = 0 and alpha = 1'],
    ['a Gemm whose C broadcasts one value', layer('Gemm', { transB: 1 }, [0.5], true), 'qonnx-quant: the bias is neither a float32 constant of N elements (Gemm: beta = 1) nor a QONNX quantizer of one'],
  ];
  it.each(cases)('%s', async (_, bytes, reason) => {
    const s = await InferenceSession.create(bytes);
    const n = s.inspect().nodes.find((x) => x.name === 'layer')!;
    expect(n.kernel).toMatch(/_f32/);
    expect(n.reason).toBe(reason);
    await s.release();
  });
});
