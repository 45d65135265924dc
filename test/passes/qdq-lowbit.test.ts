// QDQ layers with 2- and 4-bit parts (Brevitas' QDQ export: INT4/INT2 weights, UINT2/INT4
// activations): qdq-widen.ts puts sub-byte activations in 8-bit containers, qdq-int8.ts takes
// sub-byte weights. Graph in → graph out on small built models, and the numbers against
// onnxruntime-node (op by op, in float) on every kernel build: requantised integers equal or one quantum apart at ties
// (at most 2%), float outputs within float rounding (1e-5 of the largest); the widened Q → Clip
// → DQ bit for bit against the literal graph, NaN and ±Inf included.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Graph } from '../../src/ir/graph.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { Engine } from '../../src/session/engine.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const RANGE: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int4: [-8, 7], uint4: [0, 15], int2: [-2, 1], uint2: [0, 3] };

interface Case {
  name: string;
  kind: 'Gemm' | 'MatMul' | 'Conv';
  x: { type: DType; zp: number };
  w: { type: DType; zp?: number };
  bias: boolean;
  relu: boolean;
  /** The output requantised to this type (then dequantised), or float. */
  y?: { type: DType; zp: number };
  /** The lowered layer and the ops left, in order. */
  want: string[];
  /** Weight bits and kernel of the layer. */
  bits: number;
  kernel: string;
}

const M = 4, K = 40, N = 9, C = 5;

const CASES: Case[] = [
  {
    name: 'Gemm: int8 x × INT4 W, int32 bias, Relu, float out → MatMulQWQ8 (W 4 bits)', kind: 'Gemm', x: { type: 'int8', zp: 0 }, w: { type: 'int4' },
    bias: true, relu: true, want: ['QuantizeLinear', 'MatMulQWQ8', 'Relu'], bits: 4, kernel: 'qwgemm_i8',
  },
  {
    name: 'Gemm: uint8 x × INT4 W, int32 bias, Relu → Q(UINT2): QGemm clamped to [0, 3]', kind: 'Gemm', x: { type: 'uint8', zp: 0 }, w: { type: 'int4' },
    bias: true, relu: true, y: { type: 'uint2', zp: 0 }, want: ['QuantizeLinear', 'QGemm', 'DequantizeLinear'], bits: 4, kernel: 'qgemm_i8',
  },
  {
    name: 'MatMul: UINT2 x (zp 1) × INT2 W holding −2 → MatMulQWQ8 (W 2 bits)', kind: 'MatMul', x: { type: 'uint2', zp: 1 }, w: { type: 'int2' },
    bias: false, relu: false, want: ['QuantizeLinear', 'Clip', 'MatMulQWQ8'], bits: 2, kernel: 'qwgemm_i8',
  },
  {
    name: 'Gemm: INT4 x (zp −2) × UINT4 W (zp 8) → Q(INT4): QGemm clamped to [−8, 7]', kind: 'Gemm', x: { type: 'int4', zp: -2 }, w: { type: 'uint4', zp: 8 },
    bias: true, relu: false, y: { type: 'int4', zp: 1 }, want: ['QuantizeLinear', 'Clip', 'QGemm', 'DequantizeLinear'], bits: 4, kernel: 'qgemm_i8',
  },
  {
    name: 'Conv: UINT2 x × INT4 W, int32 bias, float out → QConvToFloat (W widened)', kind: 'Conv', x: { type: 'uint2', zp: 0 }, w: { type: 'int4' },
    bias: true, relu: true, want: ['QuantizeLinear', 'Clip', 'QConvToFloat', 'Relu'], bits: 4, kernel: 'conv_i8',
  },
  {
    name: 'Conv: uint8 x × UINT4 W (zp 7), int32 bias → Q(uint8): QLinearConv (W widened)', kind: 'Conv', x: { type: 'uint8', zp: 100 }, w: { type: 'uint4', zp: 7 },
    bias: true, relu: false, y: { type: 'uint8', zp: 90 }, want: ['QuantizeLinear', 'QLinearConv', 'DequantizeLinear'], bits: 4, kernel: 'conv_i8',
  },
  {
    name: 'Conv: int8 x × INT2 W holding −2 → Q(UINT2) after a Relu: QConvToFloat, Relu, Q and Clip kept', kind: 'Conv', x: { type: 'int8', zp: 3 }, w: { type: 'int2' },
    bias: true, relu: true, y: { type: 'uint2', zp: 0 }, want: ['QuantizeLinear', 'QConvToFloat', 'Relu', 'QuantizeLinear', 'Clip', 'DequantizeLinear'], bits: 2, kernel: 'conv_i8',
  },
];

