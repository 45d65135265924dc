import { describe, expect, it } from 'vitest';
import { overlaps, placeBuffers, type Lifetime } from '../../src/plan/arena.js';
import { rng } from '../support/kernels.js';

describe('arena placement by liveness', () => {
  it('never overlaps two buffers that are live at the same time (random lifetimes)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 40);
      const bufs: Lifetime[] = Array.from({ length: n }, () => {
        const first = Math.floor(r() * 30) - 1;
        return { bytes: 1 + Math.floor(r() * 5000), first, last: first + Math.floor(r() * 10) };
      });
      const { offsets, total } = placeBuffers(bufs);
      for (let i = 0; i < n; i++) {
        expect(offsets[i] % 64, `seed ${seed}`).toBe(0);
        expect(offsets[i] + bufs[i].bytes, `seed ${seed}`).toBeLessThanOrEqual(total);
        for (let j = i + 1; j < n; j++) {
          if (!overlaps(bufs[i], bufs[j])) continue;
          const disjoint = offsets[i] + bufs[i].bytes <= offsets[j] || offsets[j] + bufs[j].bytes <= offsets[i];
          if (!disjoint) expect.fail(`seed ${seed}: buffers ${i} and ${j} are live together and overlap`);
        }
      }
    }
  });

  it('reuses memory: a chain of equal buffers needs two slots, not n', () => {
    const bufs = Array.from({ length: 10 }, (_, i) => ({ bytes: 1024, first: i, last: i + 1 }));
    expect(placeBuffers(bufs).total).toBe(2048);
  });
});

describe('plans of real models', () => {
  it('place the live buffers of the Fashion-MNIST MLP without overlap and reuse memory', async () => {
    const { InferenceSession, Tensor } = await import('../../src/index.js');
    const s = await InferenceSession.create(new URL('../../models/fmnist-mlp-fp32.onnx', import.meta.url).pathname);
    await s.run({ input: new Tensor('float32', new Float32Array(8 * 784), [8, 1, 28, 28]) });
    const plan = s._engine.planFor(new Map([['input', { dtype: 'float32', dims: [8, 1, 28, 28], bytes: new Uint8Array(8 * 784 * 4) }]]));
    const b = plan.buffers;
    expect(b.length).toBeGreaterThan(3);
    for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) {
      if (!overlaps(b[i], b[j])) continue;
      expect(b[i].offset + b[i].bytes <= b[j].offset || b[j].offset + b[j].bytes <= b[i].offset).toBe(true);
    }
    expect(plan.arenaBytes).toBeLessThan(b.reduce((a, x) => a + x.bytes, 0));
  });
});
