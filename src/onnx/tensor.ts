// TensorProto → TensorData, from raw_data, every typed field, or external data.

import { fail } from '../errors.js';
import { byteLength, dtypeFromCode, type DType } from '../ir/dtype.js';
import { checkDims, makeTensor, numel, type TensorData } from '../ir/tensor.js';
import type { TensorProto } from './proto.js';

/** Reads `length` bytes (or to the end) at `offset` of an external-data file named by the model. */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

export function decodeTensor(t: TensorProto, what: string, readExternal?: ExternalDataReader, maxElements?: number): TensorData {
  const code = t.dataType ?? 0;
  const dtype = dtypeFromCode(code);
  if (!dtype) fail('LOWBIT_BAD_MODEL', `${what}: unknown tensor data_type ${code}`);
  if (dtype === 'string') fail('LOWBIT_UNSUPPORTED', `${what}: string tensors are not supported`);
  const dims = [...(t.dims ?? [])];
  checkDims(dims, what, maxElements);
  const n = numel(dims);
  const need = byteLength(dtype, n);

  if (t.dataLocation === 1) {
    if (!readExternal) fail('LOWBIT_PATH', `${what}: uses external data, which needs the model to be loaded from a file path`);
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) fail('LOWBIT_BAD_MODEL', `${what}: external data without a location`);
    const offset = kv.has('offset') ? Number(kv.get('offset')) : 0;
    const length = kv.has('length') ? Number(kv.get('length')) : undefined;
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      fail('LOWBIT_BAD_MODEL', `${what}: bad external data offset/length`);
    }
    if (length !== undefined && length !== need) {
      fail('LOWBIT_BAD_MODEL', `${what}: external data length ${length} but ${dtype}[${dims.join(',')}] needs ${need} bytes`);
    }
    const bytes = readExternal(location, offset, need);
    if (bytes.byteLength !== need) fail('LOWBIT_BAD_MODEL', `${what}: external data file '${location}' is too short`);
    return makeTensor(dtype, dims, bytes);
  }

  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== need) {
      fail('LOWBIT_BAD_MODEL', `${what}: raw_data has ${t.rawData.length} bytes but ${dtype}[${dims.join(',')}] needs ${need}`);
    }
    return makeTensor(dtype, dims, new Uint8Array(t.rawData));
  }
  return makeTensor(dtype, dims, typedFieldBytes(t, dtype, n, need, what));
}

function typedFieldBytes(t: TensorProto, dtype: DType, n: number, need: number, what: string): Uint8Array {
  const out = new Uint8Array(need);
  const dv = new DataView(out.buffer);
  const expect = (len: number, field: string) => {
    if (len !== n) fail('LOWBIT_BAD_MODEL', `${what}: ${field} has ${len} values but the shape needs ${n}`);
  };
  switch (dtype) {
    case 'float32': {
      const f = t.floatData ?? [];
      expect(f.length, 'float_data');
      for (let i = 0; i < n; i++) dv.setFloat32(i * 4, f[i], true);
      return out;
    }
    case 'float64': {
      const f = t.doubleData ?? [];
      expect(f.length, 'double_data');
      for (let i = 0; i < n; i++) dv.setFloat64(i * 8, f[i], true);
      return out;
    }
    case 'int64': {
      const f = t.int64Data ?? [];
      expect(f.length, 'int64_data');
      for (let i = 0; i < n; i++) dv.setBigInt64(i * 8, f[i], true);
      return out;
    }
    case 'uint64': case 'uint32': {
      const f = t.uint64Data ?? [];
      expect(f.length, 'uint64_data');
      for (let i = 0; i < n; i++) {
        if (dtype === 'uint64') dv.setBigUint64(i * 8, f[i], true);
        else dv.setUint32(i * 4, Number(BigInt.asUintN(32, f[i])), true);
      }
      return out;
    }
    case 'int4': case 'uint4': case 'int2': case 'uint2': case 'float4e2m1': {
      // int32_data holds the packed bytes, one per entry.
      const f = t.int32Data ?? [];
      if (f.length !== need) fail('LOWBIT_BAD_MODEL', `${what}: int32_data has ${f.length} entries but ${need} packed bytes are needed`);
      for (let i = 0; i < need; i++) out[i] = f[i] & 0xff;
      return out;
    }
    default: {
      // int32_data carries every other type widened to int32 (bit patterns for the float types).
      const f = t.int32Data ?? [];
      expect(f.length, 'int32_data');
      const bytes = need / Math.max(1, n);
      for (let i = 0; i < n; i++) {
        if (bytes === 1) dv.setUint8(i, f[i] & 0xff);
        else if (bytes === 2) dv.setUint16(i * 2, f[i] & 0xffff, true);
        else dv.setInt32(i * 4, f[i], true);
      }
      return out;
    }
  }
}
