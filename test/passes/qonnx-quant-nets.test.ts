// Small QONNX-style networks through the QONNX rule (src/passes/qonnx-quant.ts): an MLP and a conv
// net with quantised activations and weights, a weight-only MLP, a BNN layer left to the binary
// rule, the cases that must stay on the float path, and arbitrary (not power-of-two) scales.
//
// The reference is qonnx's own executor on two networks it ran (test/fixtures/qonnx/nets.json,
// written by scripts/qonnx/make_net_fixtures.py), and the literal QONNX graph run by lowbit: the
// same model with every scale a graph input, so that no rule can read it (test/ops/qonnx.test.ts
// pins the literal ops bit-exactly to qonnx's executor). Power-of-two scales and dyadic inputs make the float graph exact, so the
// outputs must be bit-identical; with arbitrary scales they must agree within both graphs'
// rounding error (see the bound below).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const QONNX = 'qonnx.custom_op.general';

/** Builds a model whose quantizer scales are constants, or graph inputs (literal: fed at run time). */
class Net {
  readonly b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  readonly scales: Record<string, Tensor> = {};
  private n = 0;
  constructor(readonly literal: boolean, readonly r = rng(3)) {}

  private scale(v: number[], dims: number[]): string {
    const name = `s${this.n++}`;
    this.scales[name] = new Tensor('float32', Float32Array.from(v), dims);
    return this.literal ? this.b.input(name, 'float32', dims) : this.b.init(name, 'float32', dims, v);
  }

  quant(x: string, bits: number, s: number | number[], opts: { signed?: number; narrow?: number; mode?: string; zp?: number; dims?: number[] } = {}): string {
    const sv = Array.isArray(s) ? s : [s];
    const a: Record<string, AttrInput> = { signed: opts.signed ?? 1, narrow: opts.narrow ?? 0, rounding_mode: opts.mode ?? 'ROUND' };
    const ins = [x, this.scale(sv, sv.length === 1 ? [] : opts.dims!), this.b.const('float32', [], [opts.zp ?? 0]), this.b.const('float32', [], [bits])];
    return this.b.op('Quant', ins, a, { domain: QONNX });
  }

  bipolar(x: string, s: number | number[], dims?: number[]): string {
    const sv = Array.isArray(s) ? s : [s];
    return this.b.op('BipolarQuant', [x, this.scale(sv, sv.length === 1 ? [] : dims!)], {}, { domain: QONNX });
  }

  /** Float weights around a grid of step ½ (ties), with scale ~1. */
  weights(dims: number[], span: number): string {
    const n = dims.reduce((p, q) => p * q, 1);
    return this.b.const('float32', dims, Array.from({ length: n }, () => Math.round((this.r() - 0.5) * 4 * span) / 2 * (this.r() < 0.2 ? 1.37 : 1)));
  }

  pow2s(n: number): number[] {
    return Array.from({ length: n }, () => 2 ** (Math.floor(this.r() * 4) - 3));
  }
}

interface Model {
  build(net: Net): void;
  x: (string | number)[];
  feeds: number[][];
  /** Expected op types of the lowered graph, in order. */
  lowered: string[];
  /** A kernel the lowered plan must call. */
  kernels: string[];
}

