// Runs ONNX node-test folders (model.onnx + test_data_set_*/input_N.pb, output_N.pb) through
// lowbit and compares outputs: integers exactly, floats with rtol/atol.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, LowbitError, Tensor, type TensorType } from '../../src/index.js';
import { decodeModelProto, decodeTensorProto } from '../../src/onnx/proto.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import type { TensorData } from '../../src/ir/tensor.js';
import { decodeFloatBits } from './floats.js';

export interface CaseResult {
  test: string;
  ops: string[];
  status: 'passed' | 'failed' | 'unsupported';
  why?: string;
}

export interface Summary {
  total: number;
  passed: number;
  failed: number;
  unsupported: number;
  byOp: Record<string, { total: number; passed: number; failed: number; unsupported: number }>;
  failures: { test: string; why: string }[];
}

export interface RunOptions {
  backend?: 'scalar' | 'simd' | 'relaxed' | 'auto';
  rtol?: number;
  atol?: number;
}

function readTensor(path: string): { name: string; t: TensorData } {
  const proto = decodeTensorProto(readFileSync(path));
  return { name: proto.name ?? '', t: decodeTensor(proto, path) };
}

function opsOf(dir: string): string[] {
  const m = decodeModelProto(readFileSync(join(dir, 'model.onnx')));
  return [...new Set((m.graph?.node ?? []).map((n) => n.opType ?? '?'))];
}

/** Element values as doubles for comparison (float8/float16 decoded; ints exact up to 2^53). */
function valuesOf(t: { dtype: string; bytes: Uint8Array; n: number }): { ints: bigint[] } | { floats: number[] } {
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const floats = decodeFloatBits(t.dtype, t.bytes, t.n);
  if (floats) return { floats };
  const ints: bigint[] = [];
  for (let i = 0; i < t.n; i++) {
    switch (t.dtype) {
      case 'int8': ints.push(BigInt(dv.getInt8(i))); break;
      case 'uint8': case 'bool': ints.push(BigInt(dv.getUint8(i))); break;
      case 'int16': ints.push(BigInt(dv.getInt16(i * 2, true))); break;
      case 'uint16': ints.push(BigInt(dv.getUint16(i * 2, true))); break;
      case 'int32': ints.push(BigInt(dv.getInt32(i * 4, true))); break;
      case 'uint32': ints.push(BigInt(dv.getUint32(i * 4, true))); break;
      case 'int64': ints.push(dv.getBigInt64(i * 8, true)); break;
      case 'uint64': ints.push(dv.getBigUint64(i * 8, true)); break;
      case 'int4': case 'uint4': {
        let v = (t.bytes[i >> 1] >> ((i & 1) * 4)) & 15;
        if (t.dtype === 'int4' && v >= 8) v -= 16;
        ints.push(BigInt(v));
        break;
      }
      case 'int2': case 'uint2': {
        let v = (t.bytes[i >> 2] >> ((i & 3) * 2)) & 3;
        if (t.dtype === 'int2' && v >= 2) v -= 4;
        ints.push(BigInt(v));
        break;
      }
      default: throw new Error(`cannot compare dtype ${t.dtype}`);
    }
  }
  return { ints };
}

export function compareTensor(
  got: { dtype: string; dims: readonly number[]; bytes: Uint8Array },
  want: TensorData, rtol: number, atol: number,
): string | undefined {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) {
    return `shape [${got.dims.join(',')}], expected [${want.dims.join(',')}]`;
  }
  const n = want.dims.reduce((a, b) => a * b, 1);
  const g = valuesOf({ dtype: got.dtype, bytes: got.bytes, n });
  const w = valuesOf({ dtype: want.dtype, bytes: want.bytes, n });
  if ('ints' in g && 'ints' in w) {
    for (let i = 0; i < n; i++) if (g.ints[i] !== w.ints[i]) return `element ${i}: ${g.ints[i]}, expected ${w.ints[i]}`;
    return undefined;
  }
  if ('floats' in g && 'floats' in w) {
    let bad = 0;
    let first = '';
    for (let i = 0; i < n; i++) {
      const a = g.floats[i];
      const b = w.floats[i];
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      if (a === b) continue;
      if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
        if (!bad) first = `element ${i}: ${a}, expected ${b}`;
        bad++;
      }
    }
    return bad ? `${bad}/${n} elements differ; first ${first}` : undefined;
  }
  return 'internal: mixed value kinds';
}

export async function runCase(dir: string, opts: RunOptions = {}): Promise<CaseResult> {
  const test = dir.split('/').pop()!;
  let ops: string[] = [];
  try {
    ops = opsOf(dir);
  } catch {
    /* reported below when lowbit loads it */
  }
  const rtol = opts.rtol ?? 1e-3;
  const atol = opts.atol ?? 1e-7;
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(join(dir, 'model.onnx'), { backend: opts.backend });
  } catch (e) {
    return classify(test, ops, e, 'load');
  }
  try {
    const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_') && statSync(join(dir, d)).isDirectory()).sort();
    for (const set of sets) {
      const sd = join(dir, set);
      const feeds: Record<string, Tensor> = {};
      for (let i = 0; existsSync(join(sd, `input_${i}.pb`)); i++) {
        const { name, t } = readTensor(join(sd, `input_${i}.pb`));
        const key = session.inputNames.includes(name) ? name : session.inputNames[i];
        feeds[key] = Tensor.fromBytes(t.dtype as TensorType, t.bytes, t.dims);
      }
      const out = await session.run(feeds);
      for (let i = 0; existsSync(join(sd, `output_${i}.pb`)); i++) {
        const { name, t } = readTensor(join(sd, `output_${i}.pb`));
        const key = name && out[name] ? name : session.outputNames[i];
        const got = out[key];
        if (!got) return { test, ops, status: 'failed', why: `${set}: output '${key}' missing` };
        const why = compareTensor({ dtype: got.type, dims: got.dims, bytes: got.bytes() }, t, rtol, atol);
        if (why) return { test, ops, status: 'failed', why: `${set} output '${key}': ${why}` };
      }
    }
    return { test, ops, status: 'passed' };
  } catch (e) {
    return classify(test, ops, e, 'run');
  } finally {
    await session.release();
  }
}

function classify(test: string, ops: string[], e: unknown, phase: string): CaseResult {
  if (e instanceof LowbitError && (e.code === 'LOWBIT_UNSUPPORTED_OP' || e.code === 'LOWBIT_UNSUPPORTED')) {
    return { test, ops, status: 'unsupported', why: e.message };
  }
  const msg = e instanceof LowbitError ? `${e.code}: ${e.message}` : `${(e as Error)?.name}: ${(e as Error)?.message}`;
  return { test, ops, status: 'failed', why: `${phase}: ${msg}` };
}

export function listCases(root: string): string[] {
  return readdirSync(root)
    .filter((d) => d.startsWith('test_') && existsSync(join(root, d, 'model.onnx')))
    .sort()
    .map((d) => join(root, d));
}

export function summarize(results: readonly CaseResult[]): Summary {
  const s: Summary = { total: 0, passed: 0, failed: 0, unsupported: 0, byOp: {}, failures: [] };
  for (const r of results) {
    s.total++;
    s[r.status]++;
    for (const op of r.ops) {
      const b = (s.byOp[op] ??= { total: 0, passed: 0, failed: 0, unsupported: 0 });
      b.total++;
      b[r.status]++;
    }
    if (r.status !== 'passed') s.failures.push({ test: r.test, why: r.why ?? r.status });
  }
  return s;
}
