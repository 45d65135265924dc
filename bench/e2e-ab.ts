// A whole benchmark-size model on two kernel builds in one process: a session on DIR/lowbit.relaxed.wasm
// (e.g. a copy of build/ saved before a kernel change) and one on build/, run alternately with
// onnxruntime-web (fp32) each round; prints the medians, the speed-ups over onnxruntime-web and
// the median of the per-round now/base ratios (steadier than absolute times on a shared machine),
// and the largest output difference between the two builds.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/e2e-ab.ts --base DIR [--only NAME] [--rounds N]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InferenceSession } from '../src/index.js';
import { loadE2ECase, type E2EName } from './lib/e2e-files.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const { values: args } = parseArgs({ options: { base: { type: 'string' }, only: { type: 'string', default: 'ternary_transformer_d1024' }, rounds: { type: 'string', default: '9' } } });
if (!args.base) throw new Error('usage: bench/e2e-ab.ts --base DIR [--only NAME] [--rounds N]');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const c = loadE2ECase(args.only as E2EName);
const sessions = {
  base: await InferenceSession.create(c.model, { backend: 'relaxed', wasm: new Uint8Array(readFileSync(`${args.base}/lowbit.relaxed.wasm`)) }),
  now: await InferenceSession.create(c.model, { backend: 'relaxed' }),
};
const { feeds, ortFeeds } = bothFeeds(c);
const ort = await ortWebSession(c.model);
await ort.run(ortFeeds);
const outs = [sessions.base.runSync(feeds), sessions.now.runSync(feeds)];
let maxDiff = 0;
for (const name of Object.keys(outs[0])) {
  const a = outs[0][name].data as Float32Array, b = outs[1][name].data as Float32Array;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
}
const t = { ort: [] as number[], base: [] as number[], now: [] as number[] };
for (let r = 0; r < Number(args.rounds); r++) {
  let t0 = performance.now();
  await ort.run(ortFeeds);
  t.ort.push(performance.now() - t0);
  for (const k of r % 2 ? (['now', 'base'] as const) : (['base', 'now'] as const)) {
    t0 = performance.now();
    sessions[k].runSync(feeds);
    t[k].push(performance.now() - t0);
  }
}
const [o, b, n] = [median(t.ort), median(t.base), median(t.now)];
console.log(`${args.only}  (medians of ${args.rounds} interleaved rounds)\n  ort-web fp32 ${o.toFixed(1)} ms · base ${b.toFixed(1)} ms (${(o / b).toFixed(2)}×) · ` +
  `now ${n.toFixed(1)} ms (${(o / n).toFixed(2)}×) · now/base ${median(t.now.map((x, i) => x / t.base[i])).toFixed(3)} · max |Δ output| ${maxDiff.toExponential(2)}`);
