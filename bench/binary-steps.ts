// Where the time of the binary bench rows goes: each plan step of lowbit's session timed alone
// (pack of the f32 input, the popcount GEMM / conv with its epilogue, …), the whole session run
// (steps + input copy in + output copy out; and into a pre-allocated output tensor, no fresh
// array per run), and onnxruntime-web running the same layer as fp32
// and as int8 — all in one loop in one process, so machine load hits every column alike, and
// the session always runs right after ort-web (caches as `npm run bench` leaves them).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/binary-steps.ts [--quick] [--only ID]
// GOP/s counts 2·MACs of the row (a multiply and an add per ±1 product).

import { InferenceSession, Tensor } from '../src/index.js';
import type { BoundPlan } from '../src/runtime/executor.js';
import { ROWS } from './rows.js';
import type { BenchCase } from './lib/models.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function ortSession(c: BenchCase): Promise<() => Promise<unknown>> {
  const s = await ortWebSession(c.model);
  const { ortFeeds } = bothFeeds(c);
  return () => s.run(ortFeeds);
}

// --only takes any row (e.g. int8_gemv_1x4096x4096); without it, the binary rows.
for (const row of ROWS.filter((r) => (only ? r.id === only : r.id.startsWith('binary_')))) {
  const c = row.build();
  const session = await InferenceSession.create(c.model, { backend: 'relaxed' });
  const { feeds } = bothFeeds(c);
  const run = () => session.runSync(feeds);
  const outName = session.outputNames[0];
  const first = run()[outName];
  const preallocated = { [outName]: new Tensor(first.type, first.data.slice(), first.dims) };
  const runInto = () => session.runSync(feeds, preallocated);
  for (let i = 0; i < 20; i++) run();
  // The bound plan of the last run: its kernels and absolute arguments, step by step.
  const bp = (session._engine as unknown as { bound: BoundPlan }).bound as unknown as { fns: ((...a: number[]) => number)[]; args: number[][]; plan: BoundPlan['plan'] };
  const steps = bp.plan.steps.map((s, i) => ({ name: s.kernel, fn: () => bp.fns[i](...bp.args[i]) }));
  const fp32 = await ortSession(c);
  const int8 = row.int8Twin ? await ortSession(row.int8Twin()) : undefined;
  // One call of each column per iteration, steps first, then ort-web fp32, the session, ort-web
  // int8, the session writing into a pre-allocated output: the sessions always follow an ort-web
  // run, from the caches it leaves (as in `npm run bench`), never their own steps.
  const cols: Record<string, () => unknown> = {};
  for (const s of steps) cols[`step ${s.name}`] = s.fn;
  Object.assign(cols, { ortweb_fp32: fp32, session: run, 'session, pre-allocated output': runInto }, int8 ? { ortweb_int8: int8 } : {});
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cols).map((k) => [k, []]));
  const start = performance.now();
  for (let i = 0; i < 10 || performance.now() - start < (quick ? 1500 : 6000); i++) {
    for (const [k, fn] of Object.entries(cols)) {
      const t0 = performance.now();
      await fn();
      samples[k].push(performance.now() - t0);
    }
  }
  const ms = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const gops = (t: number): string => `${((2 * row.macs) / (t * 1e6)).toFixed(0)} GOP/s`;
  console.log(`${row.id}  (medians of ${samples.session.length} interleaved runs)`);
  for (const k of ['session', 'session, pre-allocated output', 'ortweb_fp32', ...(int8 ? ['ortweb_int8'] : []), ...Object.keys(ms).filter((c) => c.startsWith('step '))]) {
    const t = ms[k];
    const extra = k.startsWith('session') ? `  ${gops(t)}, ${(ms.ortweb_fp32 / t).toFixed(2)}× fp32, ${(ms.ortweb_int8 / t).toFixed(2)}× int8`.replace(/, NaN× int8$/, '') : k.startsWith('step bconv') || k.startsWith('step bgemm') ? `  ${gops(t)}` : '';
    console.log(`  ${k.padEnd(34)} ${t.toFixed(3).padStart(8)} ms${extra}`);
  }
}
