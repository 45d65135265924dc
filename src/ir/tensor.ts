// Tensor values in the IR: dtype + dims + little-endian bytes (sub-byte types packed).

import { fail } from '../errors.js';
import { byteLength, type DType } from './dtype.js';

export interface TensorData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Little-endian element bytes; INT4/UINT4/INT2/UINT2/FLOAT4 packed low bits first. */
  readonly bytes: Uint8Array;
}

/** Largest element count lowbit accepts for one tensor (wasm32 addresses < 4 GiB). */
export const MAX_ELEMENTS = 2 ** 32;

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Validates dims (non-negative safe integers, product within `max`) before anything is allocated. */
export function checkDims(dims: readonly number[], what: string, max = MAX_ELEMENTS): void {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail('LOWBIT_BAD_MODEL', `${what}: invalid dimension ${d} in [${dims.join(',')}]`);
    n *= d;
    if (n > max) fail('LOWBIT_LIMIT', `${what}: shape [${dims.join(',')}] has more than ${max} elements (option maxTensorElements)`);
  }
}

export function makeTensor(dtype: DType, dims: readonly number[], bytes?: Uint8Array): TensorData {
  const need = byteLength(dtype, numel(dims));
  if (bytes && bytes.byteLength !== need) {
    fail('LOWBIT_BAD_MODEL', `tensor of ${dtype}[${dims.join(',')}] needs ${need} bytes, got ${bytes.byteLength}`);
  }
  return { dtype, dims: [...dims], bytes: bytes ?? new Uint8Array(need) };
}

type NumericArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** A typed-array view of a byte-addressable tensor (copies when the bytes are unaligned). */
export function typedView(t: TensorData): NumericArray {
  let b = t.bytes;
  const n = numel(t.dims);
  const make = (C: { BYTES_PER_ELEMENT: number; new (buf: ArrayBufferLike, off: number, len: number): NumericArray }) => {
    if (b.byteOffset % C.BYTES_PER_ELEMENT !== 0) b = b.slice();
    return new C(b.buffer, b.byteOffset, n);
  };
  switch (t.dtype) {
    case 'float32': return make(Float32Array);
    case 'float64': return make(Float64Array);
    case 'int8': return make(Int8Array);
    case 'uint8': case 'bool': return make(Uint8Array);
    case 'int16': return make(Int16Array);
    case 'uint16': case 'float16': case 'bfloat16': return make(Uint16Array);
    case 'int32': return make(Int32Array);
    case 'uint32': return make(Uint32Array);
    case 'int64': return make(BigInt64Array);
    case 'uint64': return make(BigUint64Array);
    default: return make(Uint8Array);
  }
}

/** Element values as JS numbers (int64 beyond 2^53 saturate to ±MAX_SAFE_INTEGER-ish doubles). */
export function toNumbers(t: TensorData): number[] {
  const v = typedView(t);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
  return out;
}

export function fromNumbers(dtype: DType, dims: readonly number[], values: ArrayLike<number>): TensorData {
  const t = makeTensor(dtype, dims);
  const v = typedView(t);
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    // Values beyond int64 (e.g. INT64_MAX that went through a double) saturate instead of wrapping.
    const hi = v instanceof BigInt64Array ? 2n ** 63n - 1n : 2n ** 64n - 1n;
    const lo = v instanceof BigInt64Array ? -(2n ** 63n) : 0n;
    for (let i = 0; i < values.length; i++) {
      const b = BigInt(Math.trunc(values[i]));
      v[i] = b > hi ? hi : b < lo ? lo : b;
    }
  } else {
    for (let i = 0; i < values.length; i++) v[i] = values[i];
  }
  return t;
}

export function scalarOf(t: TensorData): number {
  return toNumbers(t)[0];
}
