// Sessions share nothing mutable: two sessions (same or different models) run concurrently and
// interleaved give bit-identical outputs to each used alone; a failed run leaves the session
// usable; release() frees the session's WASM memory (measured: reachable memories and RSS).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { expectLowbit } from './support/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const MODELS = ['fmnist-mlp-fp32', 'fmnist-cnn-int8-qdq', 'fmnist-mlp-w1a1-qonnx', 'fmnist-cnn-w2a2-qdq'].map((m) => `models/${m}.onnx`);

/** Deterministic pseudo-random images [n, 1, 28, 28] in [0, 1). */
function images(n: number, seed: number): Tensor {
  const a = new Float32Array(n * 784);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
  return new Tensor('float32', a, [n, 1, 28, 28]);
}
const logits = async (s: InferenceSession, x: Tensor) => (await s.run({ input: x })).logits.data as Float32Array;

describe('isolation between sessions', () => {
  it('concurrent, interleaved runs of two sessions per model and across models equal runs alone', async () => {
    const feeds = [1, 3, 2, 5, 1, 4].map((n, i) => images(n, 100 + i));
    // Alone: one fresh session per model, one feed after another.
    const alone = new Map<string, Float32Array[]>();
    for (const m of MODELS) {
      const s = await InferenceSession.create(m);
      const outs: Float32Array[] = [];
      for (const x of feeds) outs.push(await logits(s, x));
      alone.set(m, outs);
    }
    // Together: two sessions of every model, all runs started at once, each session's feeds in a
    // different order (different batch sizes re-plan and re-bind between runs).
    const sessions = await Promise.all([...MODELS, ...MODELS].map((m) => InferenceSession.create(m)));
    const jobs = sessions.flatMap((s, k) => {
      const order = feeds.map((_, i) => (k % 2 ? feeds.length - 1 - i : i));
      return order.map(async (i) => ({ m: MODELS[k % MODELS.length], i, y: await logits(s, feeds[i]) }));
    });
    const got = await Promise.all(jobs);
    expect(got.length).toBe(MODELS.length * 2 * feeds.length);
    for (const { m, i, y } of got) expect(y, `${m} feed ${i}`).toEqual(alone.get(m)![i]);
  });

  it('a failed run leaves the session usable, with the same outputs as before', async () => {
    const s = await InferenceSession.create(MODELS[1]);
    const x = images(2, 7);
    const before = await logits(s, x);
    await expectLowbit(s.run({ input: new Tensor('float32', new Float32Array(10), [10]) }), 'LOWBIT_SHAPE_MISMATCH');
    await expectLowbit(s.run({ input: new Tensor('int32', new Int32Array(784), [1, 1, 28, 28]) }), 'LOWBIT_TYPE_MISMATCH');
    await expectLowbit(s.run({ nope: x }), 'LOWBIT_BAD_INPUT');
    expect(await logits(s, x)).toEqual(before);
    // A NaN through a quantizer, then a good run.
    const b = new OnnxBuilder({ opset: 13 });
    const inp = b.input('x', 'float32', [1, 4]);
    const sc = b.const('float32', [], [0.5]);
    const zp = b.const('int8', [], [0]);
    const q = b.op('QuantizeLinear', [inp, sc, zp], {}, { name: 'q' });
    b.output(b.op('DequantizeLinear', [q, sc, zp], {}, { outputs: ['y'] }), 'float32', [1, 4]);
    const qs = await InferenceSession.create(b.toBytes());
    const good = new Tensor('float32', [1, -2, 3.2, 100], [1, 4]);
    const want = (await qs.run({ x: good })).y.data;
    await qs.run({ x: new Tensor('float32', [NaN, 1, 2, 3], [1, 4]) });
    expect((await qs.run({ x: good })).y.data).toEqual(want);
    // A run stopped by its time budget.
    const slow = await InferenceSession.create(MODELS[0], { runTimeLimitMs: 1e-6 });
    await expectLowbit(slow.run({ input: images(64, 1) }), 'LOWBIT_LIMIT', 'runTimeLimitMs');
  });

  it('a released session refuses to run', async () => {
    const s = await InferenceSession.create(MODELS[0]);
    await s.release();
    await expectLowbit(s.run({ input: images(1, 0) }), 'LOWBIT_RELEASED', 'released');
  });

  it('release() frees the WASM memory (measured in a separate process: scripts/release-memory.ts)', async () => {
    const sessions = 32;
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/release-memory.ts', '--sessions', String(sessions)], { cwd: ROOT });
    const r = JSON.parse(stdout) as { heldBytes: number; reachable: number; rssGrowthBytes: number };
    // 32 sessions × ≈ 25 MiB; kept alive they would all stay resident (measured: 12 kept = +334 MiB RSS).
    expect(r.heldBytes).toBeGreaterThan(sessions * 20 * 1024 ** 2);
    // V8 frees collected WASM memories lazily: a few stay reachable for a while, more on a loaded
    // machine (measured 1–5 of 16 and 2–5 of 32, 34–146 MiB RSS), a number that does not grow with
    // the sessions. Without release() (or with a leak) all of them stay.
    expect(r.reachable).toBeLessThan(sessions / 4);
    expect(r.rssGrowthBytes, `RSS grew ${(r.rssGrowthBytes / 1024 ** 2).toFixed(0)} MiB for ${(r.heldBytes / 1024 ** 2).toFixed(0)} MiB held`).toBeLessThan(r.heldBytes * 0.25);
  });
});
