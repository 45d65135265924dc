// Element types of plan inputs/outputs by ONNX TensorProto code (as src/ir/dtype.ts): name,
// bits per element, and the .npy descr ('' = no .npy form; raw files only).

const NAMES: StaticArray<string> = [
  '', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16',
  'float64', 'uint32', 'uint64', '', '', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2',
  'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1', 'float8e8m0', 'uint2', 'int2',
];
const BITS: StaticArray<i32> = [0, 32, 8, 8, 16, 16, 32, 64, 0, 8, 16, 64, 32, 64, 0, 0, 16, 8, 8, 8, 8, 4, 4, 4, 8, 2, 2];
const NPY: StaticArray<string> = [
  '', '<f4', '|u1', '|i1', '<u2', '<i2', '<i4', '<i8', '', '|b1', '<f2', '<f8', '<u4', '<u8',
];

/** Bits per element, 0 for codes a plan cannot carry (unknown, string). */
export function dtypeBits(code: u32): i32 {
  return code < <u32>BITS.length ? BITS[code] : 0;
}

export function dtypeName(code: u32): string {
  return code < <u32>NAMES.length ? NAMES[code] : 'dtype ' + code.toString();
}

export function npyDescr(code: u32): string {
  return code < <u32>NPY.length ? NPY[code] : '';
}
