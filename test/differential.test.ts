// Differential tests: random fp32 models (MLP, CNN, transformer block) on every kernel build vs
// onnxruntime-node, at several batch / sequence sizes; plus checks that the harness itself
// reports differences.
//
// Tolerance: |lowbit − ort| ≤ ATOL + RTOL·|ort| with ATOL = RTOL = 1e-5. Both runtimes compute
// the same fp32 maths, only in different orders (blocked / SIMD-lane partial sums, fused
// multiply-add vs mul + add, onnxruntime's fused LayerNorm/Gelu/attention kernels) and with
// different exp/erf/tanh implementations. The models keep every activation O(1) (weights with
// variance 1/fan_in, K ≤ 72), so each dot product carries an error of order √K·u·Σ|aᵢbᵢ| with
// u = 2⁻²⁴ ≈ 6e-8, i.e. ~1e-6 after the deepest chain: measured onnxruntime-vs-float64 error on
// the transformer block is ≤ 1.2e-6 for outputs up to |y| ≈ 4, and lowbit-vs-onnxruntime on the
// MLP ≤ 2e-7. 1e-5 leaves ~10× for two independent fp32 evaluations, while any real defect (a
// dropped bias, a wrong Gelu form, a mis-strided head, an fp16 accumulator, a bias off by 1e-4
// — checked below) lands well above it.

import { describe, expect, it } from 'vitest';
import { InferenceSession, type Backend } from '../src/index.js';
import {
  compareOutput, createReferenceSession, formatReport, randomFeeds, runDifferential, type DifferentialSessions, type InputSpec, type Tolerance,
} from '../scripts/lib/differential.js';
import { buildMlp, mlpWeights, randomCnn, randomMlp, randomTransformer, type RandomModel } from '../scripts/lib/random-models.js';
import { ALL_BACKENDS } from './support/kernels.js';

const TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };

const specOf = (m: RandomModel): InputSpec[] => m.inputs.map((i) => ({ name: i.name, type: 'float32', shape: i.dims }));

const referenceSession = (m: RandomModel) => createReferenceSession(m.bytes);

interface Case {
  name: string;
  model: RandomModel;
  /** Symbolic dim sizes, one run each. */
  sizes: Record<string, number>[];
}

const CASES: Case[] = [
  // GEMV path for M < 4 and the 4×8 packed GEMM around its tile: batch below, at, above, multiples.
  { name: 'MLP (MatMul/Gemm + bias, Relu/Gelu/Tanh/Sigmoid)', model: randomMlp(), sizes: [1, 3, 4, 5, 17, 64].map((batch) => ({ batch })) },
  { name: 'CNN (Conv, BatchNormalization, Relu, MaxPool/AveragePool, GlobalAveragePool, Flatten, Gemm)', model: randomCnn(), sizes: [1, 2, 5].map((batch) => ({ batch })) },
  {
    name: 'transformer block (LayerNormalization, QKV, heads, Softmax attention, residuals, Gelu MLP)',
    model: randomTransformer(),
    sizes: [{ batch: 1, seq: 1 }, { batch: 1, seq: 7 }, { batch: 2, seq: 16 }, { batch: 3, seq: 33 }],
  },
];

describe.each(CASES)('$name vs onnxruntime-node', ({ model, sizes }) => {
  const reference = referenceSession(model);
  const lowbit = new Map<Backend, Promise<InferenceSession>>();
  const sessions = async (backend: Backend): Promise<DifferentialSessions> => {
    if (!lowbit.has(backend)) lowbit.set(backend, InferenceSession.create(model.bytes, { backend }));
    return { lowbit: await lowbit.get(backend)!, reference: await reference };
  };

  describe.each(ALL_BACKENDS)('%s', (backend) => {
    it.each(sizes)('agrees at %o', async (size) => {
      const seed = Object.values(size).reduce((h, v) => h * 131 + v, 7);
      const feeds = randomFeeds(specOf(model), size, seed);
      const report = await runDifferential(await sessions(backend), feeds, TOL);
      expect(report.backend).toBe(backend);
      expect(report.outputs.map((o) => o.name)).toEqual(model.outputs.map((o) => o.name));
      expect(report.ok, `feed seed ${seed}\n${formatReport(report)}`).toBe(true);
    });
  });
});

