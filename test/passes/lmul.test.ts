// L-Mul execution mode: the chosen op kinds run on L-Mul (bit-exact against a direct L-Mul
// computation), the others stay exact f32; attention = the two MatMuls around a Softmax; inspect
// shows where it applies; bad options fail at create time.

import { describe, expect, it } from 'vitest';
import { InferenceSession, LowbitError, Tensor } from '../../src/index.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { attentionMatmuls } from '../../src/passes/lmul.js';
import { main } from '../../src/cli/main.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { lmulRef } from '../../scripts/lib/lmul.js';
import { ALL_BACKENDS, randomF32, rng } from '../support/kernels.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const M = 5, K = 37, N = 19;

/** x[M,K] → MatMul(W1) → Relu → Gemm(W2ᵀ, bias) → y; the Relu fuses into the MatMul. */
function mlp(seed: number) {
  const r = rng(seed);
  const w1 = randomF32(r, K * N, 0.5), w2 = randomF32(r, N * N, 0.5), bias = randomF32(r, N, 0.5);
  const b = new OnnxBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [M, K]);
  const h = b.op('MatMul', [x, b.init('w1', 'float32', [K, N], w1)], {}, { name: 'mm' });
  const hr = b.op('Relu', [h]);
  const y = b.op('Gemm', [hr, b.init('w2', 'float32', [N, N], w2), b.init('b2', 'float32', [N], bias)], { transB: 1 }, { name: 'gemm', outputs: ['y'] });
  b.output(y, 'float32', null);
  return { bytes: b.toBytes(), w1, w2, bias };
}

/** C = Σₖ L-Mul(a[m,k], b[k,n]) summed in k order in f32 (the kernels' contract). */
function lmulMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, bits: number, bT = false): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s = Math.fround(s + lmulRef(a[i * k + t], bT ? b[j * k + t] : b[t * n + j], bits));
    c[i * n + j] = s;
  }
  return c;
}

/** Single-head attention: softmax(Q·Kᵀ/√d)·V, then an output projection (not attention). */
function attention(seed: number) {
  const r = rng(seed);
  const T = 6, D = 8;
  const b = new OnnxBuilder({ opset: 17 });
  const q = b.input('q', 'float32', [T, D]);
  const k = b.input('k', 'float32', [T, D]);
  const v = b.input('v', 'float32', [T, D]);
  const kt = b.op('Transpose', [k], { perm: [1, 0] });
  const s = b.op('MatMul', [q, kt], {}, { name: 'scores' });
  const sc = b.op('Div', [s, b.init('scale', 'float32', [], [Math.sqrt(D)])]);
  const p = b.op('Softmax', [sc], { axis: -1 });
  const o = b.op('MatMul', [p, v], {}, { name: 'context' });
  const y = b.op('MatMul', [o, b.init('wo', 'float32', [D, D], randomF32(r, D * D, 0.5))], {}, { name: 'proj', outputs: ['y'] });
  b.output(y, 'float32', null);
  return { bytes: b.toBytes(), T, D };
}

