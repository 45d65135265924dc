// The `lowbit` command line: `lowbit inspect MODEL` prints what lowbit runs for a model (per
// node kernel, weight and activation bits, packed vs fp32 weight bytes, totals); `lowbit run
// MODEL --input name=FILE …` runs it on files and writes the outputs as JSON or .npy; `lowbit
// serve REPO` serves a model repository over HTTP (src/server). Uses only the public API and the
// server. Every error is one line on stderr and a non-zero exit code.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  formatInspect, inspect, InferenceSession, LowbitError, type Backend, type LmulOp, type LmulOptions, type Precision, type Tensor, type TensorType,
} from '../index.js';
import { startServer } from '../server/server.js';
import { benchCommand } from './bench/command.js';
import { compileCommand } from './compile.js';
import type { Importer } from './bench/runtimes.js';
import { CliError, fail } from './cli-error.js';
import { npyTypes } from './npy.js';
import { outputJson, outputNpy, readInput, type FileSpec } from './tensor-files.js';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Terminal width of stderr, undefined when it is not a terminal (then no progress bar). */
  errColumns?: number;
  /** How optional packages (onnxruntime for `bench --vs`) are imported; tests replace it. */
  importer?: Importer;
}

const processIO: CliIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errColumns: process.stderr.isTTY ? process.stderr.columns || 80 : undefined,
};

