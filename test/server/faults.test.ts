// The server under faults: malformed HTTP, bodies that lie about their length, slow clients,
// 1,000 concurrent connections, runs that throw. Each gets the right status, and the server
// answers a good request afterwards. (RSS over 100,000 requests: scripts/server-rss.ts.)

import { request } from 'node:http';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';
import { makeRepo } from '../support/server-repo.js';
import { post } from '../support/v2-client.js';

function reluModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 17 });
  b.output(b.op('Relu', [b.input('x', 'float32', ['N', 4])], {}, { outputs: ['y'] }), 'float32', ['N', 4]);
  return b.toBytes();
}
/** y = ConstantOfShape(shape): the request decides how much it allocates. */
function fillModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 17 });
  b.output(b.op('ConstantOfShape', [b.input('shape', 'int64', [2])], {}, { name: 'fill', outputs: ['y'] }), 'float32', null);
  return b.toBytes();
}

const repo = makeRepo({ 'relu/1': reluModel(), 'fill/1': fillModel() });
let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ repo, port: 0, workers: 1, queue: 2000, clientTimeoutMs: 400 });
});
afterAll(async () => {
  await server?.close();
  rmSync(repo, { recursive: true, force: true });
});

const RELU = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [-1, 2, -3, 4] }] });
async function healthy(): Promise<void> {
  const r = await post(`${server.url}/v2/models/relu/infer`, RELU);
  expect([r.status, r.json.outputs[0].data]).toEqual([200, [0, 2, 0, 4]]);
}

/** Writes raw bytes on a fresh connection (optionally leaving it open) and collects the reply until the server closes or `waitMs` passes. */
function raw(data: string | Buffer, opts: { end?: boolean; waitMs?: number } = {}): Promise<{ text: string; closedByServer: boolean; ms: number }> {
  const { port, hostname } = new URL(server.url);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = connect(Number(port), hostname);
    let text = '';
    let closedByServer = false;
    const timer = setTimeout(() => { sock.destroy(); resolve({ text, closedByServer, ms: performance.now() - t0 }); }, opts.waitMs ?? 3000);
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => { closedByServer = true; clearTimeout(timer); resolve({ text, closedByServer, ms: performance.now() - t0 }); });
    sock.write(data);
    if (opts.end) sock.end();
  });
}
const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
const infer = (model: string, body: string, headers: Record<string, string | number> = {}) =>
  `POST /v2/models/${model}/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;

describe('server faults', () => {
  it('malformed HTTP is 400 and the connection is closed', async () => {
    for (const junk of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /v2 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', '\x00\x01\x02\xff\r\n\r\n',
      'POST /v2/models/relu/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']) {
      const r = await raw(junk);
      expect(statusOf(r.text), JSON.stringify(junk)).toBe(400);
      expect(r.closedByServer).toBe(true);
    }
    await healthy();
  });

  it('a body shorter than its Content-Length times out with 408; a longer one is cut at the length', async () => {
    const short = await raw(infer('relu', RELU.slice(0, 20), { 'Content-Length': RELU.length }), { waitMs: 5000 });
    expect(statusOf(short.text)).toBe(408);
    expect(short.closedByServer).toBe(true);
    // The first 20 bytes are the body (invalid JSON: 400); the rest is not a request (400).
    const long = await raw(infer('relu', RELU, { 'Content-Length': 20 }));
    expect(statusOf(long.text)).toBe(400);
    expect(long.text).toContain('"error"');
    // A declared length over the body limit is refused before the body is read.
    const huge = await raw(infer('relu', '{', { 'Content-Length': 10 ** 12 }));
    expect(statusOf(huge.text)).toBe(413);
    await healthy();
  });

  it('a client that stalls in its headers or body is answered 408 and disconnected within the client timeout', async () => {
    const head = await raw('POST /v2/models/relu/infer HTTP/1.1\r\nHost: x\r\n', { waitMs: 5000 });
    const body = await raw(infer('relu', '{"inputs": [', { 'Content-Length': 1000 }), { waitMs: 5000 });
    for (const r of [head, body]) {
      expect(statusOf(r.text)).toBe(408);
      expect(r.closedByServer).toBe(true);
      expect(r.ms).toBeLessThan(3000); // clientTimeoutMs 400, checked every 100 ms
    }
    await healthy();
  });

  it('1,000 concurrent connections are all answered correctly', async () => {
    const { port, hostname } = new URL(server.url);
    const one = (i: number) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const x = [i, -i, i + 0.5, -1];
      const body = JSON.stringify({ id: String(i), inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] });
      const req = request({ host: hostname, port, method: 'POST', path: '/v2/models/relu/infer', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on('error', reject);
      req.end(body);
    });
    const res = await Promise.all(Array.from({ length: 1000 }, (_, i) => one(i)));
    res.forEach((r, i) => {
      expect(r.status, r.body).toBe(200);
      const j = JSON.parse(r.body);
      expect([j.id, j.outputs[0].data]).toEqual([String(i), [i, 0, i + 0.5, 0]]);
    });
    await healthy();
  }, 120_000);

  it('runs that throw are 400 with the node named; the model and the server keep serving', async () => {
    const fill = (shape: number[]) => post(`${server.url}/v2/models/fill/infer`, { inputs: [{ name: 'shape', shape: [2], datatype: 'INT64', data: shape }] });
    const limit = await fill([2 ** 20, 2 ** 20]);
    expect([limit.status, limit.json.error]).toEqual([400, expect.stringContaining("'fill'")]);
    expect(limit.json.error).toContain('LOWBIT_LIMIT');
    const neg = await fill([-1, 3]);
    expect([neg.status, neg.json.error]).toEqual([400, expect.stringContaining('LOWBIT_SHAPE_MISMATCH')]);
    const memory = await fill([2 ** 15, 2 ** 15]);
    expect([memory.status, memory.json.error]).toEqual([400, expect.stringContaining('LOWBIT_LIMIT')]);
    const ok = await fill([2, 3]);
    expect([ok.status, ok.json.outputs[0].shape, ok.json.outputs[0].data]).toEqual([200, [2, 3], [0, 0, 0, 0, 0, 0]]);
    await healthy();
  });
});
