// The public API: InferenceSession.create from every source, run/fetches, metadata, release,
// backends and options, and the Tensor constructor forms.

import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceSession, LowbitError, supportedBackends, Tensor } from '../src/index.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { expectLowbit } from './support/errors.js';

// y = x·W + b, z = Relu(y); small integers so every result is exact in fp32.
const W = [[1, -2, 0], [3, 1, -1], [0, 2, 2], [-1, 0, 1]];
const B = [1, -3, 0];

function linearModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 21 });
  const x = b.input('x', 'float32', ['batch', 4]);
  const w = b.init('W', 'float32', [4, 3], W.flat());
  const bias = b.init('B', 'float32', [3], B);
  const y = b.op('Add', [b.op('MatMul', [x, w]), bias], {}, { outputs: ['y'] });
  b.output(y, 'float32', ['batch', 3]);
  b.output(b.op('Relu', [y], {}, { outputs: ['z'] }), 'float32', ['batch', 3]);
  return b.toBytes();
}

function expected(x: number[], n: number): { y: number[]; z: number[] } {
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) y.push(B[j] + W.reduce((s, row, k) => s + x[i * 4 + k] * row[j], 0));
  }
  return { y, z: y.map((v) => Math.max(0, v)) };
}

const input = (n: number, offset = 0) => Array.from({ length: n * 4 }, (_, i) => ((i * 7 + offset) % 9) - 4);

// A plain Uint8Array copy: the builder returns a Node Buffer, whose slice() is a view.
const MODEL = new Uint8Array(linearModel());

async function checkRuns(s: InferenceSession): Promise<void> {
  const x = input(2);
  const out = await s.run({ x: new Tensor('float32', x, [2, 4]) });
  const want = expected(x, 2);
  expect(Object.keys(out).sort()).toEqual(['y', 'z']);
  expect(out.y).toBeInstanceOf(Tensor);
  expect(out.y.type).toBe('float32');
  expect(out.y.dims).toEqual([2, 3]);
  expect([...(out.y.data as Float32Array)]).toEqual(want.y);
  expect([...(out.z.data as Float32Array)]).toEqual(want.z);
}

describe('InferenceSession.create sources', () => {
  let dir: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lowbit-api-'));
    writeFileSync(join(dir, 'linear.onnx'), MODEL);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/linear.onnx') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MODEL.byteLength });
        res.end(Buffer.from(MODEL));
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('from a Uint8Array, a Node Buffer, a Uint8Array view at an offset, and an ArrayBuffer', async () => {
    await checkRuns(await InferenceSession.create(MODEL));
    await checkRuns(await InferenceSession.create(Buffer.from(MODEL)));
    const padded = new Uint8Array(MODEL.byteLength + 13);
    padded.set(MODEL, 5);
    await checkRuns(await InferenceSession.create(padded.subarray(5, 5 + MODEL.byteLength)));
    await checkRuns(await InferenceSession.create(MODEL.slice().buffer));
  });

  it('from a file path, a file: URL object and a file: URL string', async () => {
    const path = join(dir, 'linear.onnx');
    await checkRuns(await InferenceSession.create(path));
    await checkRuns(await InferenceSession.create(pathToFileURL(path)));
    await checkRuns(await InferenceSession.create(pathToFileURL(path).href));
  });

  it('from an http URL (string and URL object) with progress reports', async () => {
    const progress: [number, number | undefined][] = [];
    await checkRuns(await InferenceSession.create(`${base}/linear.onnx`, { onProgress: (l, t) => progress.push([l, t]) }));
    await checkRuns(await InferenceSession.create(new URL(`${base}/linear.onnx`)));
    expect(requests.filter((r) => r === '/linear.onnx')).toHaveLength(2);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toEqual([MODEL.byteLength, MODEL.byteLength]);
  });

  it('fails with a LowbitError naming the source when it cannot be read', async () => {
    await expectLowbit(InferenceSession.create(`${base}/missing.onnx`), 'LOWBIT_BAD_INPUT', 'missing.onnx', 'HTTP 404');
    await expectLowbit(InferenceSession.create(join(dir, 'nope.onnx')), 'LOWBIT_BAD_INPUT', 'nope.onnx', 'ENOENT');
    await expectLowbit(InferenceSession.create(dir), 'LOWBIT_BAD_INPUT', 'not a regular file');
    await expectLowbit(InferenceSession.create('/dev/zero'), 'LOWBIT_BAD_INPUT', '/dev/zero', 'not a regular file');
    await expectLowbit(InferenceSession.create(null as never), 'LOWBIT_BAD_INPUT', 'file path, URL, ArrayBuffer or Uint8Array', 'null');
    await expectLowbit(InferenceSession.create(42 as never), 'LOWBIT_BAD_INPUT', 'got number');
    await expectLowbit(InferenceSession.create(new DataView(MODEL.buffer) as never), 'LOWBIT_BAD_INPUT', 'got DataView');
  });
});

