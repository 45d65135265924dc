// npm run bench -- [--json] [--quick] [--only ID[,ID…]] [--backend scalar|simd|relaxed] [--out DIR]
//
// Times lowbit, onnxruntime-web (WASM, 1 thread) and onnxruntime-node (CPU, 1 thread) on every
// row of bench/rows.ts, writes DIR/results.json and DIR/results.md (DIR defaults to bench/) and
// prints the table; with --json the last stdout line is the results JSON. Progress goes to stderr.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BACKENDS, supportedBackends, type Backend } from '../src/kernels/wasm.js';
import { FULL_PLAN, QUICK_PLAN, measureRow } from './lib/measure.js';
import { markdownTable, resultRow, type ResultRow, type Results } from './lib/report.js';
import { lowbitRuntime, ortNodeRuntime, ortVersions, ortWebRuntime } from './lib/runtimes.js';
import { ROWS } from './rows.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string', default: fileURLToPath(new URL('.', import.meta.url)) },
  },
});

function die(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const wanted = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted?.filter((id) => !ROWS.some((r) => r.id === id)) ?? [];
if (unknown.length) die(`unknown row(s) ${unknown.join(', ')}; rows: ${ROWS.map((r) => r.id).join(', ')}`);
const rows = wanted ? ROWS.filter((r) => wanted.includes(r.id)) : ROWS;

const have = await supportedBackends();
const backend = (args.backend ?? have[have.length - 1]) as Backend;
if (!BACKENDS.includes(backend) || !have.includes(backend)) die(`backend '${args.backend}' unavailable here (have: ${have.join(', ')})`);

const plan = args.quick ? QUICK_PLAN : FULL_PLAN;
const runtimes = [lowbitRuntime(backend), ortWebRuntime, ortNodeRuntime];
const lmulRuntimes = (row: (typeof ROWS)[number]) => (row.lmul ? [lowbitRuntime(backend, row.lmul), ortWebRuntime, ortNodeRuntime] : runtimes);
const versions = ortVersions();
const env: Results['env'] = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cpus: cpus().length,
  lowbit_backend: backend,
  ortweb_version: versions.ortweb,
  ortweb_ep: 'wasm, 1 thread',
  ortnode_version: versions.ortnode,
  ortnode_ep: 'cpu, intra/inter-op 1 thread',
  plan: args.quick ? 'quick' : 'full',
  target_ms_per_runtime: plan.targetMs,
  block_ms: plan.blockMs,
  min_steady_runs: plan.minRuns,
};

const results: ResultRow[] = [];
const started = performance.now();
for (const [i, row] of rows.entries()) {
  const t0 = performance.now();
  let r: ResultRow;
  try {
    // The int8 twin is checked against ort-node on the same twin model (by default uint8 outputs:
    // ±1 quantum) and timed on ort-web in the same interleaved blocks as the row's runtimes.
    const twinTol = row.int8TwinTolerance ?? { rtol: 0, atol: 0, integerSteps: 1 };
    const twin = row.int8Twin ? { c: row.int8Twin(), tol: twinTol } : undefined;
    r = resultRow(row, await measureRow(row.build(), lmulRuntimes(row), row.tolerance, plan, twin));
  } catch (e) {
    // A row that breaks in an unexpected place is recorded, not fatal to the other rows.
    const m = { timings: {}, cold: {}, agreement: {}, errors: { ortnode: `harness: ${(e as Error).message}` }, iterations: 0 };
    r = resultRow(row, m);
  }
  results.push(r);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const f = (x: number | null) => (x === null ? '—' : `${x.toPrecision(3)} ms`);
  const chk = r.check.lowbit ? ` | lowbit vs ort-node max abs ${r.check.lowbit.max_abs.toExponential(1)} rel ${r.check.lowbit.max_rel.toExponential(1)}` : '';
  process.stderr.write(`[${i + 1}/${rows.length}] ${row.id}: lowbit ${f(r.lowbit_ms)}, ort-web ${f(r.ortweb_ms)}, ort-node ${f(r.ortnode_ms)} (${r.iterations} rounds, ${secs} s)${chk}${r.error ? ` | ${r.error}` : ''}\n`);
}
for (const [i, row] of rows.entries()) {
  if (!row.f32Row) continue;
  const f32 = results.find((r) => r.id === row.f32Row)?.lowbit_ms ?? null;
  const own = results[i].lowbit_ms;
  results[i].lmul_over_f32 = f32 !== null && own !== null ? Number((own / f32).toPrecision(3)) : null;
}
process.stderr.write(`bench: ${rows.length} row(s) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

const out: Results = { env, rows: results };
const table = markdownTable(results);
mkdirSync(args.out!, { recursive: true });
writeFileSync(join(args.out!, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
const envLine = `${env.date} · node ${env.node} · ${env.cpu} ×${env.cpus} · lowbit ${env.lowbit_backend} · onnxruntime-web ${env.ortweb_version} (wasm, 1 thread) · onnxruntime-node ${env.ortnode_version} (1 thread) · ${env.plan} plan · medians`;
writeFileSync(join(args.out!, 'results.md'), `# Benchmark results\n\n${envLine}\n\n${table}\n`);
process.stdout.write(`${table}\n`);
if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
