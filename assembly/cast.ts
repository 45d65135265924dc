// ONNX Cast between every numeric dtype (and bool). Element semantics live in cast_elem.ts.
//
// `cast(src, dst, x, y, n, mode)`: y[i] = dst(x[i]) for i < n; src/dst are TensorProto dtype
// codes; mode bit 0 = saturate (float8 and float8e8m0 targets), bits 1–2 = e8m0 round mode
// (0 up, 1 down, 2 nearest). x and y must not overlap. Returns 1 for a dtype it cannot cast.
//
// `cast__ref` converts one element at a time through cast_elem.ts. `cast` runs the SIMD paths
// of cast_simd.ts where the build has them, then converts the rest in chunks: source elements
// are decoded into an f64 (float source) or i64 (integer source) buffer by a loop specialised
// to the source type, then encoded by a loop specialised to the target type.

import {
  DT_F32, DT_F64, DT_F16, DT_BF16, DT_F8E4M3FN, DT_F8E4M3FNUZ, DT_F8E5M2, DT_F8E5M2FNUZ, DT_F4E2M1,
  DT_F8E8M0, DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_U32, DT_I64, DT_U64, DT_BOOL, DT_I4, DT_U4,
  DT_I2, DT_U2,
} from './common';
import { isCastType, isFloatType, loadF, loadI, storeF, storeI } from './cast_elem';
import { castSimd } from './cast_simd';

// A multiple of 4 so that chunks start on byte boundaries of the sub-byte types.
const CHUNK: i32 = 256;
const BUF: usize = memory.data(CHUNK * 8, 16);

export function cast__ref(src: i32, dst: i32, x: usize, y: usize, n: i32, mode: i32): i32 {
  if (!isCastType(src) || !isCastType(dst)) return 1;
  const saturate = (mode & 1) != 0;
  const roundMode = (mode >> 1) & 3;
  const fsrc = isFloatType(src);
  const uns = src == DT_U64;
  for (let i: usize = 0; i < <usize>n; i++) {
    if (fsrc) storeF(dst, y, i, loadF(src, x, i), saturate, roundMode);
    else storeI(dst, y, i, loadI(src, x, i), uns, saturate, roundMode);
  }
  return 0;
}

export function cast(src: i32, dst: i32, x: usize, y: usize, n: i32, mode: i32): i32 {
  if (!isCastType(src) || !isCastType(dst)) return 1;
  const saturate = (mode & 1) != 0;
  const roundMode = (mode >> 1) & 3;
  let done = 0;
  if (ASC_FEATURE_SIMD) done = castSimd(src, dst, x, y, n);
  const fsrc = isFloatType(src);
  for (let base = done; base < n; base += CHUNK) {
    const m = min(CHUNK, n - base);
    if (fsrc) {
      decodeFloats(src, x, <usize>base, m);
      encodeFloats(dst, y, <usize>base, m, saturate, roundMode);
    } else {
      decodeInts(src, x, <usize>base, m);
      encodeInts(dst, y, <usize>base, m, src == DT_U64, saturate, roundMode);
    }
  }
  return 0;
}

// Each `case` instantiates the loop with a constant dtype, so the per-element switch folds away.

// @ts-ignore: decorator
@inline function decodeFloatRun(dt: i32, x: usize, base: usize, m: i32): void {
  for (let j = 0; j < m; j++) store<f64>(BUF + (<usize>j << 3), loadF(dt, x, base + <usize>j));
}

function decodeFloats(dt: i32, x: usize, base: usize, m: i32): void {
  switch (dt) {
    case DT_F32: decodeFloatRun(DT_F32, x, base, m); break;
    case DT_F64: decodeFloatRun(DT_F64, x, base, m); break;
    case DT_F16: decodeFloatRun(DT_F16, x, base, m); break;
    case DT_BF16: decodeFloatRun(DT_BF16, x, base, m); break;
    case DT_F8E4M3FN: decodeFloatRun(DT_F8E4M3FN, x, base, m); break;
    case DT_F8E4M3FNUZ: decodeFloatRun(DT_F8E4M3FNUZ, x, base, m); break;
    case DT_F8E5M2: decodeFloatRun(DT_F8E5M2, x, base, m); break;
    case DT_F8E5M2FNUZ: decodeFloatRun(DT_F8E5M2FNUZ, x, base, m); break;
    case DT_F4E2M1: decodeFloatRun(DT_F4E2M1, x, base, m); break;
    case DT_F8E8M0: decodeFloatRun(DT_F8E8M0, x, base, m); break;
  }
}

// @ts-ignore: decorator
@inline function decodeIntRun(dt: i32, x: usize, base: usize, m: i32): void {
  for (let j = 0; j < m; j++) store<i64>(BUF + (<usize>j << 3), loadI(dt, x, base + <usize>j));
}

function decodeInts(dt: i32, x: usize, base: usize, m: i32): void {
  switch (dt) {
    case DT_I8: decodeIntRun(DT_I8, x, base, m); break;
    case DT_U8: decodeIntRun(DT_U8, x, base, m); break;
    case DT_BOOL: decodeIntRun(DT_BOOL, x, base, m); break;
    case DT_I16: decodeIntRun(DT_I16, x, base, m); break;
    case DT_U16: decodeIntRun(DT_U16, x, base, m); break;
    case DT_I32: decodeIntRun(DT_I32, x, base, m); break;
    case DT_U32: decodeIntRun(DT_U32, x, base, m); break;
    case DT_I64: case DT_U64: decodeIntRun(DT_I64, x, base, m); break;
    case DT_I4: decodeIntRun(DT_I4, x, base, m); break;
    case DT_U4: decodeIntRun(DT_U4, x, base, m); break;
    case DT_I2: decodeIntRun(DT_I2, x, base, m); break;
    case DT_U2: decodeIntRun(DT_U2, x, base, m); break;
  }
}

