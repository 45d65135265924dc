// Shared conventions of every kernel.
//
// Kernels never allocate: the host owns linear memory above __heap_base and passes raw byte
// offsets. Small integer parameter blocks ("descriptors") are i32 arrays the host writes into
// memory at plan time; `desc(d, k)` reads entry k.
//
// Element types are identified by ONNX TensorProto data_type codes.

export const DT_F32: i32 = 1;
export const DT_U8: i32 = 2;
export const DT_I8: i32 = 3;
export const DT_U16: i32 = 4;
export const DT_I16: i32 = 5;
export const DT_I32: i32 = 6;
export const DT_I64: i32 = 7;
export const DT_BOOL: i32 = 9;
export const DT_F16: i32 = 10;
export const DT_F64: i32 = 11;
export const DT_U32: i32 = 12;
export const DT_U64: i32 = 13;
export const DT_BF16: i32 = 16;
export const DT_F8E4M3FN: i32 = 17;
export const DT_F8E4M3FNUZ: i32 = 18;
export const DT_F8E5M2: i32 = 19;
export const DT_F8E5M2FNUZ: i32 = 20;
export const DT_U4: i32 = 21;
export const DT_I4: i32 = 22;
export const DT_F4E2M1: i32 = 23;
export const DT_F8E8M0: i32 = 24;
export const DT_U2: i32 = 25;
export const DT_I2: i32 = 26;

/** Reads i32 entry `k` of a descriptor block. */
// @ts-ignore: decorator
@inline export function desc(d: usize, k: i32): i32 {
  return load<i32>(d + (<usize>k << 2));
}

/** Byte size of one element of a (byte-addressable) dtype. */
export function elemSize(dt: i32): i32 {
  switch (dt) {
    case DT_U8: case DT_I8: case DT_BOOL: return 1;
    case DT_U16: case DT_I16: case DT_F16: case DT_BF16: return 2;
    case DT_F32: case DT_I32: case DT_U32: return 4;
    case DT_F64: case DT_I64: case DT_U64: return 8;
  }
  return 1;
}

export function heap_base(): usize {
  return __heap_base;
}

/** 0 = scalar, 1 = simd128, 2 = relaxed-simd: the ISA tier this module was built for. */
export function isa_tier(): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 2;
  if (ASC_FEATURE_SIMD) return 1;
  return 0;
}

// Scratch for the odometer of the strided loops (kernels are not re-entrant; the host calls
// one at a time per instance). MAX_RANK bounds every descriptor rank after dim collapsing.
export const MAX_RANK: i32 = 8;
export const ODOMETER: usize = memory.data(MAX_RANK * 4 * 4);