describe('InferenceSession run, metadata and release', () => {
  it('exposes input/output names and metadata with symbolic dims', async () => {
    const s = await InferenceSession.create(MODEL);
    expect(s.inputNames).toEqual(['x']);
    expect(s.outputNames).toEqual(['y', 'z']);
    expect(s.inputMetadata).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
    expect(s.outputMetadata).toEqual([
      { name: 'y', isTensor: true, type: 'float32', shape: ['batch', 3] },
      { name: 'z', isTensor: true, type: 'float32', shape: ['batch', 3] },
    ]);
  });

  it('runs several batch sizes on one session, each exact', async () => {
    const s = await InferenceSession.create(MODEL);
    for (const n of [1, 3, 2, 7, 1]) {
      const x = input(n, n);
      const out = await s.run({ x: new Tensor('float32', new Float32Array(x), [n, 4]) });
      expect(out.y.dims).toEqual([n, 3]);
      expect([...(out.y.data as Float32Array)]).toEqual(expected(x, n).y);
    }
  });


  it('checks every run\'s feeds, also right after a run of the same shape, and its outputs are its own', async () => {
    const s = await InferenceSession.create(MODEL);
    const x = input(2, 1);
    const first = s.runSync({ x: new Tensor('float32', new Float32Array(x), [2, 4]) });
    // Same dims, other type / an extra feed / a missing one: refused as on a first run.
    await expectLowbit(() => s.runSync({ x: new Tensor('int32', new Int32Array(8), [2, 4]) }), 'LOWBIT_TYPE_MISMATCH', "input 'x'");
    await expectLowbit(() => s.runSync({ x: new Tensor('float32', new Float32Array(x), [2, 4]), q: new Tensor('float32', [1], [1]) }), 'LOWBIT_BAD_INPUT', "'q' is not an input");
    await expectLowbit(() => s.runSync({}), 'LOWBIT_BAD_INPUT', "input 'x' is missing");
    await expectLowbit(() => s.runSync({ x: new Tensor('float32', new Float32Array(x), [4, 2]) }), 'LOWBIT_SHAPE_MISMATCH', 'dimension 1');
    const x2 = input(2, 5);
    const second = s.runSync({ x: new Tensor('float32', new Float32Array(x2), [2, 4]) });
    expect([...(second.y.data as Float32Array)]).toEqual(expected(x2, 2).y);
    // The first result is untouched by the second run, and its dims are its own copy.
    expect([...(first.y.data as Float32Array)]).toEqual(expected(x, 2).y);
    expect(first.y.data.buffer).not.toBe(second.y.data.buffer);
    (first.y.dims as number[])[0] = 99;
    expect(s.runSync({ x: new Tensor('float32', new Float32Array(x2), [2, 4]) }).y.dims).toEqual([2, 3]);
  });
  it('returns only the fetched outputs (array or object form) and rejects unknown fetches', async () => {
    const s = await InferenceSession.create(MODEL);
    const x = input(3);
    const feeds = { x: new Tensor('float32', x, [3, 4]) };
    const a = await s.run(feeds, ['z']);
    expect(Object.keys(a)).toEqual(['z']);
    expect([...(a.z.data as Float32Array)]).toEqual(expected(x, 3).z);
    const b = await s.run(feeds, { y: null });
    expect(Object.keys(b)).toEqual(['y']);
    expect([...(b.y.data as Float32Array)]).toEqual(expected(x, 3).y);
    await expectLowbit(s.run(feeds, ['w']), 'LOWBIT_BAD_INPUT', "'w' is not an output", 'y, z');
  });

  it('fills pre-allocated output tensors (fetches name → Tensor) and returns them, as onnxruntime does', async () => {
    const s = await InferenceSession.create(MODEL);
    const y = new Tensor('float32', new Float32Array(6).fill(NaN), [2, 3]);
    for (const off of [0, 3]) {
      const x = input(2, off);
      const out = s.runSync({ x: new Tensor('float32', x, [2, 4]) }, { y, z: null });
      expect(Object.keys(out).sort()).toEqual(['y', 'z']);
      expect(out.y).toBe(y); // the same tensor, written in place, on every run
      expect([...(y.data as Float32Array)]).toEqual(expected(x, 2).y);
      expect([...(out.z.data as Float32Array)]).toEqual(expected(x, 2).z);
    }
    // An output view into a larger buffer (byteOffset ≠ 0) is written exactly where it lies.
    const buf = new Float32Array(8).fill(-7);
    const z = new Tensor('float32', buf.subarray(1, 7), [2, 3]);
    const x = input(2, 1);
    expect((await s.run({ x: new Tensor('float32', x, [2, 4]) }, { z })).z).toBe(z);
    expect([...buf]).toEqual([-7, ...expected(x, 2).z, -7]);
  });

  it('rejects pre-allocated outputs of the wrong shape or type before running, leaving them untouched', async () => {
    const s = await InferenceSession.create(MODEL);
    const feeds = { x: new Tensor('float32', input(2), [2, 4]) };
    const wrongDims = new Tensor('float32', new Float32Array(9).fill(5), [3, 3]);
    await expectLowbit(s.run(feeds, { y: wrongDims }), 'LOWBIT_SHAPE_MISMATCH', "pre-allocated output 'y'", '[3,3]', 'float32 [2,3]');
    expect([...(wrongDims.data as Float32Array)]).toEqual(Array(9).fill(5));
    await expectLowbit(() => s.runSync(feeds, { y: new Tensor('int32', new Int32Array(6), [2, 3]) }), 'LOWBIT_SHAPE_MISMATCH', 'int32 [2,3]');
    await expectLowbit(() => s.runSync(feeds, { y: new Float32Array(6) as unknown as Tensor }), 'LOWBIT_BAD_INPUT', "fetches['y']", 'Tensor');
    await expectLowbit(() => s.runSync(feeds, 'y' as unknown as string[]), 'LOWBIT_BAD_INPUT', 'fetches must be');
    // The session still runs.
    expect([...(s.runSync(feeds).y.data as Float32Array)]).toEqual(expected(input(2), 2).y);
  });

  it('serialises concurrent runs on one session, each getting its own result', async () => {
    const s = await InferenceSession.create(MODEL);
    const xs = [1, 4, 2, 5].map((n) => ({ n, x: input(n, 3 * n) }));
    const outs = await Promise.all(xs.map(({ n, x }) => s.run({ x: new Tensor('float32', x, [n, 4]) })));
    outs.forEach((o, i) => expect([...(o.y.data as Float32Array)]).toEqual(expected(xs[i].x, xs[i].n).y));
  });

  it('runSync gives the same answer as run', async () => {
    const s = await InferenceSession.create(MODEL);
    const x = input(2, 5);
    expect([...(s.runSync({ x: new Tensor('float32', x, [2, 4]) }).z.data as Float32Array)]).toEqual(expected(x, 2).z);
  });

  it('release() makes run and backend fail with LOWBIT_RELEASED, and may be repeated', async () => {
    const s = await InferenceSession.create(MODEL);
    await s.release();
    await expectLowbit(s.run({ x: new Tensor('float32', input(1), [1, 4]) }), 'LOWBIT_RELEASED', 'released');
    await expectLowbit(() => s.runSync({ x: new Tensor('float32', input(1), [1, 4]) }), 'LOWBIT_RELEASED');
    await expectLowbit(() => s.backend, 'LOWBIT_RELEASED');
    await s.release();
    expect(s.inputNames).toEqual(['x']);
  });
});

