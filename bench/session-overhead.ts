// Where a small row's session time goes beyond its kernel steps: session.run (async, as npm run
// bench times it), session.runSync, the bound plan's execute() alone, and the steps one by one,
// each right after an onnxruntime-web run of the same model (its cache footprint, as in the bench).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/session-overhead.ts ROW_ID [--quick]
import { InferenceSession } from '../src/index.js';
import type { BoundPlan } from '../src/runtime/executor.js';
import { ROWS } from './rows.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const id = process.argv[2];
const row = ROWS.find((r) => r.id === id);
if (!row) throw new Error(`usage: bench/session-overhead.ts ROW_ID (rows: ${ROWS.map((r) => r.id).join(', ')})`);
const quick = process.argv.includes('--quick');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const c = row.build();
const session = await InferenceSession.create(c.model, { backend: 'relaxed' });
const { feeds, ortFeeds } = bothFeeds(c);
const ort = await ortWebSession(c.model);
for (let i = 0; i < 20; i++) session.runSync(feeds);
const bp = (session._engine as unknown as { bound: BoundPlan }).bound as unknown as { fns: ((...a: number[]) => number)[]; args: number[][]; plan: BoundPlan['plan']; execute(): void };
const cols: Record<string, () => unknown> = {
  'session.run': () => session.run(feeds),
  'session.runSync': () => session.runSync(feeds),
  'execute()': () => bp.execute(),
};
bp.plan.steps.forEach((s, i) => (cols[`step ${i} ${s.kernel}`] = () => bp.fns[i](...bp.args[i])));
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cols).map((k) => [k, []]));
const ortMs: number[] = [];
const start = performance.now();
for (let i = 0; i < 10 || performance.now() - start < (quick ? 2000 : 8000); i++) {
  for (const [k, fn] of Object.entries(cols)) {
    let t0 = performance.now();
    await ort.run(ortFeeds);
    ortMs.push(performance.now() - t0);
    t0 = performance.now();
    await fn();
    samples[k].push(performance.now() - t0);
  }
}
console.log(`${row.id}: medians of ${samples['execute()'].length} runs, each right after ort-web (median ${median(ortMs).toFixed(3)} ms)`);
for (const [k, v] of Object.entries(samples)) console.log(`  ${k.padEnd(34)} ${median(v).toFixed(3).padStart(8)} ms  ${(median(ortMs) / median(v)).toFixed(2)}× ort-web`);
