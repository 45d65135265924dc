// npm run bench:server -- [--model FILE] [--seconds 30] [--connections 10] [--batch 1]
//                          [--only inline,workers1,workers2,ort-node,ort-node-1t] [--json]
//
// `lowbit serve` under autocannon: each configuration is a server in its own process over a
// one-model repository, sent binary-extension requests (batch `--batch`, binary outputs) from
// `--connections` keep-alive connections for `--seconds` after a 3 s warm-up. Per configuration:
// req/s, p50/p99 latency (every response timed), errors (failed connections, timeouts and
// non-2xx answers), the server's RSS before and after the timed run and the CPU each process
// used — the load generator runs in this process on the same cores, so it competes with the
// server. Beside lowbit, the same fastify app with onnxruntime-node behind it (bench/lib/
// ort-runner.ts), as a user would build it without lowbit; onnxruntime cannot run QONNX
// operators, so it serves the model rewritten into standard float ONNX (bench/lib/
// qonnx_to_float.py, needs Python with onnx and numpy). The last column checks that every server
// answers as the first. The model defaults to the binary Fashion-MNIST MLP, else the smallest
// model in models/.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { quantile } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIGS: Record<string, { label: string; ort?: true; args: (repo: string) => string[] }> = {
  inline: { label: 'lowbit, --workers 0 (main thread)', args: (r) => ['src/cli/lowbit.ts', 'serve', r, '--port', '0', '--workers', '0'] },
  workers1: { label: 'lowbit, --workers 1', args: (r) => ['src/cli/lowbit.ts', 'serve', r, '--port', '0', '--workers', '1', '--queue', '1024'] },
  workers2: { label: 'lowbit, --workers 2', args: (r) => ['src/cli/lowbit.ts', 'serve', r, '--port', '0', '--workers', '2', '--queue', '1024'] },
  'ort-node': { label: 'onnxruntime-node (default threads)', ort: true, args: (r) => ['bench/lib/serve-ort.ts', r] },
  'ort-node-1t': { label: 'onnxruntime-node, 1 intra-op thread', ort: true, args: (r) => ['bench/lib/serve-ort.ts', r, '--ort-threads', '1'] },
};

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    batch: { type: 'string', default: '1' },
    only: { type: 'string', default: Object.keys(CONFIGS).join(',') },
    json: { type: 'boolean', default: false },
  },
});
const log = (s: string) => process.stderr.write(`${s}\n`);
function die(msg: string): never {
  log(`bench:server: ${msg}`);
  process.exit(2);
}
const int = (name: string, v: string, min: number) => (/^\d+$/.test(v) && Number(v) >= min ? Number(v) : die(`--${name} '${v}' must be an integer ≥ ${min}`));
const seconds = int('seconds', args.seconds!, 1);
const warmup = int('warmup', args.warmup!, 0);
const connections = int('connections', args.connections!, 1);
const batch = int('batch', args.batch!, 1);
const configs = args.only!.split(',').map((s) => s.trim());
for (const c of configs) if (!CONFIGS[c]) die(`unknown configuration '${c}' (configurations: ${Object.keys(CONFIGS).join(', ')})`);

/** --model, else the binary MLP, else the smallest .onnx in models/. */
function pickModel(): string {
  if (args.model) return existsSync(args.model) ? args.model : die(`no model file '${args.model}'`);
  const dir = join(root, 'models');
  const binary = join(dir, 'fmnist-mlp-w1a1-qonnx.onnx');
  if (existsSync(binary)) return binary;
  const all = readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => join(dir, f)).sort((a, b) => statSync(a).size - statSync(b).size);
  if (all.length === 0) die('no model in models/: give --model FILE');
  log(`bench:server: ${binary} is not there; using the smallest model in models/`);
  return all[0];
}

interface Served {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

async function serve(cmd: string[]): Promise<Served> {
  const proc = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', ...cmd], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`server exited: ${out}`)));
  });
  return { proc, url, stop: async () => { proc.kill('SIGTERM'); await exited; } };
}

/** Resident set size (bytes) and CPU seconds used so far by process `pid` (Linux /proc). */
function usage(pid: number): { rss: number; cpu: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // USER_HZ on Linux
  return { rss, cpu: (Number(fields[11]) + Number(fields[12])) / ticks };
}

/** A binary-extension request for the model's first input: `batch` test images (or zeros). */
async function request(url: string): Promise<{ path: string; headers: Record<string, string>; body: Buffer }> {
  const meta = (await (await fetch(`${url}/v2/models/model`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
  if (meta.inputs.length !== 1) die(`the model has ${meta.inputs.length} inputs; this bench sends one`);
  const input = meta.inputs[0];
  const shape = input.shape.map((d, i) => (d === -1 ? (i === 0 ? batch : 1) : d));
  const count = shape.reduce((a, b) => a * b, 1);
  const images = readFileSync(join(root, 'models/data/fmnist-test-256-images.u8'));
  let data: Uint8Array;
  if (input.datatype === 'FP32') data = new Uint8Array(Float32Array.from({ length: count }, (_, i) => images[i % images.length] / 255).buffer);
  else data = new Uint8Array(count * ({ INT8: 1, UINT8: 1, FP16: 2, INT32: 4, INT64: 8, FP64: 8 }[input.datatype] ?? die(`input datatype ${input.datatype}`)));
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: input.name, shape, datatype: input.datatype, parameters: { binary_data_size: data.byteLength } }], parameters: { binary_data_output: true } }));
  return { path: '/v2/models/model/infer', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.byteLength) }, body: Buffer.concat([head, data]) };
}

