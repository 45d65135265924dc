// `lowbit serve` throughput and latency: the server as its own process (1 and 2 workers) over a
// repository with the int8 Fashion-MNIST MLP, a closed-loop client in this process sending
// binary-extension requests (batch 1 and 32) from `--concurrency` connections; beside it the
// same batches through session.runSync in this process (one thread, no HTTP).
// Run: node --experimental-wasm-relaxed-simd --import tsx bench/serve.ts [--quick] [--concurrency N]

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { InferenceSession, Tensor } from '../src/index.js';
import { fmnistInt8, images, makeRepo } from '../test/support/server-repo.js';

const quick = process.argv.includes('--quick');
const ci = process.argv.indexOf('--concurrency');
const concurrency = ci > 0 ? Number(process.argv[ci + 1]) : 16;
const seconds = quick ? 2 : 6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

function request(batch: number): { body: Uint8Array<ArrayBuffer>; headerLength: number } {
  const x = images(batch);
  const head = new TextEncoder().encode(JSON.stringify({
    inputs: [{ name: 'input', shape: [batch, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
    parameters: { binary_data_output: true },
  }));
  const body = new Uint8Array(head.byteLength + x.byteLength);
  body.set(head);
  body.set(new Uint8Array(x.buffer), head.byteLength);
  return { body, headerLength: head.byteLength };
}

async function load(url: string, batch: number): Promise<{ rps: number; p50: number; p99: number }> {
  const { body, headerLength } = request(batch);
  const send = async () => {
    const r = await fetch(`${url}/v2/models/fmnist/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(headerLength) }, body });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  };
  for (let i = 0; i < 50; i++) await send(); // warm the kernels in every worker
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await send();
      latencies.push(performance.now() - s);
    }
  }));
  return { rps: latencies.length / ((performance.now() - t0) / 1000), p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

async function serve(repo: string, workers: number): Promise<{ url: string; stop(): Promise<void> }> {
  const p = spawn(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'src/cli/lowbit.ts', 'serve', repo, '--port', '0', '--workers', String(workers), '--queue', '1024'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`server exited: ${out}`)));
  });
  return { url, stop: async () => { p.kill('SIGTERM'); await exited; } };
}

const repo = makeRepo({ 'fmnist/1': fmnistInt8() }, 'lowbit-bench-');
try {
  const session = await InferenceSession.create(fmnistInt8());
  console.log(`lowbit serve, int8 Fashion-MNIST MLP, binary requests, ${concurrency} client connections, ${seconds} s per row (client in this process)`);
  console.log('| workers | batch | req/s | images/s | p50 ms | p99 ms | in-process runSync ms (1 thread) |');
  console.log('|--:|--:|--:|--:|--:|--:|--:|');
  for (const workers of [1, 2]) {
    const server = await serve(repo, workers);
    for (const batch of [1, 32]) {
      const feeds = { input: new Tensor('float32', images(batch), [batch, 1, 28, 28]) };
      for (let i = 0; i < 50; i++) session.runSync(feeds);
      const direct = median(Array.from({ length: 200 }, () => {
        const s = performance.now();
        session.runSync(feeds);
        return performance.now() - s;
      }));
      const r = await load(server.url, batch);
      console.log(`| ${workers} | ${batch} | ${r.rps.toFixed(0)} | ${(r.rps * batch).toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${direct.toFixed(3)} |`);
    }
    await server.stop();
  }
} finally {
  rmSync(repo, { recursive: true, force: true });
}