// @ts-ignore: decorator
@inline function encodeFloatRun(dt: i32, y: usize, base: usize, m: i32, saturate: bool, roundMode: i32): void {
  for (let j = 0; j < m; j++) storeF(dt, y, base + <usize>j, load<f64>(BUF + (<usize>j << 3)), saturate, roundMode);
}

function encodeFloats(dt: i32, y: usize, base: usize, m: i32, sat: bool, rm: i32): void {
  switch (dt) {
    case DT_F32: encodeFloatRun(DT_F32, y, base, m, sat, rm); break;
    case DT_F64: encodeFloatRun(DT_F64, y, base, m, sat, rm); break;
    case DT_F16: encodeFloatRun(DT_F16, y, base, m, sat, rm); break;
    case DT_BF16: encodeFloatRun(DT_BF16, y, base, m, sat, rm); break;
    case DT_F8E4M3FN: encodeFloatRun(DT_F8E4M3FN, y, base, m, sat, rm); break;
    case DT_F8E4M3FNUZ: encodeFloatRun(DT_F8E4M3FNUZ, y, base, m, sat, rm); break;
    case DT_F8E5M2: encodeFloatRun(DT_F8E5M2, y, base, m, sat, rm); break;
    case DT_F8E5M2FNUZ: encodeFloatRun(DT_F8E5M2FNUZ, y, base, m, sat, rm); break;
    case DT_F4E2M1: encodeFloatRun(DT_F4E2M1, y, base, m, sat, rm); break;
    case DT_F8E8M0: encodeFloatRun(DT_F8E8M0, y, base, m, sat, rm); break;
    case DT_I8: encodeFloatRun(DT_I8, y, base, m, sat, rm); break;
    case DT_U8: encodeFloatRun(DT_U8, y, base, m, sat, rm); break;
    case DT_BOOL: encodeFloatRun(DT_BOOL, y, base, m, sat, rm); break;
    case DT_I16: encodeFloatRun(DT_I16, y, base, m, sat, rm); break;
    case DT_U16: encodeFloatRun(DT_U16, y, base, m, sat, rm); break;
    case DT_I32: encodeFloatRun(DT_I32, y, base, m, sat, rm); break;
    case DT_U32: encodeFloatRun(DT_U32, y, base, m, sat, rm); break;
    case DT_I64: encodeFloatRun(DT_I64, y, base, m, sat, rm); break;
    case DT_U64: encodeFloatRun(DT_U64, y, base, m, sat, rm); break;
    case DT_I4: encodeFloatRun(DT_I4, y, base, m, sat, rm); break;
    case DT_U4: encodeFloatRun(DT_U4, y, base, m, sat, rm); break;
    case DT_I2: encodeFloatRun(DT_I2, y, base, m, sat, rm); break;
    case DT_U2: encodeFloatRun(DT_U2, y, base, m, sat, rm); break;
  }
}

// @ts-ignore: decorator
@inline function encodeIntRun(dt: i32, y: usize, base: usize, m: i32, uns: bool, saturate: bool, roundMode: i32): void {
  for (let j = 0; j < m; j++) storeI(dt, y, base + <usize>j, load<i64>(BUF + (<usize>j << 3)), uns, saturate, roundMode);
}

function encodeInts(dt: i32, y: usize, base: usize, m: i32, uns: bool, sat: bool, rm: i32): void {
  switch (dt) {
    case DT_F32: encodeIntRun(DT_F32, y, base, m, uns, sat, rm); break;
    case DT_F64: encodeIntRun(DT_F64, y, base, m, uns, sat, rm); break;
    case DT_F16: encodeIntRun(DT_F16, y, base, m, uns, sat, rm); break;
    case DT_BF16: encodeIntRun(DT_BF16, y, base, m, uns, sat, rm); break;
    case DT_F8E4M3FN: encodeIntRun(DT_F8E4M3FN, y, base, m, uns, sat, rm); break;
    case DT_F8E4M3FNUZ: encodeIntRun(DT_F8E4M3FNUZ, y, base, m, uns, sat, rm); break;
    case DT_F8E5M2: encodeIntRun(DT_F8E5M2, y, base, m, uns, sat, rm); break;
    case DT_F8E5M2FNUZ: encodeIntRun(DT_F8E5M2FNUZ, y, base, m, uns, sat, rm); break;
    case DT_F4E2M1: encodeIntRun(DT_F4E2M1, y, base, m, uns, sat, rm); break;
    case DT_F8E8M0: encodeIntRun(DT_F8E8M0, y, base, m, uns, sat, rm); break;
    case DT_I8: case DT_U8: encodeIntRun(DT_U8, y, base, m, uns, sat, rm); break;
    case DT_BOOL: encodeIntRun(DT_BOOL, y, base, m, uns, sat, rm); break;
    case DT_I16: case DT_U16: encodeIntRun(DT_U16, y, base, m, uns, sat, rm); break;
    case DT_I32: case DT_U32: encodeIntRun(DT_U32, y, base, m, uns, sat, rm); break;
    case DT_I64: case DT_U64: encodeIntRun(DT_U64, y, base, m, uns, sat, rm); break;
    case DT_I4: case DT_U4: encodeIntRun(DT_U4, y, base, m, uns, sat, rm); break;
    case DT_I2: case DT_U2: encodeIntRun(DT_U2, y, base, m, uns, sat, rm); break;
  }
}