const MODELS: Record<string, Model> = {
  'MLP: 8-bit act × 4-bit W → Relu → 4-bit unsigned act × 2-bit ternary W (Gemm transB)': {
    x: ['n', 32], feeds: [[1, 32], [5, 32]],
    build(m) {
      const b = m.b;
      const x = m.quant(b.input('x', 'float32', ['n', 32]), 8, 0.125);
      const h = b.op('MatMul', [x, m.quant(m.weights([32, 24], 8), 4, m.pow2s(24), { dims: [1, 24] })]);
      const a = b.op('Relu', [b.op('Add', [h, b.const('float32', [24], Array.from({ length: 24 }, (_, i) => (i % 5) / 4))])]);
      const a2 = m.quant(a, 4, 0.25, { signed: 0 });
      const w2 = m.quant(m.weights([10, 24], 2), 2, m.pow2s(10), { narrow: 1, dims: [10, 1] });
      b.op('Gemm', [a2, w2, b.const('float32', [10], Array.from({ length: 10 }, (_, i) => i / 8))], { transB: 1 }, { outputs: ['y'] });
    },
    lowered: ['QonnxQuantInt', 'MatMulQWQ8', 'Add', 'Relu', 'QonnxQuantInt', 'TernaryMatMul'], kernels: ['qwgemm_i8', 'tgemm_t2i8', 'fake_quant_q8'],
  },
  'conv net: 8-bit act × 8-bit W conv → 4-bit unsigned act × 4-bit W strided conv → pool → 8-bit act × 8-bit W Gemm': {
    x: [1, 3, 12, 12], feeds: [[1, 3, 12, 12]],
    build(m) {
      const b = m.b;
      const x = m.quant(b.input('x', 'float32', [1, 3, 12, 12]), 8, 1 / 16, { mode: 'HALF_UP' });
      const c1 = b.op('Conv', [x, m.quant(m.weights([8, 3, 3, 3], 64), 8, m.pow2s(8), { dims: [8, 1, 1, 1] }), b.const('float32', [8], [1, -1, 0.5, 0, 2, -2, 0.25, 3])], { pads: [1, 1, 1, 1] });
      const a1 = m.quant(b.op('Relu', [c1]), 4, 0.5, { signed: 0, mode: 'FLOOR' });
      const c2 = b.op('Conv', [a1, m.quant(m.weights([8, 8, 3, 3], 4), 4, m.pow2s(8), { dims: [8, 1, 1, 1] })], { strides: [2, 2], pads: [1, 1, 1, 1] });
      const p = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [c2])])]);
      const w3 = m.quant(m.weights([10, 8], 64), 8, m.pow2s(10), { dims: [10, 1] });
      b.op('Gemm', [m.quant(p, 8, 1 / 8), w3, b.const('float32', [10], new Array(10).fill(0.5))], { transB: 1 }, { outputs: ['y'] });
    },
    lowered: ['QonnxQuantInt', 'QConvToFloat', 'Relu', 'QonnxQuantInt', 'QConvToFloat', 'Relu', 'GlobalAveragePool', 'Flatten', 'QonnxQuantInt', 'QGemmToFloat'],
    kernels: ['conv_i8', 'qgemm_i8'],
  },
  'weight-only MLP: 4-bit and 8-bit unsigned (zero point) W on f32 activations': {
    x: ['n', 40], feeds: [[1, 40], [6, 40]],
    build(m) {
      const b = m.b;
      const x = b.input('x', 'float32', ['n', 40]);
      const h = b.op('Relu', [b.op('MatMul', [x, m.quant(m.weights([40, 16], 8), 4, m.pow2s(16), { dims: [1, 16] })])]);
      b.op('MatMul', [h, m.quant(m.weights([16, 4], 64), 8, m.pow2s(4), { signed: 0, zp: 128, dims: [1, 4] })], {}, { outputs: ['y'] });
    },
    lowered: ['MatMulQW', 'Relu', 'MatMulQW'], kernels: ['qwgemm_f32'],
  },
  'BNN layer: BipolarQuant act × 1-bit Quant W, left to the binary rule (XNOR-popcount)': {
    x: [2, 64], feeds: [[2, 64]],
    build(m) {
      const b = m.b;
      const x = m.bipolar(b.input('x', 'float32', [2, 64]), 0.5);
      b.op('MatMul', [x, m.quant(m.weights([64, 8], 2), 1, m.pow2s(8), { dims: [1, 8] })], {}, { outputs: ['y'] });
    },
    lowered: ['BinaryMatMul'], kernels: ['bgemm_b1b1'],
  },
};

function model(m: Model, literal: boolean): { bytes: Uint8Array; scales: Record<string, Tensor> } {
  const net = new Net(literal);
  m.build(net);
  net.b.output('y', 'float32', null);
  return { bytes: net.b.toBytes(), scales: net.scales };
}

/** Inputs on a grid of 1/16 (ties for power-of-two scales), a few beyond the 8-bit clamps. */
function input(dims: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((p, q) => p * q, 1);
  return new Tensor('float32', Float32Array.from({ length: n }, () => Math.round((r() - 0.5) * (r() < 0.1 ? 800 : 80)) / 16), dims);
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.slice().buffer));

describe('QONNX networks lower to low-bit layers', () => {
  for (const [name, m] of Object.entries(MODELS)) {
    it(`${name}: the lowered graph`, () => {
      const g = decodeModel(model(m, false).bytes).graph;
      runPasses(g);
      expect(g.nodes.map((n) => n.opType)).toEqual(m.lowered);
    });
    for (const backend of ALL_BACKENDS) {
      it(`${backend}: ${name}: the literal graph's bits`, async () => {
        const fast = await InferenceSession.create(model(m, false).bytes, { backend });
        const lit = model(m, true);
        const slow = await InferenceSession.create(lit.bytes, { backend });
        for (const [i, dims] of m.feeds.entries()) {
          const x = input(dims, 10 + i);
          const a = (await fast.run({ x })).y.data as Float32Array;
          const b = (await slow.run({ x, ...lit.scales })).y.data as Float32Array;
          expect(bitsOf(a), `input ${dims}`).toEqual(bitsOf(b));
        }
        const shapes = { x: m.feeds[0] };
        const kernels = fast.inspect(shapes).nodes.flatMap((n) => n.kernels);
        for (const k of m.kernels) expect(kernels).toContain(k);
        expect(slow.inspect(shapes).nodes.flatMap((n) => n.kernels)).not.toContain(m.kernels[0]);
      });
    }
  }
});

