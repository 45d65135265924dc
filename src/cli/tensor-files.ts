// Tensors in files, for `lowbit run`: inputs from .npy, .json or raw little-endian bytes, and
// outputs as .npy or JSON ({"type", "dims", "data"}, the same object an input .json may hold).

import { readFile } from 'node:fs/promises';
import { Tensor, type TensorType, type ValueMetadata } from '../index.js';
import { fail } from './cli-error.js';
import { elementBytes, readNpy, writeNpy } from './npy.js';

/** What --dtype / --shape say about one input's file. */
export interface FileSpec {
  type?: TensorType;
  dims?: number[];
}

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const fmt = (dims: readonly (number | string)[]) => `[${dims.join(',')}]`;

async function readBytes(file: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read ${what}: ${code === 'ENOENT' ? `no such file '${file}'` : code === 'EISDIR' ? `'${file}' is a directory` : (e as Error).message}`);
  }
}

/** Reads the file given for input `meta.name` as a tensor of the input's type (or --dtype's). */
export async function readInput(meta: ValueMetadata, file: string, spec: FileSpec): Promise<Tensor> {
  const what = `input '${meta.name}' (${file})`;
  const bytes = await readBytes(file, `input '${meta.name}'`);
  const type = spec.type ?? meta.type;
  let dims: readonly number[];
  let t: Tensor;
  if (/\.npy$/i.test(file)) {
    const a = readNpy(bytes, file);
    if (spec.type && spec.type !== a.type) fail(`${what} holds ${a.type}, not the --dtype ${spec.type}`);
    dims = a.dims;
    t = Tensor.fromBytes(a.type, a.bytes, a.dims);
  } else if (/\.json$/i.test(file)) {
    let v: unknown;
    try {
      v = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return fail(`${what} is not valid JSON: ${(e as Error).message}`);
    }
    const j = fromJson(v, what);
    if (j.type && j.type !== type) fail(`${what} says type ${j.type}, but the input takes ${type}`);
    dims = j.dims;
    t = new Tensor(type, typedData(type, j.values, what), dims);
  } else {
    const size = elementBytes(type);
    if (size === undefined) fail(`${what}: raw files of type ${type} are not supported (use .npy or .json)`);
    const given = spec.dims ?? (meta.shape.every((d) => typeof d === 'number') ? (meta.shape as number[]) : undefined);
    if (!given) fail(`${what}: the input's shape is ${fmt(meta.shape)}; give --shape ${meta.name}=DIMS to read a raw file`);
    if (bytes.length !== numel(given) * size) fail(`${what} has ${bytes.length} bytes; shape ${fmt(given)} of ${type} needs ${numel(given) * size}`);
    return Tensor.fromBytes(type, bytes, given);
  }
  if (!spec.dims) return t;
  if (numel(spec.dims) !== numel(dims)) fail(`${what} has ${numel(dims)} elements ${fmt(dims)}; --shape ${fmt(spec.dims)} needs ${numel(spec.dims)}`);
  return Tensor.fromBytes(t.type, t.bytes(), spec.dims);
}

/** A JSON input: a (nested) array or number, or {"type"?, "dims"?, "data"}. */
function fromJson(v: unknown, what: string): { type?: TensorType; dims: number[]; values: unknown[] } {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (!('data' in o)) fail(`${what}: a JSON object needs a "data" field (and may have "dims" and "type")`);
    const nested = fromJson(o.data, what);
    if (o.dims === undefined) return { type: o.type as TensorType | undefined, ...nested };
    if (!Array.isArray(o.dims) || !o.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${what}: "dims" must be an array of non-negative integers`);
    const dims = o.dims as number[];
    if (numel(dims) !== nested.values.length) fail(`${what}: "dims" ${fmt(dims)} needs ${numel(dims)} values, "data" has ${nested.values.length}`);
    return { type: o.type as TensorType | undefined, dims, values: nested.values };
  }
  if (!Array.isArray(v)) return { dims: [], values: [v] };
  const dims: number[] = [];
  for (let x: unknown = v; Array.isArray(x); x = x[0]) dims.push(x.length);
  const values: unknown[] = [];
  const walk = (x: unknown, d: number): void => {
    if (d === dims.length) {
      if (Array.isArray(x)) fail(`${what}: the nested arrays are not rectangular`);
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[d]) fail(`${what}: the nested arrays are not rectangular (expected ${dims[d]} values at depth ${d})`);
    for (const y of x) walk(y, d + 1);
  };
  walk(v, 0);
  return { dims, values };
}

const INT_RANGE: Partial<Record<TensorType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
};
const FLOATS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** JSON values as the typed array of `type`, refusing any value the type cannot hold. */
function typedData(type: TensorType, values: unknown[], what: string): Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array {
  const bad = (i: number): never => fail(`${what}: element ${i} (${JSON.stringify(values[i])}) is not a ${type} value`);
  if (type === 'float32' || type === 'float64') {
    const nums = values.map((x, i) => (typeof x === 'number' ? x : typeof x === 'string' && x in FLOATS ? FLOATS[x] : bad(i)));
    return type === 'float32' ? Float32Array.from(nums) : Float64Array.from(nums);
  }
  if (type === 'bool') return Uint8Array.from(values, (x, i) => (x === true || x === 1 ? 1 : x === false || x === 0 ? 0 : bad(i)));
  if (type === 'int64' || type === 'uint64') {
    const [lo, hi] = type === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    const big = values.map((x, i) => {
      const b = (typeof x === 'number' && Number.isSafeInteger(x)) || (typeof x === 'string' && /^-?\d+$/.test(x)) ? BigInt(x as number | string) : bad(i);
      return b >= lo && b <= hi ? b : bad(i);
    });
    return type === 'int64' ? BigInt64Array.from(big) : BigUint64Array.from(big);
  }
  const range = INT_RANGE[type];
  if (!range) fail(`${what}: JSON inputs of type ${type} are not supported (use .npy or a raw file)`);
  const ints = values.map((x, i) => (typeof x === 'number' && Number.isInteger(x) && x >= range[0] && x <= range[1] ? x : bad(i)));
  const C = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array }[type as 'int8'];
  return C.from(ints);
}

/** An output as JSON: {"type", "dims", "data"}; non-finite floats as "NaN", "Infinity", "-Infinity". */
export function outputJson(name: string, t: Tensor): string {
  let data: unknown[];
  if (t.type === 'float32' || t.type === 'float64') data = Array.from(t.data as Float32Array, (x) => (Number.isFinite(x) ? x : String(x)));
  else if (t.type === 'bool') data = Array.from(t.data as Uint8Array, (x) => x !== 0);
  else if (t.type === 'int64' || t.type === 'uint64') data = Array.from(t.data as BigInt64Array, (x) => (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : String(x)));
  else if (t.type in INT_RANGE) data = Array.from(t.data as Int32Array);
  else return fail(`output '${name}' has type ${t.type}, which JSON output does not support (use --format npy)`);
  return JSON.stringify({ type: t.type, dims: t.dims, data });
}

export function outputNpy(name: string, t: Tensor): Uint8Array {
  if (elementBytes(t.type) === undefined) fail(`output '${name}' has type ${t.type}, which .npy cannot hold`);
  return writeNpy({ type: t.type, dims: [...t.dims], bytes: t.bytes() });
}
