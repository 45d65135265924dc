// A/B of the host code (src/: API, planning, executor) between another checkout and this one, in
// one process, on the same kernel build (this checkout's build/lowbit.relaxed.wasm): per round,
// each session's run() and its bound plan's execute() alone, each right after an
// onnxruntime-web run of the row (the cold caches `npm run bench` leaves). Prints the medians,
// the host share (run − execute) and the median of the per-round run ratios now/base.
// Make the base checkout with e.g. `git worktree add /tmp/base-src <commit>` (its node_modules can
// be a link to this one's). Run:
// node --experimental-wasm-relaxed-simd --import tsx bench/host-ab.ts --base /tmp/base-src ROW_ID[,ROW_ID…] [--rounds N]

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as now from '../src/index.js';
import { ROWS } from './rows.js';
import { bothFeeds, ortWebSession } from './lib/side-by-side.js';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { base: { type: 'string' }, rounds: { type: 'string', default: '100' } } });
if (!args.base || positionals.length !== 1) throw new Error('usage: bench/host-ab.ts --base DIR ROW_ID[,ROW_ID…] [--rounds N]');
const base = (await import(resolve(args.base, 'src/index.ts'))) as typeof now;
const wasm = new Uint8Array(readFileSync(new URL('../build/lowbit.relaxed.wasm', import.meta.url)));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

type Api = typeof now;
async function open(api: Api, c: ReturnType<(typeof ROWS)[number]['build']>): Promise<{ run: () => Promise<unknown>; execute: () => void }> {
  const s = await api.InferenceSession.create(c.model, { backend: 'relaxed', wasm });
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([n, f]) => [n, new api.Tensor(f.type as never, f.data as never, f.dims)]));
  await s.run(feeds);
  const bound = (s._engine as unknown as { bound: { execute(): void } }).bound;
  return { run: () => s.run(feeds), execute: () => bound.execute() };
}

for (const id of positionals[0].split(',')) {
  const row = ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`unknown row ${id}`);
  const c = row.build();
  const { ortFeeds } = bothFeeds(c);
  const ort = await ortWebSession(c.model);
  const s = { base: await open(base, c), now: await open(now, c) };
  const cols = { 'base run': s.base.run, 'now run': s.now.run, 'base execute': s.base.execute, 'now execute': s.now.execute };
  const t: Record<string, number[]> = Object.fromEntries(Object.keys(cols).map((k) => [k, []]));
  for (let i = 0; i < Number(args.rounds); i++) {
    for (const [k, f] of Object.entries(cols)) {
      await ort.run(ortFeeds);
      const t0 = performance.now();
      await f();
      t[k].push(performance.now() - t0);
    }
  }
  const m = (k: string): number => median(t[k]);
  const host = (w: 'base' | 'now'): string => (m(`${w} run`) - m(`${w} execute`)).toFixed(3);
  console.log(`${id}: run base ${m('base run').toFixed(3)} ms, now ${m('now run').toFixed(3)} ms (per-round now/base ${median(t['now run'].map((x, i) => x / t['base run'][i])).toFixed(3)}); ` +
    `host (run − execute) base ${host('base')} ms, now ${host('now')} ms`);
}
