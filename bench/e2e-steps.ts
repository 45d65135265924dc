// Where the time of an end-to-end bench row goes: lowbit's plan steps timed one by one and summed
// per kernel, beside the whole session run and onnxruntime-web (fp32) on the same model — all
// interleaved in one loop in one process, so machine load hits every column alike.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/e2e-steps.ts [--rounds N] [--only NAME]
// NAME: binary_resnet18_224 | ternary_transformer_d1024 (generated into build/models/ if absent).

import { parseArgs } from 'node:util';
import { InferenceSession } from '../src/index.js';
import type { BoundPlan } from '../src/runtime/executor.js';
import { loadE2ECase, type E2EName } from './lib/e2e-files.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, only: { type: 'string' } } });
const rounds = Number(args.rounds);
const names: E2EName[] = args.only ? [args.only as E2EName] : ['binary_resnet18_224', 'ternary_transformer_d1024'];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const name of names) {
  const c = loadE2ECase(name);
  const session = await InferenceSession.create(c.model, { backend: 'relaxed' });
  const { feeds, ortFeeds } = bothFeeds(c);
  const ort = await ortWebSession(c.model);
  session.runSync(feeds);
  await ort.run(ortFeeds);
  // The bound plan of the last run: its kernels and absolute arguments, step by step.
  const bp = (session._engine as unknown as { bound: BoundPlan }).bound as unknown as { fns: ((...a: number[]) => number)[]; args: number[][]; plan: BoundPlan['plan'] };
  const steps = bp.plan.steps.map((s, i) => ({ kernel: s.kernel, fn: () => bp.fns[i](...bp.args[i]) }));
  const stepMs: number[][] = steps.map(() => []);
  const whole: Record<'session' | 'ortweb_fp32', number[]> = { session: [], ortweb_fp32: [] };
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    await ort.run(ortFeeds);
    whole.ortweb_fp32.push(performance.now() - t0);
    t0 = performance.now();
    session.runSync(feeds);
    whole.session.push(performance.now() - t0);
    steps.forEach((s, i) => {
      const t = performance.now();
      s.fn();
      stepMs[i].push(performance.now() - t);
    });
  }
  const byKernel = new Map<string, { ms: number; steps: number }>();
  steps.forEach((s, i) => {
    const k = byKernel.get(s.kernel) ?? { ms: 0, steps: 0 };
    byKernel.set(s.kernel, { ms: k.ms + median(stepMs[i]), steps: k.steps + 1 });
  });
  const total = [...byKernel.values()].reduce((a, k) => a + k.ms, 0);
  const [sess, web] = [median(whole.session), median(whole.ortweb_fp32)];
  console.log(`${name}  (medians of ${rounds} interleaved rounds)`);
  console.log(`  session ${sess.toFixed(1)} ms · ort-web fp32 ${web.toFixed(1)} ms · ort-web / lowbit ${(web / sess).toFixed(2)}× · steps sum ${total.toFixed(1)} ms`);
  for (const [k, v] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms)) {
    if (v.ms < 0.005 * total) continue;
    console.log(`  ${k.padEnd(24)} ${v.ms.toFixed(2).padStart(9)} ms ${(100 * v.ms / total).toFixed(1).padStart(5)} %  (${v.steps} steps)`);
  }
  await ort.release();
  await session.release();
}
