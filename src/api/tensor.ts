// Tensor: shaped like onnxruntime's (type string, typed-array data, dims).

import { fail } from '../errors.js';
import { byteLength, isDType, type DType } from '../ir/dtype.js';
import { numel } from '../ir/tensor.js';

export type TensorType = Exclude<DType, 'string'>;

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

type Ctor = { new (n: number): TensorData; new (buf: ArrayBufferLike, off: number, len: number): TensorData; BYTES_PER_ELEMENT: number };

const CTOR: Record<TensorType, Ctor> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
  // Bit patterns: float16/bfloat16 as uint16, 8-bit floats as bytes, sub-byte types packed.
  float16: Uint16Array, bfloat16: Uint16Array,
  float8e4m3fn: Uint8Array, float8e4m3fnuz: Uint8Array, float8e5m2: Uint8Array,
  float8e5m2fnuz: Uint8Array, float8e8m0: Uint8Array, float4e2m1: Uint8Array,
  int4: Uint8Array, uint4: Uint8Array, int2: Uint8Array, uint2: Uint8Array,
};

/** The first constructor argument of Tensor.output's trusted path (not exported from the package). */
const RUN_OUTPUT = Symbol('run output');

const PACKED = new Set<TensorType>(['int4', 'uint4', 'int2', 'uint2', 'float4e2m1']);

function typeOfArray(data: unknown): TensorType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  return undefined;
}

export class Tensor {
  readonly type: TensorType;
  readonly data: TensorData;
  readonly dims: readonly number[];
  readonly location = 'cpu' as const;

  /** `new Tensor(type, data, dims?)` or `new Tensor(typedArray, dims?)`, as in onnxruntime. */
  constructor(type: TensorType, data: TensorData | readonly number[] | readonly bigint[] | readonly boolean[], dims?: readonly number[]);
  constructor(data: TensorData, dims?: readonly number[]);
  constructor(a: unknown, b?: unknown, c?: unknown) {
    if (a === RUN_OUTPUT) {
      // A run's output: data of the type's array kind and the dims' length, from the plan.
      const o = b as { type: TensorType; data: TensorData; dims: readonly number[] };
      this.type = o.type;
      this.data = o.data;
      this.dims = o.dims;
      return;
    }
    let type: TensorType;
    let data: unknown;
    let dims: readonly number[] | undefined;
    if (typeof a === 'string') {
      if (!isDType(a) || a === 'string') fail('LOWBIT_BAD_INPUT', `unsupported tensor type '${a}'`);
      type = a as TensorType;
      data = b;
      dims = c as readonly number[] | undefined;
    } else {
      const t = typeOfArray(a);
      if (!t) fail('LOWBIT_BAD_INPUT', 'Tensor data must be a typed array (or give the type first)');
      type = t;
      data = a;
      dims = b as readonly number[] | undefined;
    }
    const C = CTOR[type];
    let arr: TensorData;
    if (dims !== undefined && !Array.isArray(dims)) fail('LOWBIT_BAD_INPUT', `Tensor dims must be an array of numbers (got ${describe(dims)})`);
    if (Array.isArray(data)) {
      arr = new C(data.length);
      const big = arr instanceof BigInt64Array || arr instanceof BigUint64Array;
      data.forEach((v: unknown, i) => {
        const ok = typeof v === 'bigint' || typeof v === 'boolean' || (typeof v === 'number' && (!big || Number.isInteger(v)));
        if (!ok) fail('LOWBIT_BAD_INPUT', `element ${i} of the ${type} data is ${typeof v === 'number' ? v : describe(v)}, not ${big ? 'an integer' : 'a number'}`);
        (arr as unknown as (number | bigint)[])[i] = big ? BigInt(v as number | bigint | boolean) : Number(v);
      });
    } else if (data instanceof C) {
      arr = data as TensorData;
    } else {
      fail('LOWBIT_BAD_INPUT', `a '${type}' tensor needs a ${C.name} (got ${describe(data)})`);
    }
    const n = dims ? numel(dims) : PACKED.has(type) ? arr.length * (type.endsWith('2') ? 4 : 2) : arr.length;
    this.dims = dims ? [...dims] : [n];
    for (const d of this.dims) {
      if (!Number.isSafeInteger(d) || d < 0) fail('LOWBIT_BAD_INPUT', `invalid tensor dimension ${typeof d === 'string' ? `'${d}' (a string)` : String(d)}`);
    }
    const need = PACKED.has(type) ? byteLength(type, n) : n;
    if (arr.length !== need) {
      fail('LOWBIT_BAD_INPUT', `a ${type} tensor of shape [${this.dims.join(',')}] needs ${need} elements, got ${arr.length}`);
    }
    this.type = type;
    this.data = arr;
  }

  get size(): number {
    return numel(this.dims);
  }

  /** The little-endian element bytes (a view when possible). */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  /**
   * A run's output over a fresh byte copy, viewed as the type's array: the plan gave the type and
   * dims, so only the byte count is checked, not each argument as `new Tensor` does.
   */
  static output(type: TensorType, bytes: Uint8Array, dims: readonly number[]): Tensor {
    const C = CTOR[type];
    if (!C || bytes.byteLength !== byteLength(type, numel(dims))) {
      fail('LOWBIT_BAD_INPUT', `a ${type} output of shape [${dims.join(',')}] cannot hold ${bytes.byteLength} bytes`);
    }
    const data = new C(bytes.buffer, bytes.byteOffset, bytes.byteLength / C.BYTES_PER_ELEMENT);
    return new Tensor(RUN_OUTPUT as unknown as TensorData, { type, data, dims: [...dims] } as unknown as readonly number[]);
  }

  static fromBytes(type: TensorType, bytes: Uint8Array, dims: readonly number[]): Tensor {
    const C = CTOR[type];
    // Uint8Array's slice copies (a Node Buffer's own slice() would only make another view).
    const copy = bytes.byteOffset % C.BYTES_PER_ELEMENT === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
    const arr = new C(copy.buffer, copy.byteOffset, copy.byteLength / C.BYTES_PER_ELEMENT);
    return new Tensor(type, arr, dims);
  }

  async getData(): Promise<TensorData> {
    return this.data;
  }

  dispose(): void {
    /* CPU tensors are garbage-collected */
  }
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object') return x.constructor?.name ?? 'object';
  return typeof x;
}
