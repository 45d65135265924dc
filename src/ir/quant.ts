// Quantization metadata, first-class on IR values.

import { dtypeBits, dtypeKind, type DType } from './dtype.js';
import { makeTensor, numel, type TensorData } from './tensor.js';

export interface QuantParams {
  /** One scale per tensor, per channel along `axis`, or per block of `blockSize` along `axis`. */
  scale: Float32Array;
  /** Same length as scale; integer zero points. */
  zeroPoint: Int32Array;
  axis: number;
  blockSize: number;
  bits: number;
  signed: boolean;
  narrow: boolean;
}

/** The integer values of an int2/uint2/int4/uint4/int8/uint8 tensor (sub-byte packed LSB-first). */
export function lowBitValues(t: TensorData): Int32Array {
  const bits = dtypeBits(t.dtype);
  const signed = dtypeKind(t.dtype) === 'int';
  const n = numel(t.dims);
  const out = new Int32Array(n);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < n; i++) {
    const bit = i * bits;
    const v = (t.bytes[bit >> 3] >> (bit & 7)) & mask;
    out[i] = signed && v >= 1 << (bits - 1) ? v - (1 << bits) : v;
  }
  return out;
}

/** A tensor of type int2/uint2/int4/uint4/int8/uint8 holding `values` (packed as lowBitValues reads them). */
export function lowBitTensor(dtype: DType, dims: readonly number[], values: ArrayLike<number>): TensorData {
  const t = makeTensor(dtype, dims);
  const bits = dtypeBits(dtype);
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    const bit = i * bits;
    t.bytes[bit >> 3] |= (values[i] & mask) << (bit & 7);
  }
  return t;
}