describe('backends and options', () => {
  it('runs the same model on every backend the engine supports, and auto picks the fastest', async () => {
    const have = await supportedBackends();
    // vitest runs Node with --experimental-wasm-relaxed-simd, so all three builds must load.
    expect(have).toEqual(['scalar', 'simd', 'relaxed']);
    for (const backend of have) {
      const s = await InferenceSession.create(MODEL, { backend });
      expect(s.backend).toBe(backend);
      await checkRuns(s);
    }
    expect((await InferenceSession.create(MODEL)).backend).toBe('relaxed');
    expect((await InferenceSession.create(MODEL, { backend: 'auto' })).backend).toBe('relaxed');
  });

  it('rejects bad options with LOWBIT_BAD_OPTION', async () => {
    await expectLowbit(InferenceSession.create(MODEL, { backend: 'gpu' as never }), 'LOWBIT_BAD_OPTION', "'gpu'");
    await expectLowbit(InferenceSession.create(MODEL, { memoryLimit: -1 }), 'LOWBIT_BAD_OPTION', 'memoryLimit', '-1');
    await expectLowbit(InferenceSession.create(MODEL, { memoryLimit: NaN }), 'LOWBIT_BAD_OPTION', 'memoryLimit');
    await expectLowbit(InferenceSession.create(MODEL, { maxModelBytes: 0 }), 'LOWBIT_BAD_OPTION', 'maxModelBytes');
  });

  it('enforces maxModelBytes and memoryLimit', async () => {
    await expectLowbit(InferenceSession.create(MODEL, { maxModelBytes: 64 }), 'LOWBIT_LIMIT', `${MODEL.byteLength} bytes`, 'maxModelBytes');
    // 1 MiB of activations per run cannot fit under a 256 KiB ceiling.
    const s = await InferenceSession.create(MODEL, { memoryLimit: 256 * 1024 });
    await checkRuns(s);
    await expectLowbit(s.run({ x: new Tensor('float32', new Float32Array(65536 * 4), [65536, 4]) }), 'LOWBIT_LIMIT', 'limit');
  });
});

