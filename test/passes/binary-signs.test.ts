// The bipolar signs a binary layer takes (src/passes/bipolar.ts) and the moves between sign and
// layer (src/passes/sign-motion.ts): Where(Less(x, 0), −1, +1), QONNX BipolarQuant, 1-bit signed
// QONNX Quant (a scale below 2, and one of 2 or more, where x / s rounds tiny negatives to −0),
// directly, through Flatten, through MaxPool into a Conv, through MaxPool and Reshape into a
// MatMul. Reference: the same graph run op by op by lowbit (no rule), whose QONNX ops
// test/ops/qonnx.test.ts pins to qonnx's executor; inputs hold NaN, ±0, ±∞ and subnormals, where
// the signs differ (NaN → +1 for Where, −1 for the QONNX ops). Weights ±2^k keep every float
// sum exact, so the outputs must be bit-identical.

import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses, type Declines } from '../../src/passes/index.js';
import { Engine } from '../../src/session/engine.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';

const QONNX = 'qonnx.custom_op.general';
type Sign = 'where' | 'bipolar' | 'quant' | 'quant-divides';
type Path = 'direct' | 'flatten' | 'pool-conv' | 'pool-reshape';
const SIGNS: Sign[] = ['where', 'bipolar', 'quant', 'quant-divides'];
const PATHS: Path[] = ['direct', 'flatten', 'pool-conv', 'pool-reshape'];

/** Values where the signs disagree or round: NaN, ±0, ±∞, subnormals (x / 4 of −1e-45 is −0). */
function edgy(r: () => number, n: number): Float32Array {
  const special = [NaN, 0, -0, Infinity, -Infinity, -1e-45, 1e-45, -3e-45, -1e-40];
  return Float32Array.from({ length: n }, () => (r() < 0.25 ? special[Math.floor(r() * special.length)] : r() * 2 - 1));
}

function sign(b: OnnxBuilder, kind: Sign, x: string): string {
  if (kind === 'where') return b.op('Where', [b.op('Less', [x, b.const('float32', [], [0])]), b.const('float32', [], [-1]), b.const('float32', [], [1])]);
  if (kind === 'bipolar') return b.op('BipolarQuant', [x, b.const('float32', [], [0.5])], {}, { domain: QONNX });
  const s = kind === 'quant' ? 0.75 : 4;
  return b.op('Quant', [x, b.const('float32', [], [s]), b.const('float32', [], [0]), b.const('float32', [], [1])],
    { signed: 1, narrow: 0, rounding_mode: 'ROUND' }, { domain: QONNX });
}

const pow2Weights = (r: () => number, n: number): number[] => Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 2 ** -Math.floor(r() * 3));

/** ±s_n weights of [out, in…] (per output channel n). */
function weights(r: () => number, dims: number[], perOut: boolean): number[] {
  const per = dims.slice(1).reduce((p, q) => p * q, 1);
  const s = pow2Weights(r, dims[0]).map(Math.abs);
  return Array.from({ length: dims[0] * per }, (_, i) => (r() < 0.5 ? -1 : 1) * s[perOut ? Math.floor(i / per) : 0]);
}

const X_DIMS: Record<Path, number[]> = { direct: [3, 40], flatten: [2, 4, 3, 3], 'pool-conv': [2, 4, 7, 7], 'pool-reshape': [2, 4, 6, 6] };

