// The server's limits with a model as slow as asked (test/support/server-repo.ts slowModel):
// 503 when the queue is full, 503 when a request times out (its worker is replaced and the next
// request is served), and graceful shutdown (the request in flight finishes, new ones are
// refused).

import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { fmnistFp32, images, makeRepo, slowModel } from '../support/server-repo.js';
import { call, post, sample } from '../support/v2-client.js';

const repo = makeRepo({ 'slow/1': slowModel(), 'fmnist/1': fmnistFp32() });
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(repo, { recursive: true, force: true });
});

async function serve(opts: { queue?: number; timeoutMs?: number }): Promise<string> {
  const s = await startServer({ repo, port: 0, workers: 1, ...opts });
  servers.push(s);
  return s.url;
}

/** One run is a k×k×k MatMul; the answer is k·x². */
const slow = (url: string, k: number, x = 0.5) => post(`${url}/v2/models/slow/infer`, {
  inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [x] }, { name: 'n', shape: [2], datatype: 'INT64', data: [k, k] }],
});
const fmnist = (url: string) => post(`${url}/v2/models/fmnist/infer`, { inputs: [{ name: 'input', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(images(1)) }] });
/** Waits until the server's gauges have these values. */
async function until(url: string, gauges: Record<string, number>): Promise<void> {
  for (;;) {
    const m = (await call(`${url}/metrics`)).text;
    if (Object.entries(gauges).every(([k, v]) => sample(m, k) === v)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}
const busy = (running: number, queued: number) => ({ lowbit_inference_running: running, lowbit_queue_depth: queued });

describe('limits', () => {
  it('503 when the queue is full; the queued request is served after the running one', async () => {
    const url = await serve({ queue: 1 });
    const first = slow(url, 1024);
    await until(url, busy(1, 0));
    const second = slow(url, 1024, 2);
    await until(url, busy(1, 1));
    const third = await slow(url, 8);
    expect([third.status, third.json]).toEqual([503, { error: 'the request queue is full (1 waiting for 1 workers)' }]);
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, a.json.outputs[0].data, b.status, b.json.outputs[0].data]).toEqual([200, [1024 * 0.25], 200, [1024 * 4]]);
    const m = (await call(`${url}/metrics`)).text;
    expect(sample(m, 'lowbit_inference_failures_total{model="slow",version="1",code="503"}')).toBe(1);
  });

  it('503 when a request takes longer than the timeout; its worker is replaced', async () => {
    // k = 2048 is 8.6 G multiply-adds: over 0.3 s even at the fastest fp32 GEMM speed measured here.
    const url = await serve({ timeoutMs: 150 });
    const t0 = performance.now();
    const r = await slow(url, 2048);
    const ms = performance.now() - t0;
    expect([r.status, r.json]).toEqual([503, { error: 'the request timed out after 150 ms; its run was stopped' }]);
    expect(ms).toBeLessThan(1000);
    // A fresh worker loads the models in place of the stopped one, then serves.
    expect(sample((await call(`${url}/metrics`)).text, 'lowbit_workers_ready')).toBe(0);
    await until(url, { lowbit_workers_ready: 1 });
    const next = await fmnist(url);
    expect(next.status).toBe(200);
    const small = await slow(url, 16, 3);
    expect([small.status, small.json.outputs[0].data]).toEqual([200, [16 * 9]]);
  });

  it('graceful shutdown: the request in flight finishes, new requests are refused', async () => {
    const url = await serve({ queue: 4 });
    const s = servers[servers.length - 1];
    const inFlight = slow(url, 1024);
    await until(url, busy(1, 0));
    const closed = s.close();
    const refused = await call(`${url}/v2/health/live`).then((r) => r.status, (e: Error) => e.message);
    // A new connection is refused; a request on a kept-alive one would get 503.
    expect([503, 'fetch failed']).toContain(refused);
    const r = await inFlight;
    expect([r.status, r.json.outputs[0].data]).toEqual([200, [256]]);
    await closed;
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow('fetch failed');
  });
});