describe('Tensor', () => {
  it('accepts (type, typedArray, dims), (type, array, dims), (typedArray, dims) and (typedArray)', () => {
    const a = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect([a.type, a.dims, a.size, a.location]).toEqual(['float32', [2, 3], 6, 'cpu']);
    const b = new Tensor('float32', [1, 2, 3, 4], [2, 2]);
    expect(b.data).toBeInstanceOf(Float32Array);
    expect([...b.data as Float32Array]).toEqual([1, 2, 3, 4]);
    const c = new Tensor(new Int32Array([1, 2, 3, 4]), [4, 1]);
    expect([c.type, c.dims]).toEqual(['int32', [4, 1]]);
    const d = new Tensor(new Float64Array(5));
    expect([d.type, d.dims]).toEqual(['float64', [5]]);
    const scalar = new Tensor('float32', [2.5], []);
    expect([scalar.dims, scalar.size]).toEqual([[], 1]);
    const empty = new Tensor('float32', new Float32Array(0), [3, 0]);
    expect(empty.size).toBe(0);
  });

  it('output views a run\'s byte copy as the type\'s array and refuses a byte count that does not fit', async () => {
    const t = Tensor.output('int16', new Uint8Array([1, 0, 255, 255]), [2]);
    expect([...(t.data as Int16Array)]).toEqual([1, -1]);
    expect(t.dims).toEqual([2]);
    await expectLowbit(() => Tensor.output('float32', new Uint8Array(7), [2]), 'LOWBIT_BAD_INPUT', 'cannot hold 7 bytes');
  });

  it('fromBytes copies unaligned bytes, from a Uint8Array or a Node Buffer, and views aligned ones', () => {
    const values = Float32Array.from([1.5, -2, 3.25]);
    const raw = new Uint8Array(13);
    raw.set(new Uint8Array(values.buffer), 1);
    for (const bytes of [raw.subarray(1), Buffer.from(raw.buffer).subarray(1)]) {
      const t = Tensor.fromBytes('float32', bytes, [3]);
      expect(t.data).toEqual(values);
      expect((t.data as Float32Array).buffer).not.toBe(raw.buffer);
    }
    const aligned = new Uint8Array(values.buffer);
    expect((Tensor.fromBytes('float32', aligned, [3]).data as Float32Array).buffer).toBe(values.buffer);
  });

  it('infers the type of every typed array and converts number/bigint/boolean arrays', async () => {
    const cases: [ArrayLike<unknown> & object, string][] = [
      [new Float32Array(1), 'float32'], [new Float64Array(1), 'float64'], [new Int8Array(1), 'int8'],
      [new Uint8Array(1), 'uint8'], [new Int16Array(1), 'int16'], [new Uint16Array(1), 'uint16'],
      [new Int32Array(1), 'int32'], [new Uint32Array(1), 'uint32'], [new BigInt64Array(1), 'int64'],
      [new BigUint64Array(1), 'uint64'],
    ];
    for (const [arr, type] of cases) expect(new Tensor(arr as Float32Array).type).toBe(type);
    const i64 = new Tensor('int64', [1, -2, 3], [3]);
    expect(i64.data).toEqual(new BigInt64Array([1n, -2n, 3n]));
    expect(new Tensor('int64', [5n, 6n], [2]).data).toEqual(new BigInt64Array([5n, 6n]));
    const bool = new Tensor('bool', [true, false, true], [3]);
    expect(bool.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(await bool.getData()).toBe(bool.data);
  });

  it('packs sub-byte types: int4 data is bytes, two elements each', () => {
    const t = new Tensor('int4', new Uint8Array([0x21, 0x03]), [3]);
    expect([t.dims, t.size]).toEqual([[3], 3]);
    expect(new Tensor('uint4', new Uint8Array(2)).dims).toEqual([4]);
    expect(new Tensor('int2', new Uint8Array(1)).dims).toEqual([4]);
    expect(() => new Tensor('int4', new Uint8Array(2), [5])).toThrow(LowbitError);
  });

  it('rejects bad types, data and dims with LOWBIT_BAD_INPUT naming the problem', async () => {
    await expectLowbit(() => new Tensor('float17' as never, new Float32Array(1)), 'LOWBIT_BAD_INPUT', "'float17'");
    await expectLowbit(() => new Tensor('string' as never, ['a'] as never), 'LOWBIT_BAD_INPUT', "'string'");
    await expectLowbit(() => new Tensor('float32', new Int32Array(2)), 'LOWBIT_BAD_INPUT', 'Float32Array', 'Int32Array');
    await expectLowbit(() => new Tensor('float32', undefined as never, [2]), 'LOWBIT_BAD_INPUT', 'undefined');
    await expectLowbit(() => new Tensor({} as never), 'LOWBIT_BAD_INPUT', 'typed array');
    await expectLowbit(() => new Tensor('float32', new Float32Array(5), [2, 3]), 'LOWBIT_BAD_INPUT', '[2,3]', 'needs 6 elements, got 5');
    await expectLowbit(() => new Tensor('float32', new Float32Array(0), [-1, 0]), 'LOWBIT_BAD_INPUT', 'dimension -1');
    await expectLowbit(() => new Tensor('float32', new Float32Array(1), [0.5, 2]), 'LOWBIT_BAD_INPUT', 'dimension 0.5');
    await expectLowbit(() => new Tensor('float32', new Float32Array(1), [NaN]), 'LOWBIT_BAD_INPUT', 'dimension NaN');
    await expectLowbit(() => new Tensor('float32', new Float32Array(1), ['1'] as never), 'LOWBIT_BAD_INPUT', "'1' (a string)");
    await expectLowbit(() => new Tensor('float32', new Float32Array(1), 1 as never), 'LOWBIT_BAD_INPUT', 'dims must be an array');
    await expectLowbit(() => new Tensor('int64', [1.5], [1]), 'LOWBIT_BAD_INPUT', 'element 0', '1.5', 'not an integer');
    await expectLowbit(() => new Tensor('float32', [1, 'b'] as never, [2]), 'LOWBIT_BAD_INPUT', 'element 1', 'not a number');
  });

  it('LowbitError is an Error with a stable code', () => {
    const e = new LowbitError('LOWBIT_LIMIT', 'too big');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message]).toEqual(['LowbitError', 'LOWBIT_LIMIT', 'too big']);
  });
});
