// Reduce*, Softmax/LogSoftmax and LayerNormalization as ONNX operators vs onnxruntime-node:
// axes as attribute and as input, keepdims, noop_with_empty_axes, negative axes, the opset-11
// 2-D coercion of Softmax, LayerNormalization's Mean/InvStdDev outputs; plus bad models.

import { describe, expect, it } from 'vitest';
import { InferenceSession, LowbitError } from '../../src/index.js';
import { differential, formatReport, type FeedValue, type Tolerance } from '../../scripts/lib/differential.js';
import { OnnxBuilder, type AttrInput } from '../../scripts/lib/onnx-builder.js';
import type { DType } from '../../src/ir/dtype.js';
import { rng } from '../support/kernels.js';

const TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

interface Model {
  opset: number;
  op: string;
  dtype?: DType;
  dims: number[];
  attrs?: Record<string, AttrInput>;
  /** Axes as a constant input 1 (`[]` = an empty axes tensor). */
  axesInput?: number[];
  /** Extra float inputs as constants (name → dims). */
  consts?: number[][];
  outputs?: number;
}

function build(m: Model): Uint8Array {
  const b = new OnnxBuilder({ opset: m.opset });
  const dt = m.dtype ?? 'float32';
  const x = b.input('x', dt, m.dims);
  const r = rng(99);
  const ins = [x];
  for (const d of m.consts ?? []) ins.push(b.const('float32', d, Array.from({ length: d.reduce((a, c) => a * c, 1) }, () => r() * 2 - 1)));
  if (m.axesInput) ins.push(b.const('int64', [m.axesInput.length], m.axesInput));
  const outs = b.opMulti(m.op, ins, m.attrs ?? {}, { outputs: Array.from({ length: m.outputs ?? 1 }, (_, i) => `y${i}`) });
  for (const o of outs) b.output(o, m.op === 'LayerNormalization' ? 'float32' : dt, null);
  return b.toBytes();
}

function feed(m: Model, seed: number): FeedValue {
  const r = rng(seed);
  const n = m.dims.reduce((a, c) => a * c, 1);
  const dt = (m.dtype ?? 'float32') as 'float32' | 'int32' | 'int64';
  // Integer products stay in range with factors ±1, ±2 (overflow is not specified by ONNX).
  const int = m.op === 'ReduceProd' ? () => [-2, -1, 1, 2][Math.floor(r() * 4)] : () => Math.floor((r() - 0.5) * 2000);
  if (dt === 'int64') return { type: dt, dims: m.dims, data: BigInt64Array.from({ length: n }, () => BigInt(int())) };
  if (dt === 'int32') return { type: dt, dims: m.dims, data: Int32Array.from({ length: n }, int) };
  // Positive inputs keep ReduceLogSum defined.
  const pos = m.op === 'ReduceLogSum';
  return { type: dt, dims: m.dims, data: Float32Array.from({ length: n }, () => (pos ? r() + 0.1 : (r() * 2 - 1) * 3)) };
}

const REDUCE_OPS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp'];

const reduceCases: Model[] = [];
for (const op of REDUCE_OPS) {
  const axesInputSince = op === 'ReduceSum' ? 13 : 18;
  const dims = [3, 4, 5, 2];
  for (const [axes, keepdims] of [[[1], 1], [[0, 2], 0], [[-1], 1], [[1, 3], 1], [[0, 1, 2, 3], 0]] as [number[], number][]) {
    reduceCases.push({ opset: 11, op, dims, attrs: { axes, keepdims } });
    reduceCases.push({ opset: axesInputSince, op, dims, attrs: { keepdims }, axesInput: axes });
  }
  reduceCases.push({ opset: 11, op, dims });
  reduceCases.push({ opset: axesInputSince, op, dims, attrs: { keepdims: 0 } });
  reduceCases.push({ opset: axesInputSince, op, dims, axesInput: [] });
  reduceCases.push({ opset: axesInputSince, op, dims, attrs: { noop_with_empty_axes: 1 }, axesInput: [] });
}
for (const op of ['ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceMean', 'ReduceSumSquare', 'ReduceL1']) {
  for (const dtype of ['int32', 'int64'] as const) {
    reduceCases.push({ opset: op === 'ReduceSum' ? 13 : 18, op, dtype, dims: [4, 3, 5], axesInput: [0, 2], attrs: { keepdims: 0 } });
  }
}

