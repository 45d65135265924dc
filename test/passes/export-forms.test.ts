// export-forms (src/passes/export-forms.ts): the TorchScript exporter's x.view(x.size(0), …)
// becomes Reshape(x, [0, …]) and a Transpose of a weight quantizer folds into its constants —
// graph-in → graph-out, the same outputs as the graph run op by op, and the forms it must leave.

import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/onnx/decode.js';
import { exportFormsPass } from '../../src/passes/export-forms.js';
import { runPasses } from '../../src/passes/index.js';
import { Engine, type Feed } from '../../src/session/engine.js';
import { compileKernels } from '../../src/kernels/wasm.js';
import { toNumbers } from '../../src/ir/tensor.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { randomF32, rng } from '../support/kernels.js';

const QONNX = 'qonnx.custom_op.general';
type Batch = 'unsqueeze' | 'unsqueeze-attr' | 'gather-1d' | 'slice';

/** x [n, 4, 3, 3] → Relu → Reshape to [x.size(0), −1] in one of the exporters' spellings. */
function viewModel(batch: Batch, opts: { allowzero?: number; shapeOf?: 'other'; index?: number; start?: number } = {}): Uint8Array {
  const b = new OnnxBuilder({ opset: batch === 'unsqueeze-attr' ? 11 : 17 });
  const x = b.input('x', 'float32', ['n', 4, 3, 3]);
  const r = b.op('Relu', [x]);
  const shape = b.op('Shape', [opts.shapeOf === 'other' ? x : r], opts.start !== undefined ? { start: opts.start } : {});
  const i = opts.index ?? 0;
  let d0: string;
  if (batch === 'slice') d0 = b.op('Slice', [shape, b.const('int64', [1], [i]), b.const('int64', [1], [i + 1])]);
  else if (batch === 'gather-1d') d0 = b.op('Gather', [shape, b.const('int64', [1], [i])]);
  else {
    const g = b.op('Gather', [shape, b.const('int64', [], [i])]);
    d0 = batch === 'unsqueeze' ? b.op('Unsqueeze', [g, b.const('int64', [1], [0])]) : b.op('Unsqueeze', [g], { axes: [0] });
  }
  const target = b.op('Concat', [d0, b.const('int64', [1], [-1])], { axis: 0 });
  b.op('Reshape', [r, target], opts.allowzero !== undefined ? { allowzero: opts.allowzero } : {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  return b.toBytes();
}

async function run(bytes: Uint8Array, feeds: Record<string, Feed>, withRules: boolean): Promise<Feed> {
  const e = new Engine(decodeModel(bytes).graph, await compileKernels('simd'), 'simd', withRules ? {} : { passes: [] });
  return e.run(new Map(Object.entries(feeds))).get('y')!;
}

const feed = (dims: number[], seed: number): Feed => ({ dtype: 'float32', dims, bytes: new Uint8Array(randomF32(rng(seed), dims.reduce((p, q) => p * q, 1)).buffer) });

describe('export-forms: Reshape to [x.size(0), …]', () => {
  for (const batch of ['unsqueeze', 'unsqueeze-attr', 'gather-1d', 'slice'] as Batch[]) {
    it(`${batch}: becomes Reshape(x, [0, −1]) with the same outputs`, async () => {
      const bytes = viewModel(batch);
      const g = decodeModel(bytes).graph;
      expect(runPasses(g, [exportFormsPass]).fired['export-forms']).toBe(1);
      expect(g.nodes.map((n) => n.opType)).toEqual(['Relu', 'Reshape']);
      expect(toNumbers(g.initializers.get(g.nodes[1].inputs[1])!)).toEqual([0, -1]);
      for (const n of [1, 3]) {
        const f = { x: feed([n, 4, 3, 3], n) };
        const [a, b] = [await run(bytes, f, true), await run(bytes, f, false)];
        expect(a.dims).toEqual([n, 36]);
        expect(b.dims).toEqual([n, 36]);
        expect(Array.from(a.bytes)).toEqual(Array.from(b.bytes));
      }
    });
  }
  it.each([
    ['allowzero = 1 (a 0 would be a literal 0)', { allowzero: 1 }],
    ['the Shape of another value', { shapeOf: 'other' as const }],
    ['dimension 1, not the batch', { index: 1 }],
    ['a Shape with start = 1', { start: 1 }],
  ])('leaves %s', (_name, opts) => {
    const g = decodeModel(viewModel('unsqueeze', opts)).graph;
    expect(runPasses(g, [exportFormsPass]).fired['export-forms']).toBeUndefined();
    expect(g.nodes.map((n) => n.opType)).toContain('Shape');
  });
});

/** MatMul(a, Transpose(Q(W [N, K], per-row scale [N, 1]))) as the TorchScript exporter writes a Linear. */
function transposedWeight(q: 'Quant' | 'BipolarQuant', act: 'float' | 'bipolar'): Uint8Array {
  const r = rng(4);
  const [N, K] = [6, 10];
  const b = new OnnxBuilder({ opset: 17, domains: { [QONNX]: 1 } });
  let x = b.input('x', 'float32', [3, K]);
  if (act === 'bipolar') x = b.op('BipolarQuant', [x, b.const('float32', [], [1])], {}, { domain: QONNX });
  const w = b.const('float32', [N, K], Array.from(randomF32(r, N * K, 4)));
  const s = b.const('float32', [N, 1], Array.from({ length: N }, (_, i) => 2 ** -(i % 3)));
  const wq = q === 'Quant'
    ? b.op('Quant', [w, s, b.const('float32', [], [0]), b.const('float32', [], [4])], { signed: 1, narrow: 1, rounding_mode: 'ROUND' }, { domain: QONNX })
    : b.op('BipolarQuant', [w, s], {}, { domain: QONNX });
  b.op('MatMul', [x, b.op('Transpose', [wq], { perm: [1, 0] })], {}, { outputs: ['y'] });
  b.output('y', 'float32', null);
  return b.toBytes();
}

describe('export-forms: Transpose of a weight quantizer', () => {
  for (const [q, act, layer] of [['Quant', 'float', 'MatMulQW'], ['BipolarQuant', 'bipolar', 'BinaryMatMul']] as const) {
    it(`${q} weights under ${act} activations: folded, then lowered to ${layer}, the literal graph's outputs`, async () => {
      const bytes = transposedWeight(q, act);
      const g = decodeModel(bytes).graph;
      const fired = runPasses(g).fired;
      expect(fired['export-forms']).toBe(1);
      expect(g.nodes.map((n) => n.opType)).toEqual([layer]);
      const f = { x: feed([3, 10], 9) };
      const [a, b] = [await run(bytes, f, true), await run(bytes, f, false)];
      expect(Array.from(new Float32Array(a.bytes.slice().buffer))).toEqual(Array.from(new Float32Array(b.bytes.slice().buffer)));
    });
  }
});