interface Stored { dims: number[]; b64: string }
const NETS = (JSON.parse(readFileSync(new URL('../fixtures/qonnx/nets.json', import.meta.url), 'utf8')) as { nets: { name: string; model: string; x: Stored; y: Stored }[] }).nets;
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe.each(ALL_BACKENDS)('QONNX networks vs qonnx\'s executor (%s)', (backend) => {
  it.each(NETS.map((n) => [n.name, n] as const))('%s: lowered, and the same bits', async (_, net) => {
    const s = await InferenceSession.create(b64(net.model), { backend });
    expect(s.inspect().passes['qonnx-quant']).toBe(net.name === 'MLP' ? 2 : 3);
    const y = (await s.run({ x: Tensor.fromBytes('float32', b64(net.x.b64), net.x.dims) })).y;
    expect(y.dims).toEqual(net.y.dims);
    expect(bitsOf(y.data as Float32Array)).toEqual(bitsOf(new Float32Array(b64(net.y.b64).buffer)));
  });
});

interface FloatCase {
  build(net: Net): void;
  /** The graph after the rules: what stays literal. */
  lowered: string[];
  x: number[];
  /** Compare numbers with the literal graph (false where f32 sums of this size are not exact). */
  compare?: boolean;
}

/** Layers whose quantizers the rule must leave alone (float path), wholly or on one side. */
const FLOAT_PATH: Record<string, FloatCase> = {
  'weight zero point 0.5 (not an integer)': {
    x: [2, 16], lowered: ['Quant', 'MatMul'],
    build: (m) => m.b.op('MatMul', [m.b.input('x', 'float32', [2, 16]), m.quant(m.weights([16, 4], 4), 4, 0.5, { zp: 0.5 })], {}, { outputs: ['y'] }),
  },
  'weight scale per input channel ([K, 1] on a MatMul)': {
    x: [2, 16], lowered: ['Quant', 'MatMul'],
    build: (m) => m.b.op('MatMul', [m.b.input('x', 'float32', [2, 16]), m.quant(m.weights([16, 4], 4), 4, m.pow2s(16), { dims: [16, 1] })], {}, { outputs: ['y'] }),
  },
  '9-bit weights': {
    x: [2, 16], lowered: ['Quant', 'MatMul'],
    build: (m) => m.b.op('MatMul', [m.b.input('x', 'float32', [2, 16]), m.quant(m.weights([16, 4], 200), 9, 0.5)], {}, { outputs: ['y'] }),
  },
  'Conv with quantised weights on f32 activations (no n-bit conv kernel)': {
    x: [1, 2, 5, 5], lowered: ['Quant', 'Conv'],
    build: (m) => m.b.op('Conv', [m.b.input('x', 'float32', [1, 2, 5, 5]), m.quant(m.weights([3, 2, 3, 3], 4), 4, 0.25)], {}, { outputs: ['y'] }),
  },
  'Gemm with alpha 2': {
    x: [2, 16], lowered: ['Quant', 'Quant', 'Gemm'],
    build: (m) => m.b.op('Gemm', [m.quant(m.b.input('x', 'float32', [2, 16]), 8, 0.25), m.quant(m.weights([16, 4], 4), 4, 0.5)], { alpha: 2 }, { outputs: ['y'] }),
  },
  '16-bit activations × 4-bit weights: weights low-bit, activations literal': {
    x: [2, 16], lowered: ['Quant', 'MatMulQW'],
    build: (m) => m.b.op('MatMul', [m.quant(m.b.input('x', 'float32', [2, 16]), 16, 0.25), m.quant(m.weights([16, 4], 4), 4, 0.5)], {}, { outputs: ['y'] }),
  },
  'signed activations with zero point 200 (outside int8)': {
    x: [2, 16], lowered: ['Quant', 'MatMulQW'],
    build: (m) => m.b.op('MatMul', [m.quant(m.b.input('x', 'float32', [2, 16]), 8, 4, { zp: 200 }), m.quant(m.weights([16, 4], 4), 4, 0.5)], {}, { outputs: ['y'] }),
  },
  'an i32 accumulator that could overflow (K·255·255 ≥ 2^31): 8-bit weights on f32 activations': {
    x: [1, 33100], lowered: ['Quant', 'MatMulQW'], compare: false,
    build: (m) => m.b.op('MatMul', [m.quant(m.b.input('x', 'float32', [1, 33100]), 8, 1, { signed: 0 }), m.quant(m.weights([33100, 1], 200), 8, 1, { signed: 0 })], {}, { outputs: ['y'] }),
  },
};

