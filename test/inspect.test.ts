// session.inspect(): which kernels each node runs, whether they are exact, quantization metadata.

import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../src/index.js';
import { rng } from './support/kernels.js';
import { nbitsModel } from './support/nbits-models.js';
import { randomWeights } from './support/qweights.js';

const model = (f: string) => new URL(`../models/${f}`, import.meta.url).pathname;

describe('session.inspect()', () => {
  it('fp32 MLP: every Gemm on the f32 GEMM, exact, nothing quantized', async () => {
    const s = await InferenceSession.create(model('fmnist-mlp-fp32.onnx'));
    const r = s.inspect({ input: [1, 1, 28, 28] });
    // Gemm → Relu pairs are fused into one node that applies the ReLU as the GEMM stores.
    expect(r.passes['fuse-activation']).toBe(2);
    const gemms = r.nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'FusedGemm');
    expect(gemms.map((n) => n.opType)).toEqual(['FusedGemm', 'FusedGemm', 'Gemm']);
    expect(r.nodes.some((n) => n.opType === 'Relu')).toBe(false);
    for (const n of gemms) {
      expect(n.math).toBe('f32');
      expect(n.exact).toBe(true);
      expect(n.kernels.some((k) => k.startsWith('gemm_f32'))).toBe(true);
    }
    expect(r.quant).toEqual([]);
    expect(r.memory.weightsBytes).toBeGreaterThan(0);
  });

  it('DQ(UINT4, block 32) → MatMul: rewritten to 4-bit weights, metadata recorded, exact f32 activations', async () => {
    const s = await InferenceSession.create(model('fmnist-mlp-int4-qdq.onnx'));
    const r = s.inspect({ input: [1, 1, 28, 28] });
    expect(r.passes['dq-matmul']).toBeGreaterThan(0);
    const q = r.nodes.filter((n) => n.kernels.includes('qwgemm_f32'));
    expect(q.length).toBe(r.passes['dq-matmul']);
    expect(q.every((n) => n.exact && n.math === 'n-bit weights × f32')).toBe(true);
    expect(r.quant.length).toBe(r.passes['dq-matmul']);
    for (const m of r.quant) expect({ bits: m.bits, blockSize: m.blockSize, signed: m.signed }).toEqual({ bits: 4, blockSize: 32, signed: false });
  });

  it('MatMulNBits says when activations are quantized to int8 (accuracy_level 4) and when not', async () => {
    const w = randomWeights(rng(7), 24, 64, 4, 32, false);
    for (const level of [0, 4]) {
      const s = await InferenceSession.create(nbitsModel({ w, lead: [2], zp: 'packed', bias: null, accuracyLevel: level }));
      const [n] = s.inspect().nodes.filter((x) => x.opType === 'MatMulNBits');
      if (level === 4) {
        expect(n.kernels).toContain('qwgemm_i8');
        expect(n.exact).toBe(false);
        expect(n.notes.join(' ')).toContain('accuracy_level 4');
      } else {
        expect(n.kernels).toContain('qwgemm_f32');
        expect(n.exact).toBe(true);
        expect(n.notes).toEqual([]);
      }
    }
  });
});