interface SessionFlags {
  backend: Backend | 'auto';
  precision: Precision;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** `--lmul 3` or `--lmul 3:MatMul,Conv` → the session's lmul option (checked by the session). */
function parseLmul(spec: string | undefined): LmulOptions | undefined {
  if (spec === undefined) return undefined;
  const [bits, ops] = spec.split(':');
  const m = /^\s*\d+\s*$/.test(bits) ? Number(bits) : NaN;
  if (!Number.isInteger(m)) fail(`--lmul '${spec}' must be BITS or BITS:OP,OP… (e.g. 3 or 3:MatMul,Conv)`);
  return { mantissaBits: m, ops: ops === undefined ? undefined : (ops.split(',').map((x) => x.trim()) as LmulOp[]) };
}

/** `name=value` flags (repeatable) into a map; with `inputs`, each name must be one of them. */
function assignments(flag: string, specs: readonly string[], what: string, inputs?: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const list = inputs ? ` (inputs: ${inputs.join(', ')})` : '';
  for (const s of specs) {
    const eq = s.indexOf('=');
    if (eq <= 0) fail(`--${flag} '${s}' must be name=${what}${list}`);
    const name = s.slice(0, eq);
    if (inputs && !inputs.includes(name)) fail(`--${flag} '${s}': '${name}' is not an input of this model${list}`);
    if (out.has(name)) fail(`--${flag} gives '${name}' twice`);
    out.set(name, s.slice(eq + 1));
  }
  return out;
}

/** "1x784", "1,784" or "" (a scalar). */
function parseDims(text: string, flag: string): number[] {
  if (text.trim() === '') return [];
  const dims = text.split(/[x,]/).map((d) => (/^\s*\d+\s*$/.test(d) ? Number(d) : NaN));
  if (dims.some((d) => !Number.isSafeInteger(d))) fail(`--${flag} dims '${text}' must be non-negative integers joined by x (e.g. 1x784)`);
  return dims;
}

async function inspectCommand(io: CliIO, model: string, o: SessionFlags & { shape?: string[]; json?: boolean; lmul?: string }): Promise<void> {
  // inspect() checks the names against the model's inputs.
  const shapes = Object.fromEntries([...assignments('shape', o.shape ?? [], 'DIMS')].map(([k, v]) => [k, parseDims(v, 'shape')]));
  const report = await inspect(model, { backend: o.backend, precision: o.precision, lmul: parseLmul(o.lmul), shapes });
  io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspect(report)}\n`);
}

interface RunFlags extends SessionFlags {
  input?: string[];
  dtype?: string[];
  shape?: string[];
  format?: 'json' | 'npy';
  outputDir?: string;
  lmul?: string;
}

/** An output name as a file name: path separators and other unsafe characters become '_'. */
const fileName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';

async function runCommand(io: CliIO, model: string, o: RunFlags): Promise<void> {
  const format = o.format ?? (o.outputDir ? 'npy' : 'json');
  if (format === 'npy' && !o.outputDir) fail('--format npy writes one file per output: give --output-dir DIR');
  const session = await InferenceSession.create(model, { backend: o.backend, precision: o.precision, lmul: parseLmul(o.lmul) });
  let results: Record<string, Tensor>;
  try {
    const names = session.inputNames;
    const files = assignments('input', o.input ?? [], 'FILE', names);
    const types = assignments('dtype', o.dtype ?? [], 'TYPE', names);
    const shapes = assignments('shape', o.shape ?? [], 'DIMS', names);
    const missing = names.filter((n) => !files.has(n));
    if (missing.length > 0) fail(`no --input for ${missing.map((n) => `'${n}'`).join(', ')} (inputs: ${names.join(', ')})`);
    const feeds: Record<string, Tensor> = {};
    for (const meta of session.inputMetadata) {
      const t = types.get(meta.name);
      if (t !== undefined && !npyTypes().includes(t as TensorType)) fail(`--dtype ${meta.name}=${t}: use one of ${npyTypes().join(', ')}`);
      const spec: FileSpec = { type: t as TensorType | undefined, dims: shapes.has(meta.name) ? parseDims(shapes.get(meta.name)!, 'shape') : undefined };
      feeds[meta.name] = await readInput(meta, files.get(meta.name)!, spec);
    }
    results = await session.run(feeds);
  } finally {
    await session.release();
  }
  if (!o.outputDir) {
    io.out(`{\n${Object.entries(results).map(([k, t]) => `  ${JSON.stringify(k)}: ${outputJson(k, t)}`).join(',\n')}\n}\n`);
    return;
  }
  await mkdir(o.outputDir, { recursive: true });
  const used = new Set<string>();
  for (const [k, t] of Object.entries(results)) {
    let base = fileName(k);
    for (let i = 1; used.has(base); i++) base = `${fileName(k)}_${i}`;
    used.add(base);
    const path = join(o.outputDir, `${base}.${format}`);
    await writeFile(path, format === 'npy' ? outputNpy(k, t) : `${outputJson(k, t)}\n`);
    io.out(`${path}\t${k}\t${t.type}\t[${t.dims.join(',')}]\n`);
  }
}

interface ServeFlags extends SessionFlags {
  port: string;
  host: string;
  workers?: string;
  queue?: string;
  maxBody: string;
  timeout?: string;
  clientTimeout?: string;
}

function count(flag: string, text: string, min: number): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) fail(`--${flag} '${text}' must be an integer ≥ ${min}`);
  return n;
}

/** Serves until SIGINT or SIGTERM, then shuts down gracefully (a second signal ends it at once). */
async function serveCommand(io: CliIO, repo: string, o: ServeFlags): Promise<void> {
  if (o.workers !== undefined && count('workers', o.workers, 0) === 0 && (o.queue !== undefined || o.timeout !== undefined)) {
    fail(`--${o.queue !== undefined ? 'queue' : 'timeout'} needs worker threads: with --workers 0 each request runs to completion on the main thread`);
  }
  const server = await startServer({
    repo,
    port: count('port', o.port, 0),
    host: o.host,
    workers: o.workers === undefined ? undefined : count('workers', o.workers, 0),
    queue: o.queue === undefined ? undefined : count('queue', o.queue, 0),
    maxBodyBytes: count('max-body', o.maxBody, 1),
    timeoutMs: o.timeout === undefined ? undefined : count('timeout', o.timeout, 1),
    clientTimeoutMs: o.clientTimeout === undefined ? undefined : count('client-timeout', o.clientTimeout, 1),
    backend: o.backend,
    precision: o.precision,
  });
  for (const m of server.models) {
    const name = m.version === '' ? `model ${m.model}` : `model ${m.model} version ${m.version}`;
    io.out(m.ready ? `${name}: ready\n` : `${name}: NOT READY: ${m.error}\n`);
  }
  io.out(`listening on ${server.url} (${server.workers === 0 ? 'inference on the main thread' : `${server.workers} workers`})\n`);
  await new Promise<void>((resolve, reject) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.out(`${signal}: finishing the requests in flight, refusing new ones\n`);
      server.close().then(resolve, reject);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  io.out('stopped\n');
}

interface BenchCliFlags extends SessionFlags {
  vs?: 'ort' | 'ort-web' | 'ort-node';
  shape?: string[];
  input?: string[];
  time: string;
  json?: boolean;
}

async function benchFlags(model: string, o: BenchCliFlags, io: CliIO): Promise<void> {
  const time = /^\s*\d+(\.\d+)?\s*$/.test(o.time) ? Number(o.time) : NaN;
  if (!(time > 0 && time <= 3600)) fail(`--time '${o.time}' must be a number of seconds above 0 (at most 3600)`);
  const shapes = new Map([...assignments('shape', o.shape ?? [], 'DIMS')].map(([k, v]) => [k, parseDims(v, 'shape')]));
  await benchCommand(io, model, {
    backend: o.backend,
    precision: o.precision,
    vs: o.vs,
    shapes,
    files: assignments('input', o.input ?? [], 'FILE'),
    // At least 5 steady runs: a model slower than a block runs in pairs, so 10 runs in all.
    plan: { targetMs: time * 1000, blockMs: 25, warmupRuns: 5, warmupMs: Math.min(1000, time * 250), minRuns: 5, maxRounds: 1_000_000 },
    json: o.json,
    seed: 1,
  }, await version());
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function sessionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'kernel build').choices(['auto', 'scalar', 'simd', 'relaxed']).default('auto'))
    .addOption(new Option('--precision <mode>', "'model': what the model allows (MatMulNBits accuracy_level 4: int8 activations); 'exact': no approximate path").choices(['model', 'exact']).default('model'));
}

const LMUL_HELP = "L-Mul execution mode: products of MatMul/Gemm/Conv/attention on BITS-bit mantissas as integer adds, e.g. 3 or 3:MatMul,Conv,attention (changes the numbers by design)";

function program(io: CliIO, ver: string): Command {
  const p = new Command('lowbit')
    .description('Run and inspect low-bit ONNX models on WebAssembly kernels.')
    .version(ver)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(`lowbit: ${s.trim()}\n`) })
    .showSuggestionAfterError(true);
  sessionOptions(p.command('inspect')
    .description('per node: op, kernel, weight and activation bits, packed vs fp32 weight bytes, why a layer stays on the float path; totals')
    .argument('<model>', 'ONNX model file')
    .option('--shape <name=DIMS>', 'plan for this input shape, e.g. input=1x784 (repeatable; symbolic dims default to 1)', collect)
    .option('--json', 'print the report as JSON')
    .option('--lmul <BITS[:OPS]>', LMUL_HELP))
    .action((model: string, o) => inspectCommand(io, model, o));
  sessionOptions(p.command('run')
    .description('run a model on input files and print or write its outputs')
    .argument('<model>', 'ONNX model file')
    .option('--input <name=FILE>', 'input data: .npy, .json (array or {"dims","data"}) or raw little-endian bytes (repeatable)', collect)
    .option('--dtype <name=TYPE>', "element type of that input's file (default: the model's)", collect)
    .option('--shape <name=DIMS>', "shape of that input's file, e.g. input=1x1x28x28 (needed for raw files of symbolic inputs)", collect)
    .addOption(new Option('--format <fmt>', 'output format (default: json to stdout; npy with --output-dir)').choices(['json', 'npy']))
    .option('--output-dir <dir>', 'write each output to DIR/<name>.<format> and list the files')
    .option('--lmul <BITS[:OPS]>', LMUL_HELP))
    .action((model: string, o) => runCommand(io, model, o));
  p.command('compile')
    .description('plan a model for fixed input shapes and write it as a .lbp file for the WASI command (build/lowbit.wasi.wasm)')
    .argument('<model>', 'ONNX model file')
    .requiredOption('-o, --output <file>', 'the .lbp file to write')
    .option('--shape <name=DIMS>', 'fix an input shape, e.g. input=1x1x28x28 (repeatable; needed for symbolic dims)', collect)
    .addOption(new Option('--backend <name>', 'kernel build the plan is made with and meant for (lowbit.wasi.wasm is simd, lowbit.wasi.scalar.wasm scalar)').choices(['simd', 'scalar']).default('simd'))
    .addOption(new Option('--precision <mode>', "'model' or 'exact' (as for run)").choices(['model', 'exact']).default('model'))
    .action((model: string, o: { output: string; shape?: string[]; backend: 'simd' | 'scalar'; precision: Precision }) => compileCommand(io, model, {
      output: o.output,
      backend: o.backend,
      precision: o.precision,
      shapes: new Map([...assignments('shape', o.shape ?? [], 'DIMS')].map(([k, v]) => [k, parseDims(v, 'shape')])),
    }));
  sessionOptions(p.command('serve')
    .description('serve a model repository over the Open Inference Protocol (KServe v2) REST API until SIGINT/SIGTERM')
    .argument('<repo>', "model repository in Triton's layout: REPO/<model>/<version>/model.onnx")
    .option('--port <n>', 'TCP port (0: any free port)', '8000')
    .option('--host <addr>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--workers <n>', 'inference worker threads, each with its own WASM instances (default: one per core); 0: run on the main thread (fastest for small models; no queue, no timeout)')
    .option('--queue <n>', 'requests that may wait for a worker; beyond them requests get 503 (default 64)')
    .option('--max-body <bytes>', 'largest request body; larger ones get 413', String(64 * 1024 ** 2))
    .option('--timeout <ms>', 'time a request may wait and run before it gets 503 (a run past it is stopped; default 60000)')
    .option('--client-timeout <ms>', 'time a client has to send a whole request; slower ones get 408 and are disconnected (default 30000)'))
    .action((repo: string, o) => serveCommand(io, repo, o));
  sessionOptions(p.command('bench')
    .description('time a model in lowbit and, with --vs, in onnxruntime-web (WASM) and onnxruntime-node, each on 1 thread, in this process, taking turns in blocks of runs: steady-state medians and p90s, the first run of each block apart (cold), ratios, how far outputs differ')
    .argument('<model>', 'ONNX model file')
    .addOption(new Option('--vs <runtime>', 'also time onnxruntime (ort: -web and -node; both are optional packages: npm install onnxruntime-web onnxruntime-node)').choices(['ort', 'ort-web', 'ort-node']))
    .option('--shape <name=DIMS>', 'input shape, e.g. input=8x1x28x28 (repeatable; symbolic dims default to 1); inputs are random unless --input gives a file', collect)
    .option('--input <name=FILE>', 'input data from a file: .npy, .json or raw bytes (repeatable)', collect)
    .option('--time <seconds>', 'timed seconds per runtime, about (after a warm-up)', '3')
    .option('--json', 'print the report as JSON'))
    .action((model: string, o) => benchFlags(model, o, io));
  return p;
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  try {
    await program(io, await version()).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const msg = e instanceof LowbitError ? `${e.message} (${e.code})` : e instanceof CliError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    io.err(`lowbit: error: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}
