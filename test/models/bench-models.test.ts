// The generators of the end-to-end benchmark models (bench/lib/binary-resnet.ts,
// bench/lib/ternary-transformer.ts) at small sizes: every binary conv runs on the XNOR-popcount
// conv and every ternary Linear on the ternary × int8 GEMM, and the outputs match
// onnxruntime-node on every kernel build.
//
// Tolerance 1e-5 absolute + relative: the binary and ternary layers are exact integer dots with one
// final rounding (the float evaluation's partial sums are exact for the ResNet's ±s_n; for the
// ternary layers onnxruntime rounds each product of its float MatMul), the fp32 layers differ by
// summation order, and at these sizes no intermediate value lands on a quantizer's rounding
// boundary (measured: ≤ 3e-6 on outputs of magnitude ≤ 12). The full-size transformer does hit
// such boundaries (bench/lib/e2e-rows.ts).

import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, supportedBackends, Tensor } from '../../src/index.js';
import { binaryResnet, resnetMacs, RESNET18_224, type ResNetShape } from '../../bench/lib/binary-resnet.js';
import type { BenchCase } from '../../bench/lib/models.js';
import { ternaryTransformer, transformerMacs, TRANSFORMER_D1024, type TransformerShape } from '../../bench/lib/ternary-transformer.js';

const backends = await supportedBackends();
const TOL = 1e-5;

const RESNET: ResNetShape = { size: 32, widths: [8, 16, 32, 64], blocks: 2, classes: 10 };
const TRANSFORMER: TransformerShape = { blocks: 2, d: 64, heads: 4, seq: 16, ffn: 256 };

async function ortNodeOutput(c: BenchCase): Promise<Float32Array> {
  const s = await ortNode.InferenceSession.create(c.model, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const feeds = Object.fromEntries(Object.entries(c.feeds).map(([n, f]) => [n, new ortNode.Tensor('float32', f.data as Float32Array, f.dims)]));
    return (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

async function expectMatchesOrt(c: BenchCase): Promise<void> {
  const ref = await ortNodeOutput(c);
  for (const backend of backends) {
    const s = await InferenceSession.create(c.model, { backend });
    const feeds = Object.fromEntries(Object.entries(c.feeds).map(([n, f]) => [n, new Tensor('float32', f.data as Float32Array, f.dims)]));
    const y = (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
    await s.release();
    expect(y.length).toBe(ref.length);
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref[i]) - TOL * Math.abs(ref[i]));
    expect(worst, `${backend}: max |Δ| − rtol·|ref|`).toBeLessThanOrEqual(TOL);
  }
}

describe('binary ResNet generator', () => {
  it('counts ResNet-18 MACs at 224²: 1.8 G, all but the stem, shortcuts and classifier binary', () => {
    const m = resnetMacs(RESNET18_224);
    // Conv 7×7 stem 118.0 M, three 1×1 stride-2 shortcuts 6.4 M each, classifier 0.512 M.
    expect(m.float).toBe(118_013_952 + 3 * 6_422_528 + 512_000);
    expect(m.binary + m.float).toBeGreaterThan(1.8e9);
    expect(m.binary + m.float).toBeLessThan(1.83e9);
  });

  it('lowers all 16 binary convs to bconv_b1b1 (8 chained in sign bits); fp32 stem, shortcuts and head stay f32', async () => {
    const s = await InferenceSession.create(binaryResnet(RESNET, 1).model);
    const r = s.inspect();
    await s.release();
    const binary = r.nodes.filter((n) => n.opType === 'BinaryConv');
    expect(binary).toHaveLength(4 * RESNET.blocks * 2);
    for (const n of binary) expect(n.kernels, n.name).toContain('bconv_b1b1');
    expect(r.passes['binary-chain']).toBe(4 * RESNET.blocks);
    const float = r.nodes.filter((n) => n.weightBits === 32);
    expect(float.map((n) => n.opType).sort()).toEqual(['Conv', 'Conv', 'Conv', 'FusedConv', 'Gemm']);
    for (const n of float) expect(n.reason, n.name).toMatch(/weights are not ±s per output channel/);
  });

  it('matches onnxruntime-node on every build (32×32, widths 8–64), and so does its int8 QDQ twin', async () => {
    for (const seed of [1, 2]) {
      await expectMatchesOrt(binaryResnet(RESNET, seed));
      await expectMatchesOrt(binaryResnet(RESNET, seed, undefined, true));
    }
  });
});

describe('ternary transformer generator', () => {
  it('counts the d=1024 stack: 4 blocks × 128 tokens × (4·d² + 2·d·4d) ternary MACs', () => {
    expect(transformerMacs(TRANSFORMER_D1024)).toEqual({ ternary: 4 * 128 * 12 * 1024 * 1024, float: 4 * 2 * 128 * 128 * 1024 });
  });

  it('lowers every Linear to tgemm_t2i8 (float {−s, 0, +s} weights under int8 QDQ activations)', async () => {
    const s = await InferenceSession.create(ternaryTransformer(TRANSFORMER, 1, 'float').model);
    const r = s.inspect();
    await s.release();
    const linear = r.nodes.filter((n) => n.opType === 'TernaryMatMul');
    expect(linear).toHaveLength(6 * TRANSFORMER.blocks);
    for (const n of linear) expect({ kernel: n.kernels.includes('tgemm_t2i8'), w: n.weightBits, a: n.activationBits }, n.name).toEqual({ kernel: true, w: 2, a: 8 });
    expect(r.nodes.filter((n) => n.opType === 'MatMul' && n.weightBits !== null)).toEqual([]);
  });

  it('matches onnxruntime-node on every build (d=64, 2 blocks), weights as float and as DQ(int8)', async () => {
    for (const seed of [1, 2]) {
      await expectMatchesOrt(ternaryTransformer(TRANSFORMER, seed, 'float'));
      await expectMatchesOrt(ternaryTransformer(TRANSFORMER, seed, 'int8'));
    }
  });
});