function ints(r: () => number, n: number, [lo, hi]: [number, number]): number[] {
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** x float → Q → DQ → layer(DQ(W per channel), DQ(int32 bias) on sx·sw) → [Relu] → [Q → DQ] → y. */
function build(c: Case, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new OnnxBuilder({ opset: 25 });
  const conv = c.kind === 'Conv';
  const x = b.input('x', 'float32', conv ? [M, C, 6, 6] : [M, K]);
  const sx = Math.fround(0.05 + r() * 0.05);
  const xq = b.op('QuantizeLinear', [x, b.init('sx', 'float32', [], [sx]), b.init('zx', c.x.type, [], [c.x.zp])], {}, { name: 'qx' });
  const dx = b.op('DequantizeLinear', [xq, 'sx', 'zx'], {}, { name: 'dqx' });
  const wDims = conv ? [N, C, 3, 3] : c.kind === 'Gemm' ? [N, K] : [K, N];
  const sw = Array.from({ length: N }, () => Math.fround(0.01 + r() * 0.03));
  const wZp = c.w.zp === undefined ? [] : [b.init('zw', c.w.type, [N], new Array(N).fill(c.w.zp))];
  const w = b.init('W', c.w.type, wDims, ints(r, wDims.reduce((p, q) => p * q, 1), RANGE[c.w.type]));
  const inputs = [dx, b.op('DequantizeLinear', [w, b.init('sw', 'float32', [N], sw), ...wZp], { axis: c.kind === 'MatMul' ? 1 : 0 }, { name: 'dqw' })];
  if (c.bias) {
    const sb = sw.map((s) => Math.fround(sx * s));
    inputs.push(b.op('DequantizeLinear', [b.init('B', 'int32', [N], ints(r, N, [-400, 400])), b.init('sb', 'float32', [N], sb)], { axis: 0 }));
  }
  let y = b.op(c.kind, inputs, c.kind === 'Gemm' ? { transB: 1 } : conv ? { pads: [1, 1, 1, 1] } : {}, { name: 'layer' });
  if (c.relu) y = b.op('Relu', [y]);
  if (c.y) {
    const q = b.op('QuantizeLinear', [y, b.init('sy', 'float32', [], [0.25]), b.init('zy', c.y.type, [], [c.y.zp])], {}, { name: 'qy' });
    y = b.op('DequantizeLinear', [q, 'sy', 'zy'], {}, { name: 'dqy' });
  }
  b.op('Identity', [y], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  return b.toBytes();
}

const xDims = (c: Case) => (c.kind === 'Conv' ? [M, C, 6, 6] : [M, K]);

/** Inputs spread over the activation's whole range and beyond it, ties (k + ½)·sx included. */
function input(c: Case, seed: number): Float32Array {
  const r = rng(seed);
  const n = xDims(c).reduce((p, q) => p * q, 1);
  const [lo, hi] = RANGE[c.x.type];
  return Float32Array.from({ length: n }, () => Math.fround((lo - c.x.zp - 1 + r() * (hi - lo + 3)) * 0.075));
}

const ops = (g: Graph) => g.nodes.map((n) => n.opType);

describe('sub-byte QDQ layers: the graph the rules make', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const g = decodeModel(build(c, 1)).graph;
      runPasses(g);
      expect(ops(g).filter((o) => o !== 'Identity')).toEqual(c.want);
      const layer = g.nodes.find((n) => n.name === 'layer')!;
      const wIn = layer.inputs[layer.opType === 'QGemmToFloat' || layer.opType === 'QConvToFloat' ? 2 : 3];
      expect(g.quant.get(wIn)?.bits).toBe(c.bits);
      const widened = layer.opType !== 'MatMulQWQ8';
      expect(g.initializers.get(wIn)?.dtype).toBe(widened ? (c.w.type.startsWith('u') ? 'uint8' : 'int8') : c.w.type);
      if (c.y && layer.opType === 'QGemm') {
        const [lo, hi] = RANGE[c.y.type];
        const relu = c.relu ? c.y.zp : lo;
        expect([layer.attrs.get('y_min')?.value, layer.attrs.get('y_max')?.value]).toEqual([Math.max(lo, relu), hi]);
      }
    });
  }

  it('a sub-byte Q whose output is also a graph output, or is read by another op, stays as it is', () => {
    for (const extra of ['output', 'reader'] as const) {
      const b = new OnnxBuilder({ opset: 25 });
      const q = b.op('QuantizeLinear', [b.input('x', 'float32', [3]), b.init('s', 'float32', [], [0.5]), b.init('z', 'uint2', [], [1])]);
      b.op('DequantizeLinear', [q, 's', 'z'], {}, { outputs: ['y'] });
      b.output('y', 'float32', [3]);
      if (extra === 'output') b.output(q, 'uint2', [3]);
      else b.output(b.op('Cast', [q], { to: 1 }), 'float32', [3]);
      const g = decodeModel(b.toBytes()).graph;
      expect(runPasses(g).fired['qdq-widen']).toBeUndefined();
      expect(g.nodes[0].outputs[0]).toBe(q);
    }
  });
});