describe('L-Mul execution mode', () => {
  it.each(ALL_BACKENDS)('%s: MatMul (+fused Relu) and Gemm (transB, bias) equal a direct L-Mul computation bit for bit', async (backend) => {
    const { bytes, w1, w2, bias } = mlp(1);
    const x = randomF32(rng(2), M * K);
    for (const bits of [2, 3, 5]) {
      const s = await InferenceSession.create(bytes, { backend, lmul: { mantissaBits: bits } });
      const got = (await s.run({ x: new Tensor('float32', x, [M, K]) })).y.data as Float32Array;
      const h = lmulMatmul(x, w1, M, K, N, bits).map((t) => Math.max(t, 0));
      const want = lmulMatmul(h, w2, M, N, N, bits, true).map((t, i) => Math.fround(t + bias[i % N]));
      expect(Array.from(got)).toEqual(Array.from(want));
      const rep = s.inspect();
      expect(rep.passes.lmul).toBe(2);
      expect(rep.nodes.map((n) => n.kernel)).toEqual(['lmul_gemm_f32', 'lmul_gemm_f32']);
      expect(rep.nodes.every((n) => !n.exact && n.math.endsWith(`m = ${bits}`))).toBe(true);
      await s.release();
    }
  });

  it('runs only the chosen op kinds on L-Mul; the rest stays exact f32', async () => {
    const { bytes } = mlp(1);
    const s = await InferenceSession.create(bytes, { lmul: { mantissaBits: 4, ops: ['Gemm'] } });
    const rep = s.inspect();
    expect(rep.nodes.map((n) => [n.name, n.kernel.startsWith('lmul_'), n.exact])).toEqual([['mm', false, true], ['gemm', true, false]]);
  });

  it('Conv on L-Mul equals a direct L-Mul convolution (padding, stride, bias)', async () => {
    const r = rng(3);
    const C = 3, Mo = 4, H = 7;
    const w = randomF32(r, Mo * C * 9, 0.5), bias = randomF32(r, Mo, 0.5), x = randomF32(r, C * H * H);
    const b = new OnnxBuilder({ opset: 17 });
    const y = b.op('Conv', [b.input('x', 'float32', [1, C, H, H]), b.init('w', 'float32', [Mo, C, 3, 3], w), b.init('b', 'float32', [Mo], bias)],
      { pads: [1, 1, 1, 1], strides: [2, 2] }, { name: 'conv', outputs: ['y'] });
    b.output(y, 'float32', null);
    const s = await InferenceSession.create(b.toBytes(), { lmul: { mantissaBits: 3, ops: ['Conv'] } });
    const got = (await s.run({ x: new Tensor('float32', x, [1, C, H, H]) })).y.data as Float32Array;
    const O = 4;
    const want = new Float32Array(Mo * O * O);
    for (let m = 0; m < Mo; m++) for (let oh = 0; oh < O; oh++) for (let ow = 0; ow < O; ow++) {
      let acc = 0;
      for (let c = 0; c < C; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const ih = oh * 2 - 1 + i, iw = ow * 2 - 1 + j;
        if (ih < 0 || iw < 0 || ih >= H || iw >= H) continue;
        acc = Math.fround(acc + lmulRef(w[((m * C + c) * 3 + i) * 3 + j], x[(c * H + ih) * H + iw], 3));
      }
      want[(m * O + oh) * O + ow] = Math.fround(acc + bias[m]);
    }
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(s.inspect().nodes[0].kernel).toBe('lmul_conv_f32');
  });

  it("'attention' takes the Q·Kᵀ and ·V MatMuls of a Softmax block, not the projection", async () => {
    const { bytes, T, D } = attention(4);
    expect([...attentionMatmuls(decodeModel(bytes).graph)].map((n) => n.name).sort()).toEqual(['context', 'scores']);
    const s = await InferenceSession.create(bytes, { lmul: { mantissaBits: 3, ops: ['attention'] } });
    const kernels = Object.fromEntries(s.inspect().nodes.map((n) => [n.name, n.kernel]));
    expect(kernels).toMatchObject({ scores: 'lmul_gemm_f32', context: 'lmul_gemm_f32', proj: 'gemm_f32_pp' });
    const r = rng(5);
    const f = { q: randomF32(r, T * D), k: randomF32(r, T * D), v: randomF32(r, T * D) };
    const feeds = Object.fromEntries(Object.entries(f).map(([n, d]) => [n, new Tensor('float32', d, [T, D])]));
    const exact = await InferenceSession.create(bytes);
    const a = (await s.run(feeds)).y.data as Float32Array;
    const e = (await exact.run(feeds)).y.data as Float32Array;
    // Close to the exact model, but not the same numbers.
    expect(a).not.toEqual(e);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - e[i])).toBeLessThan(0.25 * (1 + Math.abs(e[i])));
  });

  it.each([
    [{ mantissaBits: 0 }, /mantissaBits must be an integer from 1 to 23/],
    [{ mantissaBits: 24 }, /mantissaBits must be an integer from 1 to 23/],
    [{ mantissaBits: 2.5 }, /mantissaBits/],
    [{ mantissaBits: 3, ops: ['MatMul', 'Softmax'] }, /unknown op kind 'Softmax'/],
    [{ mantissaBits: 3, ops: [] }, /non-empty list/],
  ])('bad option %j: LowbitError at create', async (opt, msg) => {
    const err = await InferenceSession.create(mlp(1).bytes, { lmul: opt as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LowbitError);
    expect((err as LowbitError).code).toBe('LOWBIT_BAD_OPTION');
    expect((err as Error).message).toMatch(msg);
  });

  it('CLI: --lmul BITS[:OPS] on inspect, and a clear error for a bad value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmul-'));
    const file = join(dir, 'mlp.onnx');
    writeFileSync(file, mlp(1).bytes);
    let out = '', err = '';
    const io = { out: (t: string) => { out += t; }, err: (t: string) => { err += t; } };
    expect(await main(['inspect', file, '--lmul', '3:MatMul'], io)).toBe(0);
    expect(out).toMatch(/mm\s+LMulMatMul\s+lmul_gemm_f32/);
    expect(out).toMatch(/gemm\s+Gemm\s+gemm_f32/);
    expect(await main(['inspect', file, '--lmul', '3:Foo'], io)).toBe(1);
    expect(err).toMatch(/unknown op kind 'Foo'/);
    expect(await main(['inspect', file, '--lmul', 'x'], io)).toBe(1);
    expect(err).toMatch(/--lmul 'x' must be BITS/);
  });
});
