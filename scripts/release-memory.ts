// node --expose-gc --import tsx scripts/release-memory.ts [--keep] [--sessions N]
// Measures what release() frees: N sessions each run 4096 images of the fmnist MLP (≈ 25 MiB of
// WASM memory) and are released (or, with --keep, kept). Prints JSON: the WASM bytes the sessions
// held, how many of their memories are still reachable after collection, and RSS growth. Runs in
// its own process so nothing else (a test runner) holds references or skews RSS.

import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from '../src/index.js';

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, sessions: { type: 'string', default: '12' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MODEL = new URL('../models/fmnist-mlp-fp32.onnx', import.meta.url);
const images = (n: number) => new Tensor('float32', new Float32Array(n * 784).fill(0.3), [n, 1, 28, 28]);

const kept: InferenceSession[] = [];
async function useOne(): Promise<{ ref: WeakRef<WebAssembly.Memory>; bytes: number }> {
  const s = await InferenceSession.create(MODEL);
  await s.run({ input: images(4096) });
  const mem = s._engine.machine.memory;
  if (values.keep) kept.push(s);
  else await s.release();
  return { ref: new WeakRef(mem), bytes: mem.buffer.byteLength };
}

await (await InferenceSession.create(MODEL)).run({ input: images(1) }); // compile, warm up
gc();
const rss0 = process.memoryUsage().rss;
const used: { ref: WeakRef<WebAssembly.Memory>; bytes: number }[] = [];
for (let i = 0; i < Number(values.sessions); i++) {
  used.push(await useOne());
  gc();
}
// V8 frees collected WASM memories lazily: collect until none is reachable (bounded).
const alive = () => used.filter((u) => u.ref.deref() !== undefined).length;
for (let k = 0; k < 200 && alive() > 0; k++) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(JSON.stringify({
  sessions: used.length, released: !values.keep, heldBytes: used.reduce((a, u) => a + u.bytes, 0),
  reachable: alive(), rssGrowthBytes: process.memoryUsage().rss - rss0, kept: kept.length,
}) + '\n');
