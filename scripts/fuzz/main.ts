// npm run fuzz -- [--cases N] [--seed S] [--workers W] [--timeout MS] [--node-tests DIR] [--out DIR]
// npm run fuzz -- --replay FILE.onnx...
// npm run fuzz -- --seed S --only I,J,... [--out DIR]   (rebuild, save and run those cases here)
//
// Seeded mutation fuzzing of the loader and runtime over models/ and the ONNX node tests. Cases
// run in worker threads; a case that neither succeeds nor ends in a LowbitError, traps, hangs
// past --timeout or kills its worker is a failure, saved to --out as <name>.onnx + <name>.json
// (the mutated bytes, the run seed and case number, the feed seed and kernel build). The last
// line printed is a JSON summary; the exit code is 1 when anything failed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { runCase, type Outcome } from './case.js';
import { defaultNodeTestsDir, loadCorpus } from './corpus.js';
import { makeCase } from './generate.js';
import type { FromWorker, WorkerInit } from './worker.js';
import { replayFile } from './replay.js';
import { supportedBackends } from '../../src/kernels/wasm.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cases: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    timeout: { type: 'string', default: '10000' },
    'node-tests': { type: 'string', default: defaultNodeTestsDir() },
    out: { type: 'string', default: 'fuzz-failures' },
    replay: { type: 'boolean', default: false },
    only: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

interface Failure { i: number; kind: string; stage?: string; error: string }

if (values.replay) {
  let bad = 0;
  for (const f of positionals) {
    const o = await replayFile(f);
    if (o.kind === 'bug') bad++;
    process.stdout.write(`${f}: ${JSON.stringify(o)}\n`);
  }
  process.exit(bad ? 1 : 0);
}

/** Writes case i as a reproducer: <out>/<name>.onnx and its .json. */
function save(c: ReturnType<typeof makeCase>, name: string, extra: object): void {
  mkdirSync(values.out!, { recursive: true });
  writeFileSync(join(values.out!, `${name}.onnx`), c.bytes);
  writeFileSync(join(values.out!, `${name}.json`), JSON.stringify({
    seed: Number(values.seed) >>> 0, source: c.seed.name, mutations: c.what, feedSeed: c.feedSeed, backend: c.backend, ...extra,
  }, null, 2) + '\n');
}

if (values.only) {
  const corpus = loadCorpus(values['node-tests']);
  const backends = await supportedBackends();
  for (const i of values.only.split(',').map(Number)) {
    const c = makeCase(corpus, Number(values.seed) >>> 0, i, backends);
    save(c, `case-s${values.seed}-c${i}`, { case: i });
    process.stdout.write(`case ${i} (${c.seed.name}; ${c.what.join('; ')}): ${JSON.stringify(await runCase(c.bytes, c.seed.inputs, c.feedSeed, c.backend))}\n`);
  }
  process.exit(0);
}

const total = Number(values.cases);
const seed = Number(values.seed) >>> 0;
const nWorkers = Math.max(1, Number(values.workers));
const timeout = Number(values.timeout);
const corpus = loadCorpus(values['node-tests']);
if (!corpus.nodeTestsFound) {
  process.stderr.write(`fuzz: no ONNX node tests at ${corpus.nodeTestsDir} (set LOWBIT_NODE_TESTS or --node-tests); fuzzing models/ only\n`);
}
const log = (s: string) => { if (!values.quiet) process.stderr.write(s); };
log(`fuzz: ${total} cases, seed ${seed}, ${nWorkers} workers, ${corpus.models.length} models + ${corpus.nodeTests.length} node tests\n`);

const stats = { ok: 0, ran: 0, lowbit: {} as Record<string, number>, failures: [] as Failure[] };
const CHUNK = 25;
let next = 0;
/** Cases of a lost worker's chunk that it did not reach, for the next worker that asks. */
const pending: { from: number; to: number }[] = [];
const t0 = performance.now();

