// Model repositories for the server tests, in Triton's layout, built in a temp directory from
// models/ and small generated models.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxBuilder } from '../../scripts/lib/onnx-builder.js';

export const modelFile = (f: string) => new URL(`../../models/${f}`, import.meta.url).pathname;

/**
 * One model with inputs of several protocol datatypes and five outputs:
 * twice_h = Cast(2·Cast(h)) (FP16), h_as_f32 = Cast(h) (FP32), i_plus_1 = i + 1 (INT64),
 * not_b = Not(b) (BOOL), u_as_i32 = Cast(u) (INT32); every input is [N].
 */
export function typesModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 17 });
  const h = b.input('h', 'float16', ['N']);
  const i = b.input('i', 'int64', ['N']);
  const bb = b.input('b', 'bool', ['N']);
  const u = b.input('u', 'uint8', ['N']);
  const h32 = b.op('Cast', [h], { to: 1 }, { outputs: ['h_as_f32'] });
  b.op('Cast', [b.op('Add', [h32, h32])], { to: 10 }, { outputs: ['twice_h'] });
  b.op('Add', [i, b.const('int64', [], [1])], {}, { outputs: ['i_plus_1'] });
  b.op('Not', [bb], {}, { outputs: ['not_b'] });
  b.op('Cast', [u], { to: 6 }, { outputs: ['u_as_i32'] });
  b.output('twice_h', 'float16', ['N']);
  b.output('h_as_f32', 'float32', ['N']);
  b.output('i_plus_1', 'int64', ['N']);
  b.output('not_b', 'bool', ['N']);
  b.output('u_as_i32', 'int32', ['N']);
  return b.toBytes();
}

/**
 * A model as slow as asked: y = max(E·E) with E = x broadcast to n = [k, k], so one run is a
 * k×k×k MatMul (k = 2048: 8.6 G multiply-adds, ≥ 0.3 s at the fastest measured fp32 GEMM
 * speed); y = k·x².
 */
export function slowModel(): Uint8Array {
  const b = new OnnxBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [1, 1]);
  const n = b.input('n', 'int64', [2]);
  const e = b.op('Expand', [x, n]);
  const m = b.op('MatMul', [e, e]);
  b.op('ReduceMax', [m], { keepdims: 0 }, { outputs: ['y'] });
  b.output('y', 'float32', []);
  return b.toBytes();
}

/** Writes REPO/<model>/<version>/model.onnx for each entry ("name/version" → bytes); returns REPO. */
export function makeRepo(models: Record<string, Uint8Array>, prefix = 'lowbit-repo-'): string {
  const repo = mkdtempSync(join(tmpdir(), prefix));
  for (const [key, bytes] of Object.entries(models)) {
    mkdirSync(join(repo, key), { recursive: true });
    writeFileSync(join(repo, key, 'model.onnx'), bytes);
  }
  return repo;
}

export const fmnistFp32 = () => new Uint8Array(readFileSync(modelFile('fmnist-mlp-fp32.onnx')));
export const fmnistInt8 = () => new Uint8Array(readFileSync(modelFile('fmnist-mlp-int8-qdq.onnx')));

/** `count` Fashion-MNIST test images as float32 in [0, 1], [count, 1, 28, 28] row-major. */
export function images(count: number, first = 0): Float32Array {
  const u8 = readFileSync(modelFile('data/fmnist-test-256-images.u8')).subarray(first * 784, (first + count) * 784);
  return Float32Array.from(u8, (v) => v / 255);
}