describe('the harness reports differences', () => {
  it('a bias off by 1e-4, or one weight off by 2e-4, in lowbit’s copy of the MLP is reported', async () => {
    const feeds = (batch: number) => randomFeeds(specOf(randomMlp()), { batch }, 3);
    const reference = await referenceSession(randomMlp());
    const biased = mlpWeights();
    biased.layers[biased.layers.length - 1].b.data[0] += 1e-4;
    const lbBias = await InferenceSession.create(buildMlp(biased).bytes, { backend: 'scalar' });
    const weighted = mlpWeights();
    weighted.layers[weighted.layers.length - 1].w.data[0] += 2e-4;
    const lbWeight = await InferenceSession.create(buildMlp(weighted).bytes, { backend: 'scalar' });
    for (const batch of [1, 5]) {
      const rb = await runDifferential({ lowbit: lbBias, reference }, feeds(batch), TOL);
      expect(rb.ok).toBe(false);
      const o = rb.outputs[0];
      expect([o.typeMatch, o.shapeMatch, o.compared]).toEqual([true, true, batch * 10]);
      // The shifted bias moves logit 0 of every row and nothing else.
      expect(o.mismatches).toBe(batch);
      expect(o.firstMismatches.map((m) => m.index)).toEqual(Array.from({ length: batch }, (_, i) => [i, 0]));
      expect(o.maxAbsError).toBeGreaterThan(0.9e-4);
      expect(formatReport(rb)).toContain('FAIL');
      // W[0] links input 0 to logit 0 (in the [K,N] and the transposed layout), so only column 0 moves.
      const rw = await runDifferential({ lowbit: lbWeight, reference }, feeds(batch), TOL);
      expect(rw.ok).toBe(false);
      expect(rw.outputs[0].firstMismatches.every((m) => m.index[1] === 0)).toBe(true);
    }
  });

  it('compareOutput: tolerance, mismatch indices, NaN/Inf, integers exact, dtype and shape', () => {
    const f = (data: number[], dims = [2, 2]) => ({ type: 'float32', dims, data: Float32Array.from(data) });
    const ok = compareOutput('y', f([1, 2, 3, 4]), f([1, 2, 3 + 1e-6, 4]), TOL);
    expect([ok.ok, ok.mismatches, ok.compared]).toEqual([true, 0, 4]);
    expect(ok.maxAbsError).toBeCloseTo(1e-6, 7);
    const bad = compareOutput('y', f([1, 2, 3, 4.01]), f([1, 2, 3, 4]), TOL);
    expect([bad.ok, bad.mismatches]).toEqual([false, 1]);
    expect(bad.firstMismatches[0].index).toEqual([1, 1]);
    expect(bad.maxRelError).toBeCloseTo(0.0025, 4);
    expect(compareOutput('y', f([NaN, Infinity, -Infinity, 0]), f([NaN, Infinity, -Infinity, 0]), TOL).ok).toBe(true);
    expect(compareOutput('y', f([NaN, 0, 0, 0]), f([0, 0, 0, 0]), TOL).ok).toBe(false);
    expect(compareOutput('y', f([Infinity, 0, 0, 0]), f([-Infinity, 0, 0, 0]), TOL).ok).toBe(false);
    const i64 = (v: bigint[]) => ({ type: 'int64', dims: [v.length], data: BigInt64Array.from(v) });
    expect(compareOutput('i', i64([1n, 2n ** 60n]), i64([1n, 2n ** 60n]), { rtol: 1, atol: 1 }).ok).toBe(true);
    expect(compareOutput('i', i64([1n, 2n ** 60n + 1n]), i64([1n, 2n ** 60n]), { rtol: 1, atol: 1 }).ok).toBe(false);
    const shape = compareOutput('y', f([1, 2, 3, 4], [4]), f([1, 2, 3, 4]), TOL);
    expect([shape.ok, shape.shapeMatch, shape.typeMatch]).toEqual([false, false, true]);
    const dtype = compareOutput('y', { type: 'float64', dims: [2, 2], data: Float64Array.from([1, 2, 3, 4]) }, f([1, 2, 3, 4]), TOL);
    expect([dtype.ok, dtype.typeMatch]).toEqual([false, false]);
    const missing = compareOutput('y', undefined, f([1, 2, 3, 4]), TOL);
    expect(missing.ok).toBe(false);
    expect(formatReport({ backend: 'simd', tolerance: TOL, outputs: [missing], ok: false })).toContain('— vs float32');
  });

  it('randomFeeds resolves symbolic dims and is reproducible from its seed', () => {
    const spec: InputSpec[] = [{ name: 'a', type: 'float32', shape: ['batch', 'seq', 4] }, { name: 'b', type: 'int64', shape: ['batch', -1] }];
    const defaulted = new Set<string>();
    const f = randomFeeds(spec, { batch: 2, seq: 3 }, 9, defaulted);
    expect(f.a.dims).toEqual([2, 3, 4]);
    expect(f.b.dims).toEqual([2, 1]);
    expect([...defaulted]).toEqual(['b[1]']);
    expect(f.a.data).toEqual(randomFeeds(spec, { batch: 2, seq: 3 }, 9).a.data);
    expect(f.a.data).not.toEqual(randomFeeds(spec, { batch: 2, seq: 3 }, 10).a.data);
    expect([...(f.b.data as BigInt64Array)].every((v) => v >= 0n && v < 4n)).toBe(true);
  });
});