describe('QONNX layers the rule leaves on the float path', () => {
  for (const [name, c] of Object.entries(FLOAT_PATH)) {
    it(name, async () => {
      const m = { ...c, feeds: [c.x], kernels: [] };
      const g = decodeModel(model(m, false).bytes).graph;
      runPasses(g);
      expect(g.nodes.map((n) => n.opType)).toEqual(c.lowered);
      if (c.compare === false) return;
      const fast = await InferenceSession.create(model(m, false).bytes, { backend: 'simd' });
      const lit = model(m, true);
      const slow = await InferenceSession.create(lit.bytes, { backend: 'simd' });
      const x = input(c.x, 4);
      expect(bitsOf((await fast.run({ x })).y.data as Float32Array)).toEqual(bitsOf((await slow.run({ x, ...lit.scales })).y.data as Float32Array));
    });
  }
});

/**
 * Arbitrary scales: no graph is exact any more. The integer layers compute f32(f32(acc)·f32(s_x·s_w))
 * (QGemmToFloat) or f32(f32(f32(acc)·s_w)·s_x) (MatMulQWQ8) from the exact acc (three roundings,
 * and one for the bias); the literal graph rounds each
 * dequantised value, each product and each partial sum ((K + 2) roundings); MatMulQW on f32
 * activations sums in f32 too (assembly/gemm_q4.ts: (K + 2)·u). Both sides are within their
 * bound of the same real number, so they differ by at most (2K + 6)·u·Σ_k |x̂_k·ŵ_k|, u = 2^−24,
 * with x̂, ŵ the literal graph's dequantised values (read from its outputs).
 */
describe.each(ALL_BACKENDS)('QONNX layers with arbitrary scales agree with the literal graph within rounding (%s)', (backend) => {
  const K = 96, N = 7, rows = 5;
  const LAYERS = [
    { name: '8-bit act × 4-bit per-channel W (MatMulQWQ8)', zp: 0, op: 'MatMulQWQ8' },
    { name: '8-bit act, zero point −3 (t − z beyond int8) × 4-bit per-channel W (QGemmToFloat)', zp: -3, op: 'QGemmToFloat' },
    { name: 'f32 act × 4-bit per-channel W (MatMulQW)', zp: undefined, op: 'MatMulQW' },
  ];
  for (const { name, zp, op } of LAYERS) {
    const quantAct = zp !== undefined;
    it(name, async () => {
      const sw = Array.from({ length: N }, (_, i) => 0.0173 * (i + 1.31));
      const build = (literal: boolean) => {
        const m = new Net(literal, rng(8));
        const x = m.b.input('x', 'float32', [rows, K]);
        const xq = quantAct ? m.quant(x, 8, 0.0419, { zp }) : x;
        const wq = m.quant(m.weights([K, N], 0.2), 4, sw, { dims: [1, N] });
        m.b.op('MatMul', [xq, wq], {}, { outputs: ['y'] });
        m.b.output('y', 'float32', null);
        if (literal) for (const [v, d] of [[xq, [rows, K]], [wq, [K, N]]] as const) m.b.output(v, 'float32', d);
        return { bytes: m.b.toBytes(), scales: m.scales, names: [xq, wq] };
      };
      const fast = await InferenceSession.create(build(false).bytes, { backend });
      const lit = build(true);
      const slow = await InferenceSession.create(lit.bytes, { backend });
      const r = rng(2);
      const x = new Tensor('float32', Float32Array.from({ length: rows * K }, () => (r() - 0.5) * 9), [rows, K]);
      const y = (await fast.run({ x })).y.data as Float32Array;
      const out = await slow.run({ x, ...lit.scales });
      const [xh, wh] = lit.names.map((n) => out[n].data as Float32Array);
      const yl = out.y.data as Float32Array;
      let differs = 0;
      for (let i = 0; i < rows; i++) {
        for (let n = 0; n < N; n++) {
          let mag = 0;
          for (let k = 0; k < K; k++) mag += Math.abs(xh[i * K + k] * wh[k * N + n]);
          const tol = (2 * K + 6) * 2 ** -24 * mag;
          expect(Math.abs(y[i * N + n] - yl[i * N + n]), `y[${i},${n}]`).toBeLessThanOrEqual(tol);
          if (y[i * N + n] !== yl[i * N + n]) differs++;
        }
      }
      expect(fast.inspect().nodes.map((nd) => nd.opType)).toContain(op);
      expect(differs).toBeLessThan(rows * N); // rounding differences, not a different computation
    });
  }
});
