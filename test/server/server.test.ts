// `lowbit serve` as a real HTTP server on an ephemeral port, over a temp repository: fmnist
// (version 1 fp32, version 2 int8 QDQ), a model of many datatypes, a broken model and a model
// directory without versions. Every endpoint and status, inference results against
// session.run on the same data (JSON flat and nested, binary extension both ways, outputs
// selection, id echo, versions), the errors, /metrics, and a short load test.

import { readFileSync, rmSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { fromMiniFloat, toMiniFloat } from '../../src/server/datatypes.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { fmnistFp32, fmnistInt8, images, makeRepo, typesModel } from '../support/server-repo.js';
import { binaryOutputs, call, post, postBinary, sample } from '../support/v2-client.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const repo = makeRepo({ 'fmnist/1': fmnistFp32(), 'fmnist/2': fmnistInt8(), 'types/1': typesModel(), 'broken/1': new TextEncoder().encode('not onnx') });
mkdirSync(join(repo, 'empty'));
let server: RunningServer;
let url: string;
const ref: Record<string, InferenceSession> = {};

beforeAll(async () => {
  server = await startServer({ repo, port: 0, workers: 2, queue: 512, maxBodyBytes: 1 << 20 });
  url = server.url;
  ref.fp32 = await InferenceSession.create(fmnistFp32());
  ref.int8 = await InferenceSession.create(fmnistInt8());
  ref.types = await InferenceSession.create(typesModel());
});
afterAll(async () => {
  await server?.close();
  rmSync(repo, { recursive: true, force: true });
});

const x2 = images(2);
const fmnistInput = { name: 'input', shape: [2, 1, 28, 28], datatype: 'FP32', data: Array.from(x2) };
const expected = async (which: 'fp32' | 'int8', x = x2, n = 2) => (await ref[which].run({ input: new Tensor('float32', x, [n, 1, 28, 28]) })).logits.data as Float32Array;

describe('server and model endpoints', () => {
  it('GET /v2 names the server and the binary tensor data extension; health', async () => {
    const r = await call(`${url}/v2`);
    expect([r.status, r.json]).toEqual([200, { name: 'lowbit', version: pkg.version, extensions: ['binary_tensor_data'] }]);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const live = await call(`${url}/v2/health/live`);
    expect([live.status, live.text]).toEqual([200, '']);
    // Strict readiness, as Triton: a model that failed to load makes the server not ready.
    const ready = await call(`${url}/v2/health/ready`);
    expect([ready.status, ready.text]).toEqual([400, '']);
  });

  it('reports which models loaded', () => {
    expect(server.models.map((m) => [m.model, m.version, m.ready])).toEqual([
      ['broken', '1', false], ['empty', '', false], ['fmnist', '1', true], ['fmnist', '2', true], ['types', '1', true],
    ]);
    expect(server.models[0].error).toMatch(/LOWBIT_BAD_MODEL/);
  });

  it('model metadata, for the model and for one version', async () => {
    const io = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }], outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }] };
    expect((await call(`${url}/v2/models/fmnist`)).json).toEqual({ name: 'fmnist', versions: ['1', '2'], platform: 'onnx_onnxv1', ...io });
    expect((await call(`${url}/v2/models/fmnist/versions/1`)).json).toEqual({ name: 'fmnist', versions: ['1'], platform: 'onnx_onnxv1', ...io });
    const types = (await call(`${url}/v2/models/types`)).json;
    expect(types.inputs).toEqual([['h', 'FP16'], ['i', 'INT64'], ['b', 'BOOL'], ['u', 'UINT8']].map(([name, datatype]) => ({ name, datatype, shape: [-1] })));
    expect(types.outputs.map((o: { datatype: string }) => o.datatype)).toEqual(['FP16', 'FP32', 'INT64', 'BOOL', 'INT32']);
  });

  it('model readiness: 200 ready, 400 not ready, 404 unknown', async () => {
    const status = async (p: string) => (await call(`${url}/v2/models/${p}`)).status;
    expect(await Promise.all(['fmnist/ready', 'fmnist/versions/1/ready', 'fmnist/versions/2/ready', 'broken/ready', 'broken/versions/1/ready', 'empty/ready', 'nope/ready', 'fmnist/versions/3/ready'].map(status)))
      .toEqual([200, 200, 200, 400, 400, 400, 404, 404]);
  });

  it('metadata errors: 404 unknown model or version, 503 not ready, 404 unknown endpoint', async () => {
    const nope = await call(`${url}/v2/models/nope`);
    expect([nope.status, nope.json]).toEqual([404, { error: "unknown model 'nope'" }]);
    const v = await call(`${url}/v2/models/fmnist/versions/3`);
    expect([v.status, v.json]).toEqual([404, { error: "unknown version '3' of model 'fmnist' (versions: 1, 2)" }]);
    const broken = await call(`${url}/v2/models/broken`);
    expect(broken.status).toBe(503);
    expect(broken.json.error).toMatch(/^model 'broken' is not ready: version 1: not a valid ONNX model/);
    expect((await call(`${url}/v2/models/empty`)).json).toEqual({ error: "model 'empty' is not ready: no version directory (empty/<integer>/model.onnx)" });
    const route = await call(`${url}/v3/things`);
    expect([route.status, route.json]).toEqual([404, { error: 'no such endpoint: GET /v3/things' }]);
  });
});

