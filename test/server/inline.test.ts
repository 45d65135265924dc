// `workers: 0` (inference on the main thread) against the worker pool on the same repository:
// every request — JSON and binary, each datatype, outputs selection, every kind of error —
// gets the same status, headers and body bytes from both; the inline server reports no workers
// and refuses the options it cannot honour.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { fmnistFp32, fmnistInt8, images, makeRepo, typesModel } from '../support/server-repo.js';
import { call, sample, type V2Response } from '../support/v2-client.js';

const repo = makeRepo({ 'fmnist/1': fmnistFp32(), 'fmnist/2': fmnistInt8(), 'types/1': typesModel(), 'broken/1': new TextEncoder().encode('not onnx') });
mkdirSync(join(repo, 'empty'));
let pool: RunningServer;
let inline: RunningServer;

beforeAll(async () => {
  [pool, inline] = await Promise.all([startServer({ repo, port: 0, workers: 2, maxBodyBytes: 1 << 16 }), startServer({ repo, port: 0, workers: 0, maxBodyBytes: 1 << 16 })]);
});
afterAll(async () => {
  await Promise.all([pool?.close(), inline?.close()]);
  rmSync(repo, { recursive: true, force: true });
});

const x = images(3);
const xBytes = new Uint8Array(x.buffer);
const input = { name: 'input', shape: [3, 1, 28, 28], datatype: 'FP32' };
const binInput = { ...input, parameters: { binary_data_size: x.byteLength } };

/** A request: path, JSON part, binary part (undefined: a plain JSON body) or a raw body string. */
type Req = [path: string, json: unknown, binary?: Uint8Array];
const withBinary = (json: unknown, bin: Uint8Array): RequestInit => {
  const head = new TextEncoder().encode(JSON.stringify(json));
  const body = new Uint8Array(head.byteLength + bin.byteLength);
  body.set(head);
  body.set(bin, head.byteLength);
  return { method: 'POST', headers: { 'inference-header-content-length': String(head.byteLength) }, body };
};
const init = ([, json, bin]: Req): RequestInit => (bin ? withBinary(json, bin) : { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof json === 'string' ? json : JSON.stringify(json) });

const REQUESTS: [string, Req][] = [
  ['JSON in and out, latest version', ['fmnist/infer', { id: 'a', inputs: [{ ...input, data: Array.from(x) }] }]],
  ['JSON, version 1', ['fmnist/versions/1/infer', { inputs: [{ ...input, data: Array.from(x) }] }]],
  ['binary in and out', ['fmnist/infer', { inputs: [binInput], parameters: { binary_data_output: true } }, xBytes]],
  ['binary in, JSON out', ['fmnist/versions/1/infer', { id: 'b', inputs: [binInput] }, xBytes]],
  ['datatypes and outputs selection', ['types/infer', {
    inputs: [
      { name: 'h', shape: [3], datatype: 'FP16', data: [1.5, -0.1, 65504] },
      { name: 'i', shape: [3], datatype: 'INT64', data: [1, -2, 2 ** 53 - 1] },
      { name: 'b', shape: [3], datatype: 'BOOL', data: [true, false, true] },
      { name: 'u', shape: [3], datatype: 'UINT8', data: [0, 7, 255] },
    ],
    outputs: [{ name: 'not_b' }, { name: 'twice_h', parameters: { binary_data: true } }, { name: 'i_plus_1' }],
  }]],
  ['bad JSON', ['fmnist/infer', '{"inputs": [']],
  ['wrong shape', ['fmnist/infer', { inputs: [{ ...input, shape: [3, 784], data: Array.from(x) }] }]],
  ['binary sizes that do not add up', ['fmnist/infer', { inputs: [{ ...binInput, parameters: { binary_data_size: 12 } }] }, xBytes]],
  ['unknown output', ['fmnist/infer', { inputs: [{ ...input, data: Array.from(x) }], outputs: [{ name: 'probs' }] }]],
  ['unknown model', ['nope/infer', { inputs: [] }]],
  ['unknown version', ['fmnist/versions/9/infer', { inputs: [] }]],
  ['a model that failed to load', ['broken/infer', { inputs: [] }]],
  ['a body over the limit', ['fmnist/infer', { inputs: [binInput] }, new Uint8Array(1 << 16)]],
];

const send = (s: RunningServer, r: Req) => fetch(`${s.url}/v2/models/${r[0]}`, init(r)).then(async (res) => ({
  status: res.status,
  type: res.headers.get('content-type'),
  headerLength: res.headers.get('inference-header-content-length'),
  body: new Uint8Array(await res.arrayBuffer()),
}));

describe('inference on the main thread (workers: 0)', () => {
  it.each(REQUESTS)('%s: the same answer as the worker pool', async (_what, r) => {
    const [a, b] = await Promise.all([send(pool, r), send(inline, r)]);
    expect(b).toEqual(a);
    expect(a.status === 200 ? a.body.byteLength : 1).toBeGreaterThan(0);
  });

  it('answers concurrent requests, each with its own result', async () => {
    const reqs = Array.from({ length: 64 }, (_, k): Req => ['fmnist/infer', { id: String(k), inputs: [{ ...input, shape: [1, 1, 28, 28], data: Array.from(images(1, k)) }] }]);
    const want = await Promise.all(reqs.map((r) => send(pool, r)));
    const got = await Promise.all(reqs.map((r) => send(inline, r)));
    expect(got).toEqual(want);
    expect(new Set(got.map((g) => new TextDecoder().decode(g.body))).size).toBe(64);
  });

  it('reports no workers; metadata and readiness as the pool', async () => {
    expect(inline.workers).toBe(0);
    expect(inline.models).toEqual(pool.models);
    const m: V2Response = await call(`${inline.url}/metrics`);
    expect([sample(m.text, 'lowbit_workers'), sample(m.text, 'lowbit_inference_running'), sample(m.text, 'lowbit_queue_depth')]).toEqual([0, 0, 0]);
    for (const p of ['/v2/models/fmnist', '/v2/models/types', '/v2/models/fmnist/ready', '/v2/health/ready']) {
      const [a, b] = await Promise.all([call(`${pool.url}${p}`), call(`${inline.url}${p}`)]);
      expect([b.status, b.text]).toEqual([a.status, a.text]);
    }
  });

  it('refuses a queue or a timeout, which a run on the main thread cannot honour', async () => {
    await expect(startServer({ repo, port: 0, workers: 0, timeoutMs: 100 })).rejects.toThrow('options timeoutMs need worker threads: with workers 0 each request runs to completion on the main thread');
    await expect(startServer({ repo, port: 0, workers: 0, queue: 4 })).rejects.toThrow('options queue need worker threads');
  });
});
