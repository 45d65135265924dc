// Binary chains kept in sign bits and exact epilogue folds (src/passes/binary-chain.ts):
// graph-in → graph-out, bits equal to onnxruntime-node (ai.onnx form, exact BatchNorm values) or
// to lowbit running the literal ops (QONNX form; and the ai.onnx form with rounding BatchNorms,
// against the same model with the chain blocked), and no pack/unpack between chained layers.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InferenceSession, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { runPasses } from '../../src/passes/index.js';
import { Engine } from '../../src/session/engine.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { ALL_BACKENDS, rng } from '../support/kernels.js';
import { binaryCnn, binaryMlp, chainInput, CNN_INPUT, MLP_INPUT, type ChainSpec } from '../support/binary-chain-models.js';

type Build = (s: ChainSpec) => Uint8Array;
type Shape = Pick<ChainSpec, 'bn2' | 'group2' | 'head' | 'reshape'>;
const MODELS: { name: string; build: Build; dims: number[]; shape: Shape; chains: number }[] = [
  { name: 'CNN conv→BN→sign→conv→MaxPool→Flatten→sign→fc', build: binaryCnn, dims: CNN_INPUT, shape: {}, chains: 2 },
  { name: 'CNN with BN (γ < 0 in places) before the MaxPool', build: binaryCnn, dims: CNN_INPUT, shape: { bn2: 'before-pool' }, chains: 2 },
  { name: 'CNN with BN (γ < 0 in places) after the MaxPool, conv2 group 2, Reshape [0, −1]', build: binaryCnn, dims: CNN_INPUT, shape: { bn2: 'after-pool', group2: 2, head: 'reshape' }, chains: 2 },
  { name: 'CNN with Reshape [−1, 256]: two fc rows per image', build: binaryCnn, dims: CNN_INPUT, shape: { head: 'rows' }, chains: 2 },
  { name: 'MLP Gemm→BN→sign→MatMul→Mul→Sub→Clip→sign→MatMul→Div', build: binaryMlp, dims: MLP_INPUT, shape: {}, chains: 2 },
  { name: 'MLP with a Reshape [0, −1] after the BN', build: binaryMlp, dims: MLP_INPUT, shape: { reshape: true }, chains: 2 },
];

function ops(bytes: Uint8Array): string[] {
  const g = decodeModel(bytes).graph;
  runPasses(g);
  return g.nodes.map((n) => n.opType);
}

async function lowbit(bytes: Uint8Array, backend: (typeof ALL_BACKENDS)[number], x: Float32Array, dims: number[], extra: Record<string, Tensor> = {}) {
  const s = await InferenceSession.create(bytes, { backend });
  const out = await s.run({ x: new Tensor('float32', x, dims), ...extra });
  return { session: s, y: Array.from(out.y.data as Float32Array) };
}

async function onnxruntime(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  return Array.from((await s.run({ x: new ort.Tensor('float32', x, dims) })).y.data as Float32Array);
}

/** lowbit with no rewrite rule: every op of the graph runs as written, in f32. */
async function literal(bytes: Uint8Array, backend: (typeof ALL_BACKENDS)[number], x: Float32Array, dims: number[]): Promise<number[]> {
  const e = new Engine(decodeModel(bytes).graph, await compileKernels(backend), backend, { passes: [] });
  expect(e.passes.fired).toEqual({});
  const y = e.run(new Map([['x', { dtype: 'float32', dims, bytes: new Uint8Array(x.buffer) }]])).get('y')!;
  return Array.from(new Float32Array(y.bytes.slice().buffer));
}

/** Chained layers read bits: nothing between them packs, unpacks or computes in f32. */
function expectBitsBetweenLayers(session: InferenceSession, chained: string[]): void {
  const report = session.inspect();
  const byName = new Map(report.nodes.map((n) => [n.name, n]));
  for (const name of chained) {
    const kernels = byName.get(name)!.kernels;
    expect(kernels.filter((k) => k.startsWith('pack_signs')), `${name}: ${kernels}`).toEqual([]);
    expect(kernels).toContain(name.startsWith('conv') ? 'bconv_b1b1' : 'bgemm_b1b1');
  }
  const kinds = report.nodes.map((n) => n.opType);
  for (const gone of ['BatchNormalization', 'Where', 'Less', 'BipolarQuant', 'MaxPool', 'Flatten', 'Mul', 'Sub', 'Clip']) expect(kinds).not.toContain(gone);
  expect(report.nodes.flatMap((n) => n.kernels).filter((k) => k.startsWith('unpack'))).toEqual([]);
}

