// Resource limits (session options) with safe defaults: model bytes, tensor elements, WASM
// memory (checked before memory.grow, ceiling below 4 GiB) and a per-run time budget. Breaking
// one is a LowbitError that gives the numbers; the session stays usable.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../src/index.js';
import { MAX_MEMORY_LIMIT } from '../src/kernels/machine.js';
import { OnnxBuilder } from '../scripts/lib/onnx-builder.js';
import { expectLowbit } from './support/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lowbit-limits-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** y = relu(x · w) with x [1, k], w [k, k]. */
function matmulModel(k: number): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', 'float32', [1, k]);
  const w = b.init('w', 'float32', [k, k], new Float32Array(k * k).fill(0.5));
  b.output(b.op('Relu', [b.op('MatMul', [x, w], {}, { name: 'mm' })], {}, { outputs: ['y'] }), 'float32', [1, k]);
  return b.toBytes();
}

/** `steps` chained k×k MatMuls: enough work that a 1 ms budget is always exceeded. */
function chainModel(k: number, steps: number): Uint8Array {
  const b = new OnnxBuilder();
  let v = b.input('x', 'float32', [k, k]);
  const w = b.init('w', 'float32', [k, k], new Float32Array(k * k).fill(1 / k));
  for (let i = 0; i < steps; i++) v = b.op('MatMul', [v, w], {}, { name: `mm${i}`, outputs: i === steps - 1 ? ['y'] : undefined });
  b.output(v, 'float32', [k, k]);
  return b.toBytes();
}

describe('model bytes', () => {
  it('a model over maxModelBytes is LOWBIT_LIMIT with both sizes, from bytes and from a file', async () => {
    const bytes = matmulModel(8);
    await expectLowbit(InferenceSession.create(bytes, { maxModelBytes: 100 }), 'LOWBIT_LIMIT', `${bytes.byteLength} bytes`, 'limit of 100 bytes', 'maxModelBytes');
    const path = join(tmp, 'm.onnx');
    writeFileSync(path, bytes);
    await expectLowbit(InferenceSession.create(path, { maxModelBytes: 100 }), 'LOWBIT_LIMIT', `${bytes.byteLength} bytes`, 'limit of 100 bytes');
    expect((await InferenceSession.create(path, { maxModelBytes: bytes.byteLength })).inputNames).toEqual(['x']);
  });
});

describe('tensor elements', () => {
  it('an initializer over maxTensorElements is refused at load, naming it and the numbers', async () => {
    await expectLowbit(InferenceSession.create(matmulModel(16), { maxTensorElements: 255 }), 'LOWBIT_LIMIT', "'w'", '[16,16]', 'more than 255 elements', 'maxTensorElements');
    expect((await InferenceSession.create(matmulModel(16), { maxTensorElements: 256 })).outputNames).toEqual(['y']);
  });

  it('an intermediate over the limit is refused when planned, naming the node', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', [1, 4]);
    const reps = b.const('int64', [2], [100, 1]);
    b.output(b.op('Tile', [x, reps], {}, { name: 'tile', outputs: ['y'] }), 'float32', [100, 4]);
    await expectLowbit(InferenceSession.create(b.toBytes(), { maxTensorElements: 399 }), 'LOWBIT_LIMIT', "'tile'", '[100,4]', 'more than 399');
    const s = await InferenceSession.create(b.toBytes(), { maxTensorElements: 400 });
    expect((await s.run({ x: new Tensor('float32', new Float32Array(4), [1, 4]) })).y.dims).toEqual([100, 4]);
  });

  it('a feed over the limit is LOWBIT_LIMIT; the session then runs a smaller feed', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', ['n', 4]);
    b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['n', 4]);
    const s = await InferenceSession.create(b.toBytes(), { maxTensorElements: 1000 });
    await expectLowbit(s.run({ x: new Tensor('float32', new Float32Array(1004), [251, 4]) }), 'LOWBIT_LIMIT', "'x'", '[251,4]', 'more than 1000');
    expect((await s.run({ x: new Tensor('float32', new Float32Array(1000), [250, 4]) })).y.dims).toEqual([250, 4]);
  });
});

describe('WASM memory', () => {
  it('memoryLimit must be a positive number of bytes below 4 GiB', async () => {
    await expectLowbit(InferenceSession.create(matmulModel(4), { memoryLimit: 4 * 1024 ** 3 }), 'LOWBIT_BAD_OPTION', 'memoryLimit', String(MAX_MEMORY_LIMIT));
    await expectLowbit(InferenceSession.create(matmulModel(4), { memoryLimit: -1 }), 'LOWBIT_BAD_OPTION', 'memoryLimit');
    expect(MAX_MEMORY_LIMIT).toBe(4 * 1024 ** 3 - 65536);
  });

  it('the ceiling is checked before memory grows: refused plans leave memory under it', async () => {
    const limit = 4 * 1024 ** 2;
    const b = new OnnxBuilder();
    const x = b.input('x', 'float32', ['n', 256]);
    b.output(b.op('Relu', [x], {}, { name: 'relu', outputs: ['y'] }), 'float32', ['n', 256]);
    const s = await InferenceSession.create(b.toBytes(), { memoryLimit: limit });
    // 4096 × 256 float32 in and out: 8 MiB of activations, over the 4 MiB ceiling.
    const e = await expectLowbit(s.run({ x: new Tensor('float32', new Float32Array(4096 * 256), [4096, 256]) }), 'LOWBIT_LIMIT', 'limit of 4.0 MiB');
    expect(e.message).toMatch(/needs \d+\.\d MiB/);
    expect(s._engine.machine.byteLength).toBeLessThanOrEqual(limit);
    expect((await s.run({ x: new Tensor('float32', new Float32Array(256).fill(-1), [1, 256]) })).y.data).toEqual(new Float32Array(256));
  });
});

describe('run time budget', () => {
  it('a run past runTimeLimitMs stops between steps with LOWBIT_LIMIT naming the limit and the next node', async () => {
    const model = chainModel(128, 64);
    const x = new Tensor('float32', new Float32Array(128 * 128).fill(1), [128, 128]);
    const s = await InferenceSession.create(model, { runTimeLimitMs: 1 });
    const e = await expectLowbit(s.run({ x }), 'LOWBIT_LIMIT', 'over the limit of 1 ms', 'runTimeLimitMs', "before node 'mm");
    expect(e.message).toMatch(/kernel step \d+ of \d+\)$/);
    // A budget the run fits in; the same session and one without a budget agree.
    const roomy = await InferenceSession.create(model, { runTimeLimitMs: 600_000 });
    const free = await InferenceSession.create(model);
    expect((await roomy.run({ x })).y.data).toEqual((await free.run({ x })).y.data);
  });

  it('runTimeLimitMs and maxTensorElements must be positive numbers', async () => {
    await expectLowbit(InferenceSession.create(matmulModel(4), { runTimeLimitMs: 0 }), 'LOWBIT_BAD_OPTION', 'runTimeLimitMs', 'milliseconds');
    await expectLowbit(InferenceSession.create(matmulModel(4), { maxTensorElements: Number.NaN }), 'LOWBIT_BAD_OPTION', 'maxTensorElements');
  });
});