const normCases: Model[] = [];
for (const op of ['Softmax', 'LogSoftmax']) {
  for (const opset of [11, 13]) {
    for (const axis of [undefined, 0, 1, -1, -2]) normCases.push({ opset, op, dims: [2, 3, 4, 5], attrs: axis === undefined ? {} : { axis } });
  }
  normCases.push({ opset: 13, op, dims: [3, 700], attrs: { axis: 1 } });
  normCases.push({ opset: 13, op, dims: [3, 5, 300], attrs: { axis: 1 } });
}
for (const axis of [-1, -2, 1, 0]) {
  const dims = [2, 3, 4, 5];
  const norm = dims.slice(axis < 0 ? axis + 4 : axis);
  normCases.push({ opset: 17, op: 'LayerNormalization', dims, attrs: { axis, epsilon: 1e-3 }, consts: [norm, norm], outputs: 3 });
  normCases.push({ opset: 17, op: 'LayerNormalization', dims, attrs: { axis }, consts: [norm], outputs: 1 });
}
normCases.push({ opset: 17, op: 'LayerNormalization', dims: [3, 4, 6], consts: [[6], [1, 6]], outputs: 2 });

const label = (m: Model) => `${m.op} opset ${m.opset} ${m.dtype ?? 'float32'} [${m.dims}] ${JSON.stringify(m.attrs ?? {})}${m.axesInput ? ` axes input [${m.axesInput}]` : ''}`;

describe.each([['reductions', reduceCases], ['softmax and layer norm', normCases]] as const)('%s vs onnxruntime-node', (_, cases) => {
  it.each(cases.map((m) => [label(m), m] as const))('%s', async (_name, m) => {
    for (const backend of ['scalar', 'relaxed'] as const) {
      const report = await differential(build(m), { x: feed(m, 7) }, TOL, backend);
      expect(report.ok, formatReport(report)).toBe(true);
    }
  });
});

describe('bad reduce / norm models fail with a named error', () => {
  const expectFail = async (m: Model, code: string, part: string) => {
    const err = await InferenceSession.create(build(m)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LowbitError);
    expect((err as LowbitError).code).toBe(code);
    expect((err as LowbitError).message).toContain(part);
  };
  it('repeated or out-of-range axes, integer ReduceL2, a wrong stash_type', async () => {
    await expectFail({ opset: 18, op: 'ReduceSum', dims: [2, 3], axesInput: [1, -1] }, 'LOWBIT_BAD_MODEL', 'repeat');
    await expectFail({ opset: 11, op: 'ReduceMax', dims: [2, 3], attrs: { axes: [2] } }, 'LOWBIT_BAD_MODEL', 'out of range');
    await expectFail({ opset: 18, op: 'ReduceL2', dtype: 'int32', dims: [2, 3] }, 'LOWBIT_UNSUPPORTED', 'int32');
    await expectFail({ opset: 13, op: 'Softmax', dims: [2, 3], attrs: { axis: 2 } }, 'LOWBIT_BAD_MODEL', 'out of range');
    await expectFail({ opset: 17, op: 'LayerNormalization', dims: [2, 3], attrs: { stash_type: 11 }, consts: [[3]] }, 'LOWBIT_UNSUPPORTED', 'stash_type');
    await expectFail({ opset: 17, op: 'LayerNormalization', dims: [2, 3], consts: [[4]] }, 'LOWBIT_SHAPE_MISMATCH', 'normalised shape');
  });
});
