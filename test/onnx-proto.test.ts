// src/onnx/proto.ts (lowbit's read-only ONNX decoder) against onnx-proto (protobufjs code for the
// whole schema, a dev dependency): every field lowbit decodes is identical on every model in
// models/, every ONNX node test model and its test-data tensors. Then the wire format itself:
// 64-bit varints, packed and unpacked repeated fields, unknown fields, groups, truncation.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LowbitError } from '../src/errors.js';
import { decodeModelProto, decodeTensorProto, MODEL_SCHEMA, type Schema } from '../src/onnx/proto.js';
import { big, onnx } from '../scripts/lib/onnx-proto.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NODE_TESTS = process.env.LOWBIT_NODE_TESTS ?? join(ROOT, '../shared/onnx-node-tests');
const TENSOR_SCHEMA = (MODEL_SCHEMA[7][1] as Schema)[5][1] as Schema;

/** A decoded message as plain comparable data: only the schema's fields, bytes as hashes. */
function project(m: Record<string, unknown> | null | undefined, schema: Schema, ours: boolean): unknown {
  const out: Record<string, unknown> = {};
  for (const [name, kind, repeated] of Object.values(schema)) {
    // onnx-proto keeps defaults on the prototype: only own properties were on the wire.
    if (!m || !Object.prototype.hasOwnProperty.call(m, name)) continue;
    const v = m[name];
    if (repeated && (v as unknown[]).length === 0) continue; // an empty packed run: absent
    const one = (x: unknown): unknown => {
      if (typeof kind === 'object') return project(x as Record<string, unknown>, kind, ours);
      // onnx-proto gives 64-bit fields as Long objects: as numbers (int64) or exact bigints.
      const long = !ours && typeof x === 'object' && x !== null && 'low' in x;
      if (long) return kind === 'int64' ? Number(big(x)) : big(x, kind === 'uint64Exact');
      if (kind === 'bytes') return `${(x as Uint8Array).length}:${createHash('sha1').update(x as Uint8Array).digest('hex')}`;
      return x;
    };
    out[name] = repeated ? (v as unknown[]).map(one) : one(v);
  }
  return out;
}

function modelFiles(): string[] {
  const files = readdirSync(join(ROOT, 'models')).filter((f) => f.endsWith('.onnx')).map((f) => join(ROOT, 'models', f));
  if (existsSync(NODE_TESTS)) {
    for (const d of readdirSync(NODE_TESTS)) {
      const f = join(NODE_TESTS, d, 'model.onnx');
      if (existsSync(f)) files.push(f);
    }
  }
  return files;
}

describe('ONNX decoder against onnx-proto', () => {
  it('decodes every model and test tensor identically', () => {
    expect(existsSync(NODE_TESTS), `node tests not found at ${NODE_TESTS} (set LOWBIT_NODE_TESTS)`).toBe(true);
    const files = modelFiles();
    expect(files.length).toBeGreaterThan(570);
    let tensors = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      const ref = project(onnx.ModelProto.decode(bytes) as never, MODEL_SCHEMA, false);
      expect(project(decodeModelProto(bytes) as never, MODEL_SCHEMA, true), f).toEqual(ref);
      const data = join(f, '../test_data_set_0');
      for (const pb of existsSync(data) ? readdirSync(data).filter((p) => p.endsWith('.pb')) : []) {
        const tb = readFileSync(join(data, pb));
        let refT: unknown;
        try { refT = project(onnx.TensorProto.decode(tb) as never, TENSOR_SCHEMA, false); } catch { continue; } // sequences etc.
        expect(project(decodeTensorProto(tb) as never, TENSOR_SCHEMA, true), `${f} ${pb}`).toEqual(refT);
        tensors++;
      }
    }
    expect(tensors).toBeGreaterThan(1000);
  }, 120_000);
});

/** Protobuf encoding helpers for hand-made messages. */
const varint = (v: bigint): number[] => {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do { out.push(Number(x & 0x7fn) | (x > 0x7fn ? 0x80 : 0)); x >>= 7n; } while (x > 0n);
  return out;
};
const tag = (field: number, wire: number) => varint(BigInt(field * 8 + wire));
const len = (field: number, body: number[]) => [...tag(field, 2), ...varint(BigInt(body.length)), ...body];