function model(kind: Sign, path: Path): Uint8Array {
  const r = rng(21);
  const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  let x = b.input('x', 'float32', X_DIMS[path]);
  if (path === 'pool-reshape') {
    // A BatchNorm states the channels for the Reshape of the pooled bits (and keeps NaN: 0·∞).
    const c = (v: number[]) => b.const('float32', [4], v);
    x = b.op('BatchNormalization', [x, c([1, -2, 0.5, 1]), c([0, 0.25, -0.5, 0]), c([0, 0.125, 0, -0.25]), c([1, 4, 0.25, 1])], { epsilon: 0 });
  }
  let a = sign(b, kind, x);
  if (path === 'flatten') a = b.op('Flatten', [a]);
  if (path === 'pool-conv' || path === 'pool-reshape') a = b.op('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2], ...(path === 'pool-conv' ? { pads: [0, 0, 1, 1] } : {}) });
  if (path === 'pool-reshape') a = b.op('Reshape', [a, b.const('int64', [2], [0, -1])]);
  if (path === 'pool-conv') {
    b.op('Conv', [a, b.const('float32', [6, 4, 3, 3], weights(r, [6, 4, 3, 3], true))], { pads: [1, 1, 1, 1] }, { outputs: ['y'] });
  } else {
    const K = path === 'direct' ? 40 : 36;
    const w = weights(r, [12, K], true);
    b.op('Gemm', [a, b.const('float32', [12, K], w), b.const('float32', [12], pow2Weights(r, 12))], { transB: 1 }, { outputs: ['y'] });
  }
  b.output('y', 'float32', null);
  return b.toBytes();
}

async function literal(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const e = new Engine(decodeModel(bytes).graph, await compileKernels('scalar'), 'scalar', { passes: [] });
  const y = e.run(new Map([['x', { dtype: 'float32', dims, bytes: new Uint8Array(x.slice().buffer) }]])).get('y')!;
  return new Float32Array(y.bytes.slice().buffer);
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.slice().buffer));

describe('bipolar signs and their moves → binary layers', () => {
  for (const kind of SIGNS) {
    for (const path of PATHS) {
      const bytes = model(kind, path);
      it(`${kind}, ${path}: lowered`, () => {
        const g = decodeModel(bytes).graph;
        expect(runPasses(g).fired.binary).toBe(1);
        const ops = g.nodes.map((n) => n.opType);
        const layer = g.nodes.find((n) => n.opType.startsWith('Binary'))!;
        expect(layer.attrs.get('nan_negative')?.value ?? 0).toBe(kind === 'where' ? 0 : 1);
        expect(ops.filter((o) => ['Where', 'BipolarQuant', 'Quant', 'MaxPool'].includes(o))).toEqual([]);
        expect(ops.includes('Div')).toBe(kind === 'quant-divides');
        if (path.startsWith('pool')) expect(ops).toEqual(expect.arrayContaining(['PackSigns', 'BitMaxPool']));
      });
      it.each(ALL_BACKENDS)(`${kind}, ${path}: the literal graph's bits, NaN and tiny negatives included (%s)`, async (backend) => {
        const dims = X_DIMS[path];
        const x = edgy(rng(path.length * 7 + kind.length), dims.reduce((p, q) => p * q, 1));
        const s = await InferenceSession.create(bytes, { backend });
        const got = (await s.run({ x: new Tensor('float32', x, dims) })).y.data as Float32Array;
        expect(s.inspect().nodes.some((n) => n.kernel === 'bgemm_b1b1' || n.kernel === 'bconv_b1b1')).toBe(true);
        expect(bits(got)).toEqual(bits(await literal(bytes, x, dims)));
      });
    }
  }
});

/**
 * L1 → Mul(c) → sign → L2 with c ∈ {+∞, −∞, 0, …} per channel: 0·∞ = NaN where L1's dot is 0,
 * so the chained bits must follow the sign's NaN rule.
 */
