// npx tsx scripts/server-rss.ts [--requests 100000] [--connections 16] [--workers 1] [--model FILE]
//
// Does `lowbit serve` hold its memory flat under load? Starts the server in its own process over
// a one-model repository, sends --requests inference requests (JSON, keep-alive, autocannon),
// a mix of good ones and ones that fail (wrong shape → 400, unknown model → 404), and samples the
// server's RSS every 250 ms. Prints JSON: RSS after the first 10% of requests (warm), at the end,
// the peak, and the growth from warm to end; statuses by code.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    model: { type: 'string', default: join(root, 'models/fmnist-mlp-w1a1-qonnx.onnx') },
  },
});
const total = Number(values.requests);
const repo = mkdtempSync(join(tmpdir(), 'lowbit-rss-'));
mkdirSync(join(repo, 'model/1'), { recursive: true });
copyFileSync(values.model!, join(repo, 'model/1/model.onnx'));

const proc = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'src/cli/lowbit.ts', 'serve', repo, '--port', '0', '--workers', values.workers!, '--queue', '1024'],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
    const m = /listening on (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  proc.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
});
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024;

const meta = (await (await fetch(`${url}/v2/models/model`)).json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
const inputs = (bad: boolean) => meta.inputs.map((i) => {
  const shape = i.shape.map((d) => (d < 0 ? 1 : d));
  const n = shape.reduce((a, b) => a * b, 1);
  return { name: i.name, datatype: i.datatype, shape: bad ? [n + 1] : shape, data: Array.from({ length: bad ? n + 1 : n }, (_, k) => (k % 7) / 7) };
});
const good = JSON.stringify({ inputs: inputs(false) });
const wrongShape = JSON.stringify({ inputs: inputs(true) });
const headers = { 'content-type': 'application/json' };

const samples: { done: number; rss: number }[] = [];
let done = 0;
const statuses: Record<string, number> = {};
const timer = setInterval(() => samples.push({ done, rss: rss() }), 250);
const t0 = performance.now();
// `amount` (stop after N requests) is an autocannon option its type declarations lack.
const inst = autocannon({
  url, connections: Number(values.connections), amount: total, timeout: 30,
  requests: [{
    setupRequest: (req: object) => {
      const k = done % 20;
      // 18 of 20 good; one wrong shape (400), one unknown model (404).
      return { ...req, method: 'POST', headers, path: k === 19 ? '/v2/models/nope/infer' : '/v2/models/model/infer', body: k === 18 ? wrongShape : good };
    },
  }],
} as Parameters<typeof autocannon>[0]);
inst.on('response', (_c, status) => {
  done++;
  statuses[status] = (statuses[status] ?? 0) + 1;
});
await inst;
clearInterval(timer);
const secs = (performance.now() - t0) / 1000;
const end = rss();
const warm = samples.find((s) => s.done >= total / 10)?.rss ?? samples[0]?.rss ?? end;
const mb = (b: number) => +(b / 1024 ** 2).toFixed(1);
process.stdout.write(JSON.stringify({
  requests: done, seconds: +secs.toFixed(1), reqPerSec: Math.round(done / secs), statuses,
  rssWarmMiB: mb(warm), rssEndMiB: mb(end), rssPeakMiB: mb(Math.max(end, ...samples.map((s) => s.rss))), growthWarmToEndMiB: mb(end - warm),
  samplesMiB: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 10)) === 0).map((s) => [s.done, mb(s.rss)]),
}) + '\n');
proc.kill('SIGTERM');
rmSync(repo, { recursive: true, force: true });
