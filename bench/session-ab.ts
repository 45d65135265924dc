// A/B of two kernel builds inside whole sessions, each run right after an onnxruntime-web run of
// the same model (the cache and TLB state `npm run bench` leaves): sessions on DIR_A's and DIR_B's
// lowbit.relaxed.wasm take turns; prints medians and the median of per-round B/A ratios.
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/session-ab.ts DIR_A DIR_B ROW_ID[,ROW_ID…] [--rounds N]
import { readFileSync } from 'node:fs';
import { InferenceSession } from '../src/index.js';
import { ROWS } from './rows.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const [dirA, dirB, ids] = process.argv.slice(2);
const rounds = process.argv.includes('--rounds') ? Number(process.argv[process.argv.indexOf('--rounds') + 1]) : 15;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const id of ids.split(',')) {
  const row = ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`unknown row ${id}`);
  const c = row.build();
  const { feeds, ortFeeds } = bothFeeds(c);
  const ort = await ortWebSession(c.model);
  // Two sessions per build, made in the order A B B A (where an instance's memory lands moves its
  // times by several percent).
  const build = [0, 1, 1, 0];
  const sessions: InferenceSession[] = [];
  for (const b of build) sessions.push(await InferenceSession.create(c.model, { backend: 'relaxed', wasm: readFileSync(`${[dirA, dirB][b]}/lowbit.relaxed.wasm`) }));
  for (const s of sessions) for (let i = 0; i < 30; i++) await s.run(feeds);
  const t: number[][] = [[], []];
  const ortMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const xs: number[][] = [[], []];
    for (let k = 0; k < 4; k++) {
      const j = (r + k) % 4;
      for (let i = 0; i < 5; i++) {
        let t0 = performance.now();
        await ort.run(ortFeeds);
        ortMs.push(performance.now() - t0);
        t0 = performance.now();
        await sessions[j].run(feeds);
        xs[build[j]].push(performance.now() - t0);
      }
    }
    t[0].push(median(xs[0]));
    t[1].push(median(xs[1]));
  }
  const ratios = t[0].map((a, i) => t[1][i] / a);
  const ow = median(ortMs);
  console.log(`${id.padEnd(28)} ort-web ${ow.toFixed(3)} ms  A ${median(t[0]).toFixed(3)} ms (${(ow / median(t[0])).toFixed(2)}×)  B ${median(t[1]).toFixed(3)} ms (${(ow / median(t[1])).toFixed(2)}×)  B/A median ${median(ratios).toFixed(3)}`);
}