describe('inference', () => {
  it('JSON in and out equals session.run: latest version by default, a version by path; id echoed', async () => {
    const r = await post(`${url}/v2/models/fmnist/infer`, { id: 'req-7', inputs: [fmnistInput] });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.json).toMatchObject({ model_name: 'fmnist', model_version: '2', id: 'req-7' });
    expect(r.json.outputs.map((o: object) => ({ ...o, data: undefined }))).toEqual([{ name: 'logits', datatype: 'FP32', shape: [2, 10], data: undefined }]);
    expect(Float32Array.from(r.json.outputs[0].data)).toEqual(await expected('int8'));
    const v1 = await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [fmnistInput] });
    expect(v1.json.model_version).toBe('1');
    expect('id' in v1.json).toBe(false);
    expect(Float32Array.from(v1.json.outputs[0].data)).toEqual(await expected('fp32'));
  });

  it('nested data is the same tensor as flat data', async () => {
    const nested = Array.from({ length: 2 }, (_, n) => [Array.from({ length: 28 }, (_, r) => Array.from(x2.subarray(n * 784 + r * 28, n * 784 + r * 28 + 28)))]);
    const r = await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [{ ...fmnistInput, data: nested }] });
    expect(r.status).toBe(200);
    expect(Float32Array.from(r.json.outputs[0].data)).toEqual(await expected('fp32'));
  });

  it('binary tensor data extension: binary in, binary out, and both', async () => {
    const want = new Uint8Array((await expected('fp32')).buffer);
    const input = { name: 'input', shape: [2, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: x2.byteLength } };
    const binIn = await postBinary(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [input] }, [x2]);
    expect(binIn.status).toBe(200);
    expect(new Uint8Array(Float32Array.from(binIn.json.outputs[0].data).buffer)).toEqual(want);

    const binOut = await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [fmnistInput], parameters: { binary_data_output: true } });
    expect(binOut.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(binOut.headers.get('inference-header-content-length'))).toBe(binOut.text.length);
    expect(binOut.json.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [2, 10], parameters: { binary_data_size: 80 } }]);
    expect(binaryOutputs(binOut).logits).toEqual(want);

    const jsonAfterAll = await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [fmnistInput], parameters: { binary_data_output: true }, outputs: [{ name: 'logits', parameters: { binary_data: false } }] });
    expect([jsonAfterAll.headers.get('inference-header-content-length'), jsonAfterAll.binary.byteLength]).toEqual([null, 0]);
    expect(new Uint8Array(Float32Array.from(jsonAfterAll.json.outputs[0].data).buffer)).toEqual(want);
    const emptyOutputs = await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [fmnistInput], outputs: [] });
    expect(emptyOutputs.json.outputs.map((o: { name: string }) => o.name)).toEqual(['logits']);

    const both = await postBinary(`${url}/v2/models/fmnist/versions/1/infer`, { id: 'b', inputs: [input], outputs: [{ name: 'logits', parameters: { binary_data: true } }] }, [x2]);
    expect(both.json.id).toBe('b');
    expect(binaryOutputs(both).logits).toEqual(want);
  });

  it('datatypes: FP16, INT64 beyond 2^53, BOOL, UINT8; outputs selected and ordered as asked', async () => {
    const h = [1.5, -0.1, 65504, 1e-7];
    const halfBits = Uint16Array.from(h, (v) => toMiniFloat(v, 5, 10));
    const big = BigInt64Array.from([2n ** 60n, -(2n ** 62n), 3n, 0n]);
    const feeds = { h: new Tensor('float16', halfBits, [4]), i: new Tensor('int64', big, [4]), b: new Tensor('bool', Uint8Array.from([1, 0, 0, 1]), [4]), u: new Tensor('uint8', Uint8Array.from([0, 7, 255, 9]), [4]) };
    const want = await ref.types.run(feeds);
    const body = {
      inputs: [
        { name: 'h', shape: [4], datatype: 'FP16', data: h },
        { name: 'i', shape: [4], datatype: 'INT64', parameters: { binary_data_size: 32 } },
        { name: 'b', shape: [4], datatype: 'BOOL', data: [true, false, false, true] },
        { name: 'u', shape: [4], datatype: 'UINT8', data: [0, 7, 255, 9] },
      ],
      outputs: [{ name: 'not_b' }, { name: 'i_plus_1' }, { name: 'twice_h' }, { name: 'u_as_i32', parameters: { binary_data: true } }],
    };
    const r = await postBinary(`${url}/v2/models/types/infer`, body, [big]);
    expect(r.status).toBe(200);
    expect(r.json.outputs.map((o: { name: string; datatype: string }) => [o.name, o.datatype])).toEqual([['not_b', 'BOOL'], ['i_plus_1', 'INT64'], ['twice_h', 'FP16'], ['u_as_i32', 'INT32']]);
    const [notB, , twiceH] = r.json.outputs;
    expect(notB.data).toEqual(Array.from(want.not_b.data as Uint8Array, (v) => v === 1));
    // 64-bit integers are written exactly in the JSON text (JSON.parse would round them).
    expect(r.text).toContain(`"data":[${Array.from(want.i_plus_1.data as BigInt64Array).join(',')}]`);
    // 2·65504 overflows FP16: non-finite values are the strings "Infinity", "-Infinity", "NaN".
    expect(twiceH.data).toEqual(Array.from(want.twice_h.data as Uint16Array, (b) => fromMiniFloat(b, 5, 10)).map((v) => (Number.isFinite(v) ? v : String(v))));
    expect(twiceH.data[2]).toBe('Infinity');
    expect(new Int32Array(binaryOutputs(r).u_as_i32.buffer)).toEqual(want.u_as_i32.data);

    const fp16Out = await postBinary(`${url}/v2/models/types/infer`, { ...body, outputs: [{ name: 'twice_h', parameters: { binary_data: true } }] }, [big]);
    expect(new Uint16Array(binaryOutputs(fp16Out).twice_h.buffer)).toEqual(want.twice_h.data);
  });
});

