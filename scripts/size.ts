// npm run size: what a user downloads — the kernel modules and the browser JS bundle — against the
// size budget (issue 7). Prints a table; exits 1 when a budgeted row is over.
//
// Sizes are raw bytes, kB = 1000 bytes; gzip (level 9) is shown for information. The JS rows
// bundle the browser entry (src/index.ts) and the worker entry with esbuild, minified ESM for
// the browser, as an app bundler would; Node-only modules (`node:*`, reached only through
// dynamic imports on Node) stay out. "with deps" is what the user downloads; "own code" leaves
// npm packages out (the same bytes today: the browser entry has no npm dependency).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const KB = 1000;

export interface SizeRow {
  name: string;
  bytes: number;
  gzip: number;
  /** Enforced ceiling in bytes (undefined: shown for information). */
  budget?: number;
  /** The goal when it is not met yet and not enforced (shown, never fails). */
  target?: number;
}

/** The runtime kernel builds the package ships (test builds, with the references, are not). */
export const WASM_FILES = ['lowbit.scalar.wasm', 'lowbit.simd.wasm', 'lowbit.relaxed.wasm'];
export const WASM_BUDGET = 150 * KB;
/** Issue 7's goal for the JS entry; the bundle is far above it today (see README, "Size"). */
export const JS_TARGET = 60 * KB;
/** Enforced today so the JS bundle cannot grow unnoticed while it is above the target. */
export const JS_BUDGET = 320 * KB;

function row(name: string, bytes: Uint8Array, budget?: number, target?: number): SizeRow {
  return { name, bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength, budget, target };
}

export function wasmRows(dir = `${ROOT}build`): SizeRow[] {
  return WASM_FILES.map((f) => {
    const path = `${dir}/${f}`;
    if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build:wasm first`);
    return row(`build/${f}`, readFileSync(path), WASM_BUDGET);
  });
}

async function bundle(entry: string, withDeps: boolean): Promise<Uint8Array> {
  const out = await build({
    entryPoints: [`${ROOT}${entry}`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['node:*'],
    packages: withDeps ? undefined : 'external',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].contents;
}

export async function jsRows(): Promise<SizeRow[]> {
  return [
    row('src/index.ts bundle, with deps', await bundle('src/index.ts', true), JS_BUDGET, JS_TARGET),
    row('src/index.ts bundle, own code', await bundle('src/index.ts', false)),
    row('src/worker.ts bundle, with deps', await bundle('src/worker.ts', true), JS_BUDGET, JS_TARGET),
  ];
}

export function overBudget(rows: SizeRow[]): SizeRow[] {
  return rows.filter((r) => r.budget !== undefined && r.bytes > r.budget);
}

const kb = (n: number) => `${(n / KB).toFixed(1)} kB`;

export function formatTable(rows: SizeRow[]): string {
  const head = ['file', 'size', 'gzip', 'budget', 'status'];
  const body = rows.map((r) => {
    let status = '';
    if (r.budget !== undefined) status = r.bytes > r.budget ? 'OVER' : `ok, ${kb(r.budget - r.bytes)} left`;
    if (r.target !== undefined && r.bytes > r.target) status += `; target ${kb(r.target)} not met`;
    return [r.name, kb(r.bytes), kb(r.gzip), r.budget === undefined ? '' : kb(r.budget), status];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = [...wasmRows(), ...(await jsRows())];
  console.log(formatTable(rows));
  const over = overBudget(rows);
  if (over.length) {
    console.error(`\nover the size budget: ${over.map((r) => `${r.name} (${kb(r.bytes)} > ${kb(r.budget!)})`).join(', ')}`);
    process.exit(1);
  }
}