function nanChain(kind: Sign, graphOutput = false): Uint8Array {
  const r = rng(8);
  const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  const x = sign(b, kind, b.input('x', 'float32', [16, 8]));
  const h = b.op('MatMul', [x, b.const('float32', [8, 6], weights(r, [8, 6], false))]);
  const m = b.op('Mul', [h, b.const('float32', [6], [Infinity, -Infinity, 0, 1, -2, Infinity])], {}, { outputs: graphOutput ? ['m'] : 1 });
  b.op('MatMul', [sign(b, kind, m), b.const('float32', [6, 5], weights(r, [6, 5], false))], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  if (graphOutput) b.output('m', 'float32', null);
  return b.toBytes();
}

describe('binary chains follow the readers\' NaN rule', () => {
  for (const kind of SIGNS) {
    it.each(ALL_BACKENDS)(`${kind}: chained bits equal the literal graph where a stage makes NaN (%s)`, async (backend) => {
      const bytes = nanChain(kind);
      const g = decodeModel(bytes).graph;
      expect(runPasses(g).fired['binary-chain']).toBe(1);
      const r = rng(3);
      const x = Float32Array.from({ length: 128 }, () => r() * 2 - 1);
      const s = await InferenceSession.create(bytes, { backend });
      const got = (await s.run({ x: new Tensor('float32', x, [16, 8]) })).y.data as Float32Array;
      const want = await literal(bytes, x, [16, 8]);
      expect(bits(got)).toEqual(bits(want));
    });
  }
});

describe('declines say why a layer stays as it was', () => {
  const reasons = (bytes: Uint8Array): Declines => {
    const d: Declines = new Map();
    runPasses(decodeModel(bytes).graph, undefined, d);
    return d;
  };
  it('binary-chain: an intermediate that is also a graph output keeps the layer\'s output in f32', async () => {
    const bytes = nanChain('bipolar', true);
    const d = [...reasons(bytes).values()].flatMap((x) => x.reasons);
    expect(d).toContainEqual(expect.stringMatching(/^binary-chain: output not kept in bits: output \(after Mul\) is also a graph output/));
    const s = await InferenceSession.create(bytes, { backend: 'simd' });
    const first = s.inspect().nodes.find((n) => n.opType === 'BinaryMatMul' && n.reason !== null);
    expect(first?.reason).toMatch(/binary-chain: .*graph output/);
  });
  it('binary: a pooled sign read by a MatMul directly, and pooled bits of unknown channels, stay float', () => {
    const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
    const x = b.op('Sigmoid', [b.input('x', 'float32', [1, 4, 4, 4])]);
    const pooled = b.op('MaxPool', [sign(b, 'bipolar', x)], { kernel_shape: [2, 2], strides: [2, 2] });
    b.op('MatMul', [pooled, b.const('float32', [2, 3], weights(rng(1), [2, 3], false))], {}, { outputs: ['y'], name: 'direct' });
    b.op('MatMul', [b.op('Flatten', [pooled]), b.const('float32', [16, 3], weights(rng(2), [16, 3], false))], {}, { outputs: ['z'], name: 'flat' });
    b.output('y', 'float32', null);
    b.output('z', 'float32', null);
    const d = reasons(b.toBytes());
    expect(d.get('direct')?.reasons).toEqual(['binary: a MaxPool feeds a MatMul/Gemm directly (no bit layout for that)']);
    expect(d.get('flat')?.reasons).toEqual(['binary: the channels of the value pooled before the Flatten/Reshape are not known at load']);
  });
});

describe('PackSigns and nan_negative reject what they cannot take', () => {
  const LOWBIT = 'ai.lowbit';
  async function failure(build: (b: OnnxBuilder) => void): Promise<string> {
    const b = new OnnxBuilder({ opset: 17, domains: { [LOWBIT]: 1 } });
    build(b);
    b.output('y', 'uint8', null);
    try {
      const s = await InferenceSession.create(b.toBytes(), { backend: 'scalar' });
      await s.run({ x: new Tensor('float32', new Float32Array(16), [1, 4, 2, 2]) });
    } catch (e) {
      return `${(e as { code?: string }).code}: ${(e as Error).message}`;
    }
    return 'ran';
  }
  it('PackSigns whose channels differ from X\'s', async () => {
    const msg = await failure((b) => b.op('PackSigns', [b.input('x', 'float32', [1, 4, 2, 2])], { nhwc: 1, channels: 5 }, { domain: LOWBIT, outputs: ['y'] }));
    expect(msg).toMatch(/^LOWBIT_SHAPE_MISMATCH: .*4 channels where 5 were expected/);
  });
  it('nan_negative other than 0 or 1', async () => {
    const msg = await failure((b) => b.op('PackSigns', [b.input('x', 'float32', [1, 4, 2, 2])], { nhwc: 1, nan_negative: 2 }, { domain: LOWBIT, outputs: ['y'] }));
    expect(msg).toMatch(/^LOWBIT_BAD_MODEL: .*nan_negative must be 0 or 1, got 2/);
  });
});