/** The first output of one response, as float32 values. */
async function firstOutput(url: string, req: Awaited<ReturnType<typeof request>>): Promise<Float32Array> {
  const r = await fetch(url + req.path, { method: 'POST', headers: req.headers, body: new Uint8Array(req.body) });
  const body = new Uint8Array(await r.arrayBuffer());
  if (r.status !== 200) die(`${url}: HTTP ${r.status}: ${new TextDecoder().decode(body)}`);
  const n = Number(r.headers.get('inference-header-content-length'));
  const json = JSON.parse(new TextDecoder().decode(body.subarray(0, n))) as { outputs: { datatype: string; parameters: { binary_data_size: number } }[] };
  if (json.outputs[0].datatype !== 'FP32') return new Float32Array(0);
  return new Float32Array(body.slice(n, n + json.outputs[0].parameters.binary_data_size).buffer);
}

interface Row {
  config: string;
  label: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  rss_before_mb: number;
  rss_after_mb: number;
  server_cpu: number;
  client_cpu: number;
  max_abs_vs_first: number;
}

async function load(url: string, req: Awaited<ReturnType<typeof request>>, secs: number, latencies?: number[]) {
  const run = autocannon({ url: url + req.path, method: 'POST', headers: req.headers, body: req.body, connections, duration: secs, timeout: 10 });
  if (latencies) run.on('response', (_c: unknown, status: number, _b: number, ms: number) => status === 200 && latencies.push(ms));
  return await run;
}

/** A one-model repository under `dir`; for onnxruntime a QONNX model is rewritten into standard ONNX. */
function makeRepo(dir: string, forOrt: boolean): string {
  mkdirSync(join(dir, 'model', '1'), { recursive: true });
  const file = join(dir, 'model', '1', 'model.onnx');
  if (!forOrt || !readFileSync(model).includes('qonnx.custom_op')) {
    copyFileSync(model, file);
    return dir;
  }
  const python = existsSync(join(root, '.venv/bin/python')) ? join(root, '.venv/bin/python') : 'python3';
  const p = spawnSync(python, [join(root, 'bench/lib/qonnx_to_float.py'), model, file], { encoding: 'utf8' });
  if (p.status !== 0) die(`cannot rewrite the QONNX model for onnxruntime (${python} with onnx and numpy): ${p.stderr || p.error}`);
  log(`bench:server: onnxruntime serves ${basename(model)} rewritten into standard float ONNX (bench/lib/qonnx_to_float.py)`);
  return dir;
}

const model = pickModel();
const tmp = mkdtempSync(join(tmpdir(), 'lowbit-bench-server-'));
const repo = makeRepo(join(tmp, 'lowbit'), false);
const ortRepo = configs.some((c) => CONFIGS[c].ort) ? makeRepo(join(tmp, 'ort'), true) : repo;
const rows: Row[] = [];
let reference: Float32Array | undefined;
try {
  log(`bench:server: ${basename(model)}, batch ${batch}, binary requests, ${connections} connections, ${warmup} s warm-up + ${seconds} s per configuration; autocannon runs in this process`);
  for (const config of configs) {
    const server = await serve(CONFIGS[config].args(CONFIGS[config].ort ? ortRepo : repo));
    try {
      const req = await request(server.url);
      const out = await firstOutput(server.url, req);
      reference ??= out;
      const maxAbs = out.reduce((m, v, i) => Math.max(m, Math.abs(v - reference![i])), 0);
      if (warmup > 0) await load(server.url, req, warmup);
      const before = usage(server.proc.pid!);
      const clientCpu0 = process.cpuUsage();
      const latencies: number[] = [];
      const r = await load(server.url, req, seconds, latencies);
      const after = usage(server.proc.pid!);
      const clientCpu = process.cpuUsage(clientCpu0);
      const row: Row = {
        config,
        label: CONFIGS[config].label,
        rps: Math.round(r['2xx'] / r.duration),
        p50_ms: quantile(latencies, 0.5),
        p99_ms: quantile(latencies, 0.99),
        max_ms: quantile(latencies, 1),
        requests: r.requests.total,
        errors: r.errors,
        non2xx: r.non2xx,
        timeouts: r.timeouts,
        rss_before_mb: before.rss / 2 ** 20,
        rss_after_mb: after.rss / 2 ** 20,
        server_cpu: (after.cpu - before.cpu) / r.duration,
        client_cpu: (clientCpu.user + clientCpu.system) / 1e6 / r.duration,
        max_abs_vs_first: maxAbs,
      };
      rows.push(row);
      log(`  ${config}: ${row.rps} req/s, p50 ${row.p50_ms.toFixed(2)} ms, p99 ${row.p99_ms.toFixed(2)} ms, errors ${row.errors + row.non2xx + row.timeouts}, RSS ${row.rss_before_mb.toFixed(0)} → ${row.rss_after_mb.toFixed(0)} MiB`);
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const f = (x: number, d = 2) => x.toFixed(d);
const lines = [
  `${basename(model)}, batch ${batch}, binary requests and responses, ${connections} connections, ${seconds} s per row (after ${warmup} s warm-up); ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}; autocannon in the bench process`,
  '',
  '| server | req/s | p50 ms | p99 ms | max ms | errors | RSS before → after MiB | server CPU | autocannon CPU | max abs diff vs first row |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows.map((r) => `| ${r.label} | ${r.rps} | ${f(r.p50_ms)} | ${f(r.p99_ms)} | ${f(r.max_ms, 1)} | ${r.errors + r.non2xx + r.timeouts} | ${f(r.rss_before_mb, 0)} → ${f(r.rss_after_mb, 0)} | ${Math.round(r.server_cpu * 100)}% | ${Math.round(r.client_cpu * 100)}% | ${r.max_abs_vs_first.toExponential(1)} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (args.json) process.stdout.write(`${JSON.stringify({ model: basename(model), batch, connections, seconds, rows })}\n`);