function badModel(bytes: number[]): string {
  try {
    decodeModelProto(new Uint8Array(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(LowbitError);
    expect((e as LowbitError).code).toBe('LOWBIT_BAD_MODEL');
    return (e as Error).message;
  }
  throw new Error('decoded without an error');
}

describe('ONNX decoder wire format', () => {
  it('reads int64 varints of every length, negative values, packed and unpacked repeats', () => {
    const dims = [0n, 1n, 127n, 128n, 300n, 2n ** 31n, 2n ** 32n + 5n, 2n ** 53n - 1n, -1n, -(2n ** 40n)];
    const packed = dims.flatMap(varint);
    const t = decodeTensorProto(new Uint8Array([
      ...len(1, packed), ...tag(1, 0), ...varint(7n), // dims: one packed run then one unpacked value
      ...tag(2, 0), ...varint(-3n), // data_type as a negative int32 (sign-extended to 10 bytes)
      ...len(7, [...varint(-(2n ** 63n)), ...varint(2n ** 63n - 1n)]), // int64_data, exact
      ...tag(11, 0), ...varint(2n ** 64n - 1n), // uint64_data, unpacked
      ...len(4, [0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]), ...tag(4, 5), 0, 0, 0, 0x40, // float_data 1, -2.5, 2
    ]));
    expect(t.dims).toEqual([...dims.map(Number), 7]);
    expect(t.dataType).toBe(-3);
    expect(t.int64Data).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(t.uint64Data).toEqual([2n ** 64n - 1n]);
    expect(t.floatData).toEqual([1, -2.5, 2]);
  });

  it('skips unknown fields of every wire type and fields with a wrong wire type', () => {
    const m = decodeModelProto(new Uint8Array([
      ...tag(99, 0), ...varint(2n ** 63n), ...tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...len(97, [1, 2, 3]), ...tag(96, 5), 1, 2, 3, 4,
      ...tag(2, 0), 5, // producer_name with a varint wire type: skipped
      ...tag(1, 0), ...varint(8n), ...len(2, [0x68, 0x69]),
    ]));
    expect(m).toEqual({ irVersion: 8, producerName: 'hi' });
  });

  it('refuses groups, truncation at every byte, and fields past their message', () => {
    expect(badModel([...tag(5, 3), ...tag(5, 4)])).toMatch(/groups/);
    expect(badModel([...tag(5, 7)])).toMatch(/wire type 7/);
    expect(badModel([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toMatch(/varint/);
    const node = len(1, [...len(4, [0x41, 0x64, 0x64]), ...len(1, [0x78])]);
    const model = [...tag(1, 0), ...varint(8n), ...len(7, [...node, ...len(5, [...len(1, varint(300n)), ...tag(4, 5), 0, 0, 0x80, 0x3f])])];
    const g = decodeModelProto(new Uint8Array(model)).graph;
    expect(g?.node?.[0]).toEqual({ opType: 'Add', input: ['x'] });
    expect(g?.initializer?.[0]).toEqual({ dims: [300], floatData: [1] });
    for (let n = 1; n < model.length; n++) {
      // Every cut is either an error or a clean message boundary (ending just after a field).
      try { decodeModelProto(new Uint8Array(model.slice(0, n))); } catch (e) { expect((e as LowbitError).code).toBe('LOWBIT_BAD_MODEL'); }
    }
    expect(badModel([...len(7, [...tag(2, 2), 5, 0x61]), 0x62, 0x63, 0x64, 0x65, 0x66])).toMatch(/runs past the end of its message/);
    expect(badModel([...len(7, [...len(5, [...len(4, [0, 0, 0x80]), ...tag(2, 0), 1])])])).toMatch(/packed float field of 3 bytes/);
    expect(badModel([...len(7, [...len(5, [...len(1, [0x80]), ...tag(2, 0), 1])])])).toMatch(/runs past the end/); // a packed varint cut
    expect(badModel([...tag(7, 2), ...varint(2n ** 40n)])).toMatch(/past the end/);
  });
});
