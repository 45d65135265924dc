// Open Inference Protocol tensor datatypes ↔ lowbit tensor types, and tensor data as JSON.
//
// The protocol's datatypes are BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BF16 and BYTES.
// lowbit holds no string tensors, so BYTES is refused; lowbit types the protocol cannot carry
// (int4, float8, …) make a model unservable. In JSON, FP16/BF16 values are numbers rounded to
// the nearest representable value (ties to even), as FP32 values are; INT64/UINT64 values must
// be safe integers (|v| ≤ 2^53 − 1: JSON.parse cannot read more exactly) — larger ones need the
// binary extension; non-finite floats are the strings "NaN", "Infinity", "-Infinity".

import type { TensorType } from '../index.js';

export type Datatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BF16';

const TO_TYPE: Record<Datatype, TensorType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BF16: 'bfloat16',
};
const FROM_TYPE = new Map<TensorType, Datatype>(Object.entries(TO_TYPE).map(([d, t]) => [t, d as Datatype]));

/** Bytes per element (binary data is little-endian, row-major, unpadded; BOOL is one byte). */
export const DATATYPE_BYTES: Record<Datatype, number> = {
  BOOL: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, INT8: 1, INT16: 2, INT32: 4, INT64: 8, FP16: 2, FP32: 4, FP64: 8, BF16: 2,
};

export const isDatatype = (s: unknown): s is Datatype => typeof s === 'string' && Object.prototype.hasOwnProperty.call(TO_TYPE, s);
export const tensorType = (d: Datatype): TensorType => TO_TYPE[d];
/** The protocol datatype of a lowbit type, or undefined when the protocol has none. */
export const datatypeOf = (t: TensorType): Datatype | undefined => FROM_TYPE.get(t);

/**
 * A number rounded to a binary float with `e` exponent and `m` mantissa bits (ties to even,
 * overflow to ±Inf, subnormals kept), as its bit pattern: FP16 is (5, 10), BF16 is (8, 7).
 * Straight from the double, so there is no double rounding through FP32.
 */
export function toMiniFloat(x: number, e: number, m: number): number {
  const bias = (1 << (e - 1)) - 1;
  const expMax = (1 << e) - 1;
  const sign = x < 0 || Object.is(x, -0) ? 1 << (e + m) : 0;
  if (Number.isNaN(x)) return (expMax << m) | (1 << (m - 1));
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << m);
  const minNormalExp = 1 - bias;
  if (a < 2 ** minNormalExp) return sign | roundEven(a * 2 ** (m - minNormalExp)); // subnormal: units of 2^(1-bias-m); 2^m rounds up to the smallest normal
  let E = Math.floor(Math.log2(a));
  if (2 ** E > a) E--;
  else if (2 ** (E + 1) <= a) E++;
  let frac = roundEven(a / 2 ** (E - m)); // in [2^m, 2^(m+1)]
  if (frac === 2 ** (m + 1)) {
    frac = 2 ** m;
    E++;
  }
  if (E + bias >= expMax) return sign | (expMax << m);
  return sign | ((E + bias) << m) | (frac - 2 ** m);
}

/** The value of a bit pattern of a binary float with `e` exponent and `m` mantissa bits. */
export function fromMiniFloat(bits: number, e: number, m: number): number {
  const bias = (1 << (e - 1)) - 1;
  const expMax = (1 << e) - 1;
  const s = (bits >> (e + m)) & 1 ? -1 : 1;
  const ex = (bits >> m) & expMax;
  const frac = bits & ((1 << m) - 1);
  if (ex === expMax) return frac ? NaN : s * Infinity;
  if (ex === 0) return s * frac * 2 ** (1 - bias - m);
  return s * (1 + frac / 2 ** m) * 2 ** (ex - bias);
}

function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  INT8: [-128, 127], UINT8: [0, 255], INT16: [-32768, 32767], UINT16: [0, 65535], INT32: [-(2 ** 31), 2 ** 31 - 1], UINT32: [0, 2 ** 32 - 1],
  INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * Flat JSON values as the little-endian element bytes of `d`; returns the index of the first
 * value the datatype cannot hold instead when there is one.
 */
export function jsonToBytes(d: Datatype, values: readonly unknown[]): Uint8Array | number {
  const n = values.length;
  const out = new Uint8Array(n * DATATYPE_BYTES[d]);
  const view = new DataView(out.buffer);
  if (d === 'BOOL') {
    for (let i = 0; i < n; i++) {
      if (typeof values[i] !== 'boolean') return i;
      out[i] = values[i] ? 1 : 0;
    }
    return out;
  }
  if (d === 'FP16' || d === 'BF16' || d === 'FP32' || d === 'FP64') {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const x = typeof v === 'number' ? v : typeof v === 'string' && Object.prototype.hasOwnProperty.call(NON_FINITE, v) ? NON_FINITE[v] : undefined;
      if (x === undefined) return i;
      if (d === 'FP16') view.setUint16(2 * i, toMiniFloat(x, 5, 10), true);
      else if (d === 'BF16') view.setUint16(2 * i, toMiniFloat(x, 8, 7), true);
      else if (d === 'FP32') view.setFloat32(4 * i, x, true);
      else view.setFloat64(8 * i, x, true);
    }
    return out;
  }
  const [lo, hi] = INT_RANGE[d]!;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return i;
    switch (d) {
      case 'INT8': view.setInt8(i, v); break;
      case 'UINT8': out[i] = v; break;
      case 'INT16': view.setInt16(2 * i, v, true); break;
      case 'UINT16': view.setUint16(2 * i, v, true); break;
      case 'INT32': view.setInt32(4 * i, v, true); break;
      case 'UINT32': view.setUint32(4 * i, v, true); break;
      case 'INT64': view.setBigInt64(8 * i, BigInt(v), true); break;
      default: view.setBigUint64(8 * i, BigInt(v), true);
    }
  }
  return out;
}

const jsonFloat = (x: number): string => (Number.isFinite(x) ? String(x) : `"${x}"`);

/**
 * Little-endian element bytes of `d` as a flat JSON array: floats as the shortest decimal that
 * reads back to the same value, 64-bit integers exactly (beyond 2^53 a JavaScript JSON.parse
 * rounds them; the binary extension carries them exactly).
 */
export function bytesToJson(d: Datatype, bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DATATYPE_BYTES[d];
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    switch (d) {
      case 'BOOL': parts[i] = bytes[i] ? 'true' : 'false'; break;
      case 'UINT8': parts[i] = String(bytes[i]); break;
      case 'INT8': parts[i] = String(view.getInt8(i)); break;
      case 'UINT16': parts[i] = String(view.getUint16(2 * i, true)); break;
      case 'INT16': parts[i] = String(view.getInt16(2 * i, true)); break;
      case 'UINT32': parts[i] = String(view.getUint32(4 * i, true)); break;
      case 'INT32': parts[i] = String(view.getInt32(4 * i, true)); break;
      case 'UINT64': parts[i] = view.getBigUint64(8 * i, true).toString(); break;
      case 'INT64': parts[i] = view.getBigInt64(8 * i, true).toString(); break;
      case 'FP16': parts[i] = jsonFloat(fromMiniFloat(view.getUint16(2 * i, true), 5, 10)); break;
      case 'BF16': parts[i] = jsonFloat(fromMiniFloat(view.getUint16(2 * i, true), 8, 7)); break;
      case 'FP32': parts[i] = jsonFloat(view.getFloat32(4 * i, true)); break;
      default: parts[i] = jsonFloat(view.getFloat64(8 * i, true));
    }
  }
  return `[${parts.join(',')}]`;
}