const ok = { inputs: [fmnistInput] };
const BAD: [string, unknown, RegExp][] = [
  ['bad JSON', '{"inputs": [', /^the request is not valid JSON/],
  ['not an object', '[1]', /must be a JSON object/],
  ['no inputs', { id: 'x' }, /must have an "inputs" array/],
  ['non-string id', { ...ok, id: 5 }, /"id" must be a string/],
  ['unknown input', { inputs: [fmnistInput, { ...fmnistInput, name: 'extra' }] }, /'extra' is not an input of model 'fmnist' \(inputs: input\)/],
  ['missing input', { inputs: [] }, /model 'fmnist' needs input 'input'/],
  ['wrong datatype', { inputs: [{ ...fmnistInput, datatype: 'FP64' }] }, /datatype FP64 does not match the model's FP32/],
  ['unknown datatype', { inputs: [{ ...fmnistInput, datatype: 'FLOAT' }] }, /unknown datatype "FLOAT"/],
  ['BYTES', { inputs: [{ ...fmnistInput, datatype: 'BYTES' }] }, /BYTES \(string\) tensors are not supported by lowbit/],
  ['wrong shape', { inputs: [{ ...fmnistInput, shape: [2, 784] }] }, /shape \[2,784\] does not match the model's \[-1,1,28,28\]/],
  ['too little data', { inputs: [{ ...fmnistInput, data: [1, 2, 3] }] }, /shape \[2,1,28,28\] needs 1568 values, "data" has 3/],
  ['a string value', { inputs: [{ ...fmnistInput, data: [...fmnistInput.data.slice(1), 'x'] }] }, /element 1567 \("x"\) is not a FP32 value/],
  ['no data', { inputs: [{ ...fmnistInput, data: undefined }] }, /no "data" and no parameter "binary_data_size"/],
  ['unknown output', { ...ok, outputs: [{ name: 'probs' }] }, /'probs' is not an output of model 'fmnist' \(outputs: logits\)/],
  ['binary flag not a bool', { ...ok, parameters: { binary_data_output: 'yes' } }, /"binary_data_output" must be true or false/],
  ['binary data missing', { inputs: [{ ...fmnistInput, data: undefined, parameters: { binary_data_size: 6272 } }] }, /the body ends 6272 bytes before its binary data does/],
];

describe('request errors', () => {
  it.each(BAD)('400 for %s', async (_what, body, message) => {
    const r = await post(`${url}/v2/models/fmnist/infer`, body);
    expect(r.status).toBe(400);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
  });

  it('400 for binary sizes that do not add up, and a bad Inference-Header-Content-Length', async () => {
    const input = { name: 'input', shape: [2, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 100 } };
    expect((await postBinary(`${url}/v2/models/fmnist/infer`, { inputs: [input] }, [x2])).json.error).toMatch(/binary_data_size 100 does not match shape \[2,1,28,28\] of FP32 \(6272 bytes\)/);
    const extra = await postBinary(`${url}/v2/models/fmnist/infer`, { inputs: [{ ...input, parameters: { binary_data_size: 6272 } }] }, [x2, new Uint8Array(3)]);
    expect([extra.status, extra.json.error]).toEqual([400, 'the body has 3 bytes after the JSON and the inputs\' binary data']);
    const bad = await call(`${url}/v2/models/fmnist/infer`, { method: 'POST', headers: { 'inference-header-content-length': '99999' }, body: JSON.stringify(ok) });
    expect([bad.status, bad.json.error]).toEqual([400, expect.stringMatching(/^Inference-Header-Content-Length 99999 is not a byte count within the \d+-byte body/)]);
    const empty = await call(`${url}/v2/models/fmnist/infer`, { method: 'POST' });
    expect([empty.status, empty.json]).toEqual([400, { error: 'the request has no body' }]);
  });

  it('404 for an unknown model or version, 503 for a model that failed to load', async () => {
    expect(await post(`${url}/v2/models/nope/infer`, ok)).toMatchObject({ status: 404, json: { error: "unknown model 'nope'" } });
    expect(await post(`${url}/v2/models/fmnist/versions/7/infer`, ok)).toMatchObject({ status: 404, json: { error: "unknown version '7' of model 'fmnist' (versions: 1, 2)" } });
    const broken = await post(`${url}/v2/models/broken/infer`, ok);
    expect(broken.status).toBe(503);
    expect(broken.json.error).toMatch(/^model 'broken' is not ready/);
  });

  it('413 for a body over the limit (1 MiB here)', async () => {
    const r = await postBinary(`${url}/v2/models/fmnist/infer`, { inputs: [] }, [new Uint8Array(1 << 20)]);
    expect([r.status, r.json]).toEqual([413, { error: `the request body is larger than the limit of ${1 << 20} bytes` }]);
  });
});

describe('metrics and load', () => {
  it('/metrics counts requests, failures and latency per model version', async () => {
    const before = (await call(`${url}/metrics`)).text;
    await post(`${url}/v2/models/fmnist/versions/1/infer`, ok);
    await post(`${url}/v2/models/fmnist/versions/1/infer`, { inputs: [] });
    const r = await call(`${url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const delta = (s: string) => sample(r.text, s) - sample(before, s);
    const v1 = '{model="fmnist",version="1"}';
    expect(delta(`lowbit_inference_requests_total${v1}`)).toBe(2);
    expect(delta('lowbit_inference_failures_total{model="fmnist",version="1",code="400"}')).toBe(1);
    expect(delta(`lowbit_inference_duration_seconds_count${v1}`)).toBe(1);
    expect(delta('lowbit_inference_duration_seconds_bucket{model="fmnist",version="1",le="+Inf"}')).toBe(1);
    expect(delta(`lowbit_inference_duration_seconds_sum${v1}`)).toBeGreaterThan(0);
    expect(sample(r.text, 'lowbit_workers')).toBe(2);
    expect(sample(r.text, 'lowbit_queue_depth')).toBe(0);
    expect(sample(r.text, 'lowbit_model_ready{model="broken",version="1"}')).toBe(0);
    expect(sample(r.text, 'lowbit_model_ready{model="fmnist",version="2"}')).toBe(1);
    expect(sample(r.text, 'lowbit_http_responses_total{code="200"}')).toBeGreaterThan(sample(before, 'lowbit_http_responses_total{code="200"}'));
  });

  it('load: 400 concurrent requests all succeed with the right outputs', async () => {
    const n = 400;
    const batch = images(8);
    const want = await expected('int8', batch, 8);
    const start = performance.now();
    const latencies: number[] = [];
    const results = await Promise.all(Array.from({ length: n }, async (_, k) => {
      const t0 = performance.now();
      const r = k % 2 === 0
        ? await post(`${url}/v2/models/fmnist/infer`, { id: String(k), inputs: [{ name: 'input', shape: [8, 1, 28, 28], datatype: 'FP32', data: Array.from(batch) }] })
        : await postBinary(`${url}/v2/models/fmnist/infer`, { id: String(k), inputs: [{ name: 'input', shape: [8, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: batch.byteLength } }], parameters: { binary_data_output: true } }, [batch]);
      latencies.push(performance.now() - t0);
      const logits = r.status !== 200 ? undefined : k % 2 === 0 ? Float32Array.from(r.json.outputs[0].data) : new Float32Array(binaryOutputs(r).logits.buffer);
      return { status: r.status, id: r.json?.id, same: logits !== undefined && logits.every((v, i) => v === want[i]) };
    }));
    const seconds = (performance.now() - start) / 1000;
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.every((r, k) => r.same && r.id === String(k))).toBe(true);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(n - 1, Math.floor(p * n))].toFixed(1);
    console.log(`load: ${n} concurrent requests (batch 8, half JSON, half binary) on ${server.workers} workers: ${(n / seconds).toFixed(0)} req/s, latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
  });
});
