// npm run size: what a user downloads — the kernel modules and the browser JS — against the size
// budget (issue 7). Prints a table; exits 1 when a budgeted row is over.
//
// Sizes are raw bytes, kB = 1000 bytes; gzip (level 9) is shown for information. The JS rows
// bundle the browser entries (src/index.ts, src/worker.ts) with esbuild as an app bundler would:
// minified ESM with code splitting, Node-only modules (`node:*`, and src/api/load-node.ts, reached
// only through dynamic imports on Node) left out. Two numbers per entry, honestly both:
// "entry" is what `import 'lowbit'` loads (the entry chunk and its static imports); "+ engine" adds
// the chunks every model loads through dynamic import() (the decoder, passes, ops and planner,
// fetched by the first InferenceSession.create while the model and the .wasm download).

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
}

/** The runtime kernel builds the package ships (test builds, with the references, are not). */
export const WASM_FILES = ['lowbit.scalar.wasm', 'lowbit.simd.wasm', 'lowbit.relaxed.wasm'];
export const WASM_BUDGET = 150 * KB;
/** Issue 7's budget for the JS entry. */
export const JS_ENTRY_BUDGET = 60 * KB;
/** Ceiling on the entry plus the engine chunks (all a model loads), so they cannot grow unnoticed. */
export const JS_TOTAL_BUDGET = 220 * KB;
/** Modules only Node reaches (dynamic imports behind a Node check): not downloaded by pages. */
const NODE_ONLY = ['src/api/load-node.ts'];

/** One row for a file, or for several chunks (each gzipped on its own, as they are served). */
function row(name: string, parts: Uint8Array | Uint8Array[], budget?: number): SizeRow {
  const list = Array.isArray(parts) ? parts : [parts];
  const sum = (f: (b: Uint8Array) => number) => list.reduce((n, b) => n + f(b), 0);
  return { name, bytes: sum((b) => b.byteLength), gzip: sum((b) => gzipSync(b, { level: 9 }).byteLength), budget };
}

export function wasmRows(dir = `${ROOT}build`): SizeRow[] {
  return WASM_FILES.map((f) => {
    const path = `${dir}/${f}`;
    if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build:wasm first`);
    return row(`build/${f}`, readFileSync(path), WASM_BUDGET);
  });
}

interface Chunk { bytes: Uint8Array; imports: { path: string; kind: string }[]; entryPoint?: string; inputs: string[] }

/** The browser entries bundled together with code splitting: output path → chunk. */
export async function browserChunks(): Promise<Map<string, Chunk>> {
  const out = await build({
    entryPoints: [`${ROOT}src/index.ts`, `${ROOT}src/worker.ts`],
    bundle: true,
    splitting: true,
    outdir: `${ROOT}.size-out`, // not written (write: false); names the chunks
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['node:*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const files = new Map(out.outputFiles.map((f) => [f.path.slice(ROOT.length), f.contents]));
  const chunks = new Map<string, Chunk>();
  for (const [path, o] of Object.entries(out.metafile!.outputs)) {
    const rel = path.replace(/^(\.\/)?/, '');
    chunks.set(rel, { bytes: files.get(rel)!, imports: o.imports, entryPoint: o.entryPoint, inputs: Object.keys(o.inputs) });
  }
  return chunks;
}

/** The chunks `start` loads: static imports only, or dynamic ones too (Node-only chunks left out). */
export function closure(chunks: Map<string, Chunk>, start: string, dynamic: boolean): string[] {
  const seen = new Set<string>();
  const visit = (p: string) => {
    const c = chunks.get(p);
    if (!c || seen.has(p) || (c.entryPoint && NODE_ONLY.includes(c.entryPoint))) return;
    seen.add(p);
    for (const i of c.imports) if (i.kind === 'import-statement' || (dynamic && i.kind === 'dynamic-import')) visit(i.path);
  };
  visit(start);
  return [...seen];
}

function parts(chunks: Map<string, Chunk>, paths: string[]): Uint8Array[] {
  return paths.map((p) => chunks.get(p)!.bytes);
}

export async function jsRows(): Promise<SizeRow[]> {
  const chunks = await browserChunks();
  const rows: SizeRow[] = [];
  for (const entry of ['src/index.ts', 'src/worker.ts']) {
    const start = [...chunks].find(([, c]) => c.entryPoint === entry)![0];
    rows.push(row(`${entry} entry`, parts(chunks, closure(chunks, start, false)), JS_ENTRY_BUDGET));
    rows.push(row(`${entry} entry + engine (any model)`, parts(chunks, closure(chunks, start, true)), JS_TOTAL_BUDGET));
  }
  return rows;
}

export function overBudget(rows: SizeRow[]): SizeRow[] {
  return rows.filter((r) => r.budget !== undefined && r.bytes > r.budget);
}

const kb = (n: number) => `${(n / KB).toFixed(1)} kB`;

export function formatTable(rows: SizeRow[]): string {
  const head = ['file', 'size', 'gzip', 'budget', 'status'];
  const body = rows.map((r) => {
    const status = r.budget === undefined ? '' : r.bytes > r.budget ? 'OVER' : `ok, ${kb(r.budget - r.bytes)} left`;
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
