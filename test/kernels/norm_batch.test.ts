import { describe, expect, it } from 'vitest';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { foldConstants } from '../../src/ops/batchnorm.js';
import { InferenceSession, Tensor } from '../../src/index.js';
import { ALL_BACKENDS, KernelBox, randomF32, rng } from '../support/kernels.js';

function params(r: () => number, c: number) {
  const scale = randomF32(r, c, 2);
  const bias = randomF32(r, c, 1);
  const mean = randomF32(r, c, 1);
  // Variances from 0 (ε alone) up to 4.
  const variance = new Float32Array(c).map((_, i) => (i % 5 === 0 ? 0 : r() * 4));
  return { scale, bias, mean, variance };
}

describe.each(ALL_BACKENDS)('BatchNormalization kernels (%s)', (backend) => {
  const box = new KernelBox(backend);

  it('bn_fold_f32 gives the same bits as the plan-time fold', () => {
    const r = rng(21);
    for (const c of [1, 3, 4, 17, 64]) for (const eps of [1e-5, 0.01]) {
      box.reset();
      const p = params(r, c);
      const s = box.alloc(c * 4), t = box.alloc(c * 4);
      box.call('bn_fold_f32', box.put(p.scale), box.put(p.bias), box.put(p.mean), box.put(p.variance), eps, c, s, t);
      const want = foldConstants(p.scale, p.bias, p.mean, p.variance, eps);
      expect([...box.f32(s, c), ...box.f32(t, c)], `c=${c} eps=${eps}`).toEqual([...want]);
    }
  });

  it('channel_affine_f32 computes x·s + t (multiply, then add) exactly, out of place and in place', () => {
    const r = rng(22);
    for (const n of [1, 2]) for (const c of [1, 3, 8]) for (const inner of [1, 2, 3, 4, 5, 7, 8, 9, 17, 49]) for (const inPlace of [false, true]) {
      box.reset();
      const x = randomF32(r, n * c * inner, 3);
      const s = randomF32(r, c, 2), t = randomF32(r, c, 1);
      const px = box.put(x);
      const py = inPlace ? px : box.alloc(x.length * 4);
      box.call('channel_affine_f32', px, py, box.put(s), box.put(t), n, c, inner);
      const got = box.f32(py, x.length);
      for (let i = 0; i < x.length; i++) {
        const ch = Math.floor(i / inner) % c;
        const want = Math.fround(Math.fround(x[i] * s[ch]) + t[ch]);
        if (got[i] !== want) expect.fail(`n=${n} c=${c} inner=${inner} inPlace=${inPlace} [${i}]: ${got[i]} vs ${want}`);
      }
    }
  });

  it('bn_stats_f32 gives population mean/variance; bn_running_f32 blends with momentum', () => {
    const r = rng(23);
    for (const [n, c, inner] of [[1, 1, 1], [2, 3, 20], [3, 5, 7], [1, 4, 1]]) {
      box.reset();
      const x = randomF32(r, n * c * inner, 2).map((v, i) => v + (Math.floor(i / inner) % c));
      const pm = box.alloc(c * 4), pv = box.alloc(c * 4), pr = box.alloc(c * 4);
      box.call('bn_stats_f32', box.put(x), pm, pv, n, c, inner);
      const mean = box.f32(pm, c), variance = box.f32(pv, c);
      const running = randomF32(r, c, 1);
      box.call('bn_running_f32', box.put(running), pm, pr, c, 0.9);
      const blended = box.f32(pr, c);
      for (let ch = 0; ch < c; ch++) {
        const vals: number[] = [];
        for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) vals.push(x[(b * c + ch) * inner + i]);
        const m = vals.reduce((a, v) => a + v, 0) / vals.length;
        const v = vals.reduce((a, u) => a + (u - m) ** 2, 0) / vals.length;
        expect(mean[ch]).toBe(Math.fround(m));
        expect(Math.abs(variance[ch] - v)).toBeLessThanOrEqual(1e-6 * (1 + v));
        expect(blended[ch]).toBe(Math.fround(Math.fround(running[ch] * Math.fround(0.9)) + Math.fround(mean[ch] * Math.fround(1 - Math.fround(0.9)))));
      }
    }
  });
});

describe('BatchNormalization op', () => {
  it('constant parameters (folded at plan time) and fed parameters (folded by the kernel) agree bit for bit', async () => {
    const r = rng(24);
    const [N, C, H, W] = [2, 5, 3, 7];
    const p = params(r, C);
    const x = randomF32(r, N * C * H * W, 3);
    const model = (constant: boolean) => {
      const b = new OnnxBuilder({ opset: 15 });
      const xi = b.input('x', 'float32', [N, C, H, W]);
      const names = (['scale', 'bias', 'mean', 'variance'] as const).map((k) =>
        constant ? b.init(k, 'float32', [C], p[k]) : b.input(k, 'float32', [C]));
      b.output(b.op('BatchNormalization', [xi, ...names], { epsilon: 0.001 }, { outputs: ['y'] }), 'float32', [N, C, H, W]);
      return new Uint8Array(b.toBytes());
    };
    const folded = await InferenceSession.create(model(true));
    const fed = await InferenceSession.create(model(false));
    const a = (await folded.run({ x: new Tensor('float32', x, [N, C, H, W]) })).y.data as Float32Array;
    const feeds: Record<string, Tensor> = { x: new Tensor('float32', x, [N, C, H, W]) };
    for (const k of ['scale', 'bias', 'mean', 'variance'] as const) feeds[k] = new Tensor('float32', p[k], [C]);
    const b = (await fed.run(feeds)).y.data as Float32Array;
    expect([...b]).toEqual([...a]);
    // And both are the ONNX formula within f32 rounding.
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / (H * W)) % C;
      const want = ((x[i] - p.mean[c]) / Math.sqrt(p.variance[c] + 0.001)) * p.scale[c] + p.bias[c];
      expect(Math.abs(a[i] - want)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)));
    }
  });
});