async function lowbitRun(bytes: Uint8Array, backend: (typeof ALL_BACKENDS)[number], x: Float32Array, dims: number[], literal = false): Promise<Float32Array> {
  const g = decodeModel(bytes).graph;
  const e = new Engine(g, await compileKernels(backend), backend, literal ? { passes: [] } : {});
  const y = e.run(new Map([['x', { dtype: 'float32', dims, bytes: new Uint8Array(x.slice().buffer) }]])).get('y')!;
  return new Float32Array(y.bytes.slice().buffer);
}

async function ortRun(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  // Op by op: onnxruntime's QDQ fusion would take a UINT2 x into MatMulIntegerToFloat, which it then rejects.
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'disabled' });
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, dims) })).y.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe.each(ALL_BACKENDS)('sub-byte QDQ layers against onnxruntime-node (%s)', (backend) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const bytes = build(c, 2);
      const session = await InferenceSession.create(bytes, { backend });
      expect(session.inspect().nodes.find((n) => n.name === 'layer')?.kernel).toBe(c.kernel);
      await session.release();
      for (const seed of [3, 4]) {
        const x = input(c, seed);
        const got = await lowbitRun(bytes, backend, x, xDims(c));
        const want = await ortRun(bytes, x, xDims(c));
        expect(got.length).toBe(want.length);
        if (c.y) {
          // Requantised: the same integers, or one quantum (0.25) apart where the value is at a tie.
          const off = got.filter((v, i) => v !== want[i]);
          for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBe(0.25);
          expect(off.length).toBeLessThanOrEqual(Math.ceil(got.length / 50));
          expect(new Set(got).size).toBeGreaterThan(2);
        } else {
          const bound = 1e-5 * Math.max(...Array.from(want, Math.abs));
          for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(bound);
        }
      }
    });
  }

  it('a widened Q → Clip → DQ gives the sub-byte Q → DQ bit for bit: ties, saturation, NaN, ±Inf', async () => {
    for (const [type, zp] of [['uint2', 1], ['int2', -1], ['int4', 3], ['uint4', 12]] as const) {
      const b = new OnnxBuilder({ opset: 25 });
      const q = b.op('QuantizeLinear', [b.input('x', 'float32', [64]), b.init('s', 'float32', [], [0.5]), b.init('z', type, [], [zp])]);
      b.op('DequantizeLinear', [q, 's', 'z'], {}, { outputs: ['y'] });
      b.output('y', 'float32', [64]);
      const bytes = b.toBytes();
      const g = decodeModel(bytes).graph;
      expect(runPasses(g).fired).toEqual({ 'qdq-widen': 1 });
      expect(ops(g)).toEqual(['QuantizeLinear', 'Clip', 'DequantizeLinear']);
      const x = Float32Array.from({ length: 64 }, (_, i) => (i - 32) * 0.25);
      x.set([NaN, Infinity, -Infinity, -0], 60);
      const got = await lowbitRun(bytes, backend, x, [64]);
      expect(Array.from(got)).toEqual(Array.from(await lowbitRun(bytes, backend, x, [64], true)));
      expect(Array.from(got.subarray(0, 60))).toEqual(Array.from((await ortRun(bytes, x, [64])).subarray(0, 60)));
    }
  });
});