function record(i: number, o: Outcome | { kind: 'hang' | 'crash'; error: string }): void {
  if (o.kind === 'ok') {
    stats.ok++;
    if (o.runs > 0) stats.ran++;
    return;
  }
  if (o.kind === 'lowbit') {
    stats.lowbit[o.code] = (stats.lowbit[o.code] ?? 0) + 1;
    return;
  }
  stats.failures.push({ i, kind: o.kind, stage: 'stage' in o ? o.stage : undefined, error: o.error });
  log(`\nFAIL case ${i} (${o.kind}): ${o.error.split('\n')[0]}\n`);
}

// Worker threads do not inherit tsx's loader: each registers it, then imports the worker module.
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
  `.then((t) => { t.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;

/** One worker slot: runs chunks until none are left; replaced when it hangs or dies. */
function slot(): Promise<void> {
  return new Promise((resolve) => {
    let current = -1;
    let chunkEnd = 0;
    let started = 0;
    let finished = false;
    const init: WorkerInit = { seed, nodeTestsDir: corpus.nodeTestsDir };
    const w = new Worker(BOOT, { eval: true, workerData: init, resourceLimits: { maxOldGenerationSizeMb: 1536 } });
    const give = () => {
      if (next >= total) {
        finished = true;
        clearInterval(watch);
        void w.terminate().then(() => resolve());
        return;
      }
      const from = next;
      chunkEnd = Math.min(total, from + CHUNK);
      next = chunkEnd;
      w.postMessage({ type: 'cases', from, to: chunkEnd });
    };
    // A lost worker's unfinished cases go to its replacement, then the slot goes on as before.
    const replace = (kind: 'hang' | 'crash', error: string) => {
      if (finished) return;
      if (current < 0) {
        process.stderr.write(`fuzz: a worker failed outside any case: ${error}\n`);
        process.exit(2);
      }
      finished = true;
      clearInterval(watch);
      record(current, { kind, error });
      const rest = { from: current + 1, to: chunkEnd };
      void w.terminate().finally(() => {
        if (rest.from < rest.to) { pending.push(rest); }
        slot().then(resolve);
      });
    };
    const watch = setInterval(() => {
      if (current >= 0 && performance.now() - started > timeout) replace('hang', `no result after ${timeout} ms`);
    }, 100);
    w.on('message', (m: FromWorker) => {
      if (m.type === 'ready' || m.type === 'idle') {
        const p = pending.shift();
        if (p) { chunkEnd = p.to; w.postMessage({ type: 'cases', ...p }); } else give();
      } else if (m.type === 'start') {
        current = m.i;
        started = performance.now();
      } else if (m.type === 'done') {
        current = -1;
        record(m.i, m as unknown as Outcome);
        const done = stats.ok + Object.values(stats.lowbit).reduce((a, b) => a + b, 0) + stats.failures.length;
        if (done % 1000 === 0) log(`  ${done}/${total} cases, ${(done / ((performance.now() - t0) / 1000)).toFixed(0)}/s\n`);
      }
    });
    w.on('error', (e) => replace('crash', `worker died: ${e.name}: ${e.message}`));
    w.on('exit', (code) => { if (!finished) replace('crash', `worker exited with code ${code}`); });
  });
}

await Promise.all(Array.from({ length: nWorkers }, slot));
const secs = (performance.now() - t0) / 1000;

if (stats.failures.length) {
  const backends = await supportedBackends();
  for (const f of stats.failures) {
    try {
      save(makeCase(corpus, seed, f.i, backends), `${f.kind}-s${seed}-c${f.i}`, { case: f.i, kind: f.kind, stage: f.stage, error: f.error });
    } catch (e) {
      process.stderr.write(`fuzz: case ${f.i} cannot be rebuilt (${(e as Error).message}); rerun with --only ${f.i}\n`);
    }
  }
  log(`\n${stats.failures.length} failures saved to ${values.out}/\n`);
}
const summary = {
  cases: total, seed, seconds: +secs.toFixed(1), casesPerSecond: +(total / secs).toFixed(1),
  ok: stats.ok, ran: stats.ran, lowbit: stats.lowbit, failures: stats.failures.length,
  nodeTests: corpus.nodeTestsFound ? corpus.nodeTests.length : 'absent',
};
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(stats.failures.length ? 1 : 0);