describe('binary-chain rewrite', () => {
  for (const m of MODELS) {
    it(`${m.name}: layers chained in bits, per-channel ops gone`, () => {
      const got = ops(m.build({ form: 'where', dyadic: true, ...m.shape }));
      const head = m.build === binaryCnn
        ? ['BinaryConv', 'BinaryConv', 'BitMaxPool', 'BitReshape', 'BinaryMatMul']
        : ['BinaryMatMul', ...(m.shape.reshape ? ['BitReshape'] : []), 'BinaryMatMul', 'BinaryMatMul', 'Div'];
      expect(got).toEqual(head);
      const g = decodeModel(m.build({ form: 'where', dyadic: true, ...m.shape })).graph;
      expect(runPasses(g).fired['binary-chain']).toBe(m.chains);
      const flags = g.nodes.filter((n) => n.opType.startsWith('Binary')).map((n) => [n.attrs.get('packed_input')?.value ?? 0, n.attrs.get('packed_output')?.value ?? 0]);
      expect(flags).toEqual([[0, 1], [1, 1], [1, 0]]);
    });
  }

  it('keeps f32 when the value before the sign, the sign or the layer output is also a graph output', () => {
    for (const extra of ['c1', 'bn1', 's1']) {
      const g = decodeModel(binaryCnn({ form: 'where', dyadic: false, extraOutputs: [extra] })).graph;
      expect(runPasses(g).fired['binary-chain']).toBe(1); // conv2 → MaxPool → Flatten → fc still chains
      const node = (name: string) => g.nodes.find((n) => n.name === name)!;
      expect(node('conv1').attrs.has('packed_output')).toBe(false);
      expect(node('conv2').attrs.has('packed_input')).toBe(false);
      expect(node('conv2').attrs.get('packed_output')?.value).toBe(1);
      expect(g.nodes.map((n) => n.opType)).toContain('BatchNormalization');
    }
  });

  it('keeps f32 when a reader is not a binary layer', () => {
    const b = new OnnxBuilder({ opset: 17 });
    const r = rng(3);
    const x = b.input('x', 'float32', [2, 32]);
    const sign = (v: string) => b.op('Where', [b.op('Less', [v, b.const('float32', [], [0])]), b.const('float32', [], [-1]), b.const('float32', [], [1])]);
    const pm = (n: number) => Float32Array.from({ length: n }, () => (r() < 0.5 ? -0.5 : 0.5));
    const h = b.op('MatMul', [sign(x), b.init('w1', 'float32', [32, 16], pm(512))], {}, { name: 'fc1' });
    const s = sign(b.op('Add', [h, b.const('float32', [16], pm(16))]));
    const y1 = b.op('MatMul', [s, b.init('w2', 'float32', [16, 4], pm(64))], {}, { name: 'fc2' });
    const y2 = b.op('MatMul', [s, b.init('w3', 'float32', [16, 4], Float32Array.from({ length: 64 }, () => r()))], {}, { name: 'float' });
    b.output(b.op('Add', [y1, y2], {}, { outputs: ['y'] }), 'float32', null);
    const got = ops(b.toBytes());
    expect(got).not.toContain('BitReshape');
    expect(got.filter((o) => o === 'BinaryMatMul').length).toBe(2);
    expect(got).toContain('Where'); // the float layer still reads the ±1 tensor
  });
});

describe('binary-chain numbers', () => {
  for (const backend of ALL_BACKENDS) {
    for (const m of MODELS) {
      it(`${backend}: ${m.name} equals onnxruntime-node bit for bit`, async () => {
        const bytes = m.build({ form: 'where', dyadic: true, ...m.shape, seed: 5 });
        const x = chainInput(m.dims, 6);
        const { session, y } = await lowbit(bytes, backend, x, m.dims);
        expect(session.inspect().passes['binary-chain']).toBe(m.chains);
        expectBitsBetweenLayers(session, m.build === binaryCnn ? ['conv2', 'fc'] : ['fc2', 'fc3']);
        expect(y).toEqual(await onnxruntime(bytes, x, m.dims));
      });
      it(`${backend}: ${m.name} with rounding BatchNorms equals the literal graph and the unchained layers`, async () => {
        const spec: ChainSpec = { form: 'where', dyadic: false, ...m.shape, seed: 7 };
        const x = chainInput(m.dims, 8);
        const fast = await lowbit(m.build(spec), backend, x, m.dims);
        expect(fast.y).toEqual(await literal(m.build(spec), backend, x, m.dims));
        // Exposing every value between the layers keeps them all in f32.
        const inner = m.build === binaryCnn ? ['bn1', 'p2'] : ['bn1', 'h2'];
        const slow = await lowbit(m.build({ ...spec, extraOutputs: inner }), backend, x, m.dims);
        expect(fast.session.inspect().passes['binary-chain']).toBe(m.chains);
        expect(slow.session.inspect().passes['binary-chain']).toBeUndefined();
        expect(fast.y).toEqual(slow.y);
      });
      it(`${backend}: ${m.name}, QONNX form, equals the literal QONNX graph`, async () => {
        const spec: ChainSpec = { form: 'qonnx', dyadic: false, ...m.shape, seed: 9 };
        const x = chainInput(m.dims, 10);
        const fast = await lowbit(m.build(spec), backend, x, m.dims);
        const literal = await lowbit(m.build({ ...spec, literal: true }), backend, x, m.dims, { sa: new Tensor('float32', new Float32Array([0.5]), []) });
        expect(fast.session.inspect().passes['binary-chain']).toBe(m.chains);
        expect(literal.session.inspect().passes.binary).toBeUndefined();
        expect(fast.y).toEqual(literal.y);
      });
    }
  }
});
