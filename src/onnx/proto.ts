// The ONNX protobuf messages lowbit reads (onnx/onnx.proto field numbers), decoded read-only.
// Only the fields src/onnx uses are kept; every other field is skipped by wire type. Field names
// are onnx.proto's in camelCase. Absent fields are undefined (repeated ones too); int64 values are
// numbers (exact up to 2^53; decode.ts/tensor.ts check the ranges they need) except the int64/uint64
// tensor payloads, which are exact bigints.

import { FIXED32, FIXED64, LEN, Reader, VARINT } from './wire.js';

export interface ModelProto { irVersion?: number; producerName?: string; graph?: GraphProto; opsetImport?: OperatorSetIdProto[] }
export interface OperatorSetIdProto { domain?: string; version?: number }
export interface GraphProto {
  node?: NodeProto[]; name?: string; initializer?: TensorProto[]; sparseInitializer?: object[];
  input?: ValueInfoProto[]; output?: ValueInfoProto[]; valueInfo?: ValueInfoProto[];
}
export interface NodeProto { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttributeProto[] }
export interface AttributeProto {
  name?: string; type?: number; f?: number; i?: number; s?: Uint8Array; t?: TensorProto;
  floats?: number[]; ints?: number[]; strings?: Uint8Array[];
}
export interface TensorProto {
  dims?: number[]; dataType?: number; name?: string; rawData?: Uint8Array; dataLocation?: number;
  externalData?: StringStringEntryProto[]; floatData?: number[]; int32Data?: number[];
  int64Data?: bigint[]; doubleData?: number[]; uint64Data?: bigint[];
}
export interface StringStringEntryProto { key?: string; value?: string }
export interface ValueInfoProto { name?: string; type?: TypeProto }
export interface TypeProto { tensorType?: TypeProtoTensor }
export interface TypeProtoTensor { elemType?: number; shape?: TensorShapeProto }
export interface TensorShapeProto { dim?: Dimension[] }
export interface Dimension { dimValue?: number; dimParam?: string }

/** How a field's value is read: a scalar kind, or a nested message's schema. */
export type Kind = 'int32' | 'int64' | 'int64Exact' | 'uint64Exact' | 'float' | 'double' | 'string' | 'bytes' | Schema;
/** field number → [name, kind, repeated]. */
export interface Schema { [field: number]: readonly [string, Kind, boolean?] }

const R = true;
const STRING_ENTRY: Schema = { 1: ['key', 'string'], 2: ['value', 'string'] };
const OPSET: Schema = { 1: ['domain', 'string'], 2: ['version', 'int64'] };
const TENSOR: Schema = {
  1: ['dims', 'int64', R], 2: ['dataType', 'int32'], 4: ['floatData', 'float', R], 5: ['int32Data', 'int32', R],
  7: ['int64Data', 'int64Exact', R], 8: ['name', 'string'], 9: ['rawData', 'bytes'], 10: ['doubleData', 'double', R],
  11: ['uint64Data', 'uint64Exact', R], 13: ['externalData', STRING_ENTRY, R], 14: ['dataLocation', 'int32'],
};
const DIMENSION: Schema = { 1: ['dimValue', 'int64'], 2: ['dimParam', 'string'] };
const TYPE_TENSOR: Schema = { 1: ['elemType', 'int32'], 2: ['shape', { 1: ['dim', DIMENSION, R] }] };
const VALUE_INFO: Schema = { 1: ['name', 'string'], 2: ['type', { 1: ['tensorType', TYPE_TENSOR] }] };
const ATTRIBUTE: Schema = {
  1: ['name', 'string'], 2: ['f', 'float'], 3: ['i', 'int64'], 4: ['s', 'bytes'], 5: ['t', TENSOR],
  7: ['floats', 'float', R], 8: ['ints', 'int64', R], 9: ['strings', 'bytes', R], 20: ['type', 'int32'],
};
const NODE: Schema = {
  1: ['input', 'string', R], 2: ['output', 'string', R], 3: ['name', 'string'], 4: ['opType', 'string'],
  5: ['attribute', ATTRIBUTE, R], 7: ['domain', 'string'],
};
const GRAPH: Schema = {
  1: ['node', NODE, R], 2: ['name', 'string'], 5: ['initializer', TENSOR, R], 11: ['input', VALUE_INFO, R],
  12: ['output', VALUE_INFO, R], 13: ['valueInfo', VALUE_INFO, R], 15: ['sparseInitializer', {}, R],
};
export const MODEL_SCHEMA: Schema = { 1: ['irVersion', 'int64'], 2: ['producerName', 'string'], 7: ['graph', GRAPH], 8: ['opsetImport', OPSET, R] };

const utf8 = new TextDecoder();

/** Decodes ModelProto bytes (throws LOWBIT_BAD_MODEL on malformed wire data). */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return readMessage(new Reader(bytes), MODEL_SCHEMA, bytes.length) as ModelProto;
}

/** Decodes a TensorProto on its own (the .pb files of ONNX's test data). */
export function decodeTensorProto(bytes: Uint8Array): TensorProto {
  return readMessage(new Reader(bytes), TENSOR, bytes.length) as TensorProto;
}

function readMessage(r: Reader, schema: Schema, end: number): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  while (r.pos < end) {
    const [field, wire] = r.tag();
    const f = schema[field];
    if (!f) { r.skip(wire); continue; }
    const [name, kind, repeated] = f;
    if (repeated && wire === LEN && isPacked(kind)) {
      // A packed run of scalars: values back to back inside one length-delimited field.
      const out = (m[name] ??= []) as unknown[];
      const stop = r.lengthEnd();
      if (kind === 'float' || kind === 'double') r.fixedRun(out as number[], stop, kind === 'float' ? 4 : 8);
      else if (kind === 'int32') while (r.pos < stop) out.push(r.int32()); // int4/int8 payloads: the hot loop
      else while (r.pos < stop) out.push(readScalar(r, kind));
      r.within(stop);
    } else if (wire !== wireType(kind)) {
      r.skip(wire); // the wrong wire type for this field: skipped as unknown, as protobuf parsers do
    } else {
      const v = typeof kind === 'object' ? readMessage(r, kind, r.lengthEnd()) : readScalar(r, kind);
      if (repeated) ((m[name] ??= []) as unknown[]).push(v);
      else m[name] = v;
    }
    r.within(end);
  }
  return m;
}

const isPacked = (k: Kind) => typeof k === 'string' && k !== 'string' && k !== 'bytes';

function wireType(k: Kind): number {
  if (typeof k === 'object' || k === 'string' || k === 'bytes') return LEN;
  return k === 'float' ? FIXED32 : k === 'double' ? FIXED64 : VARINT;
}

function readScalar(r: Reader, k: Exclude<Kind, Schema>): unknown {
  switch (k) {
    case 'int32': return r.int32();
    case 'int64': return r.int64();
    case 'int64Exact': return r.bigint(false);
    case 'uint64Exact': return r.bigint(true);
    case 'float': return r.float();
    case 'double': return r.double();
    case 'string': return utf8.decode(r.bytes());
    case 'bytes': return r.bytes();
  }
}
