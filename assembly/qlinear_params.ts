// Requantisation parameters of QLinearMatMul / QLinearConv, formed at run time (scales and zero
// points may be graph inputs) as a gemm_i8_epilogue.ts descriptor.
//
// The multiplier, exactly as the references form it:
//   ONNX reference (onnx/reference/ops/op_qlinear_matmul.py, op_qlinear_conv.py):
//     C · (a_scale · b_scale / y_scale) with numpy arrays of the scales' own type: the product
//     a·b rounded to that type, then the quotient rounded to that type.
//   onnxruntime (quantize_linear_matmul.cc, qlinearconv.cc ComputeOutputScale):
//     float(a_scale · b_scale[i] / y_scale), float32 left to right — the same two roundings.
//   So mult = round_T(round_T(a · b) / y) with T = the scales' type (float32 or float16).
//   float16 in f32 arithmetic is exact: a·b of two 11-bit significands fits f32 exactly, and
//   rounding an f32 quotient to f16 equals rounding the exact quotient (24 ≥ 2·11 + 2, so the
//   double rounding is innocuous).
// The product with the accumulator is then f32(acc) · mult rounded to f32 (the epilogue), as
// onnxruntime's MLAS requantisation does; the ONNX reference multiplies in float64, which can
// differ only when the f32 rounding of the product moves it across a .5 boundary.

import { DT_F16 } from './common';
import { EPI_S8, EPI_U8 } from './gemm_i8_epilogue';

/** Bytes of a descriptor written by qlinear_requant_desc for a multiplier table of n entries. */
export const RQ_TABLE: usize = 48;

/** f16 bit pattern → f32 (exact). */
export function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  if (e == 0) {
    const v = <f32>m * reinterpret<f32>(0x33800000); // m · 2^−24, exact
    return sign ? -v : v;
  }
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

/** x rounded to the nearest float16 value (ties to even; overflow to ±inf), returned as f32. */
export function roundToF16(x: f32): f32 {
  if (!isFinite(x) || x == 0) return x;
  let e = <i32>((reinterpret<u32>(x) >> 23) & 0xff) - 127;
  if (e < -14) e = -14; // f16 subnormals: quantum 2^−24
  const q = reinterpret<f32>(<u32>(e - 10 + 127) << 23); // 2^(e−10), a power of two ≥ 2^−24
  const r = nearest<f32>(x / q) * q; // both scalings are exact
  return abs<f32>(r) > 65504 ? (r > 0 ? Infinity : -Infinity) : r;
}

// @ts-ignore: decorator
@inline function loadScale(p: usize, i: i32, dt: i32): f32 {
  return dt == DT_F16 ? f16ToF32(<u32>load<u16>(p + (<usize>i << 1))) : load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function roundScale(x: f32, dt: i32): f32 {
  return dt == DT_F16 ? roundToF16(x) : x;
}

/**
 * Writes at `dst` an epilogue descriptor (requantise to u8, or s8 when ySigned) whose f32
 * multiplier table, at dst + RQ_TABLE, holds mult[i·bCount + j] from aScale[i] (i < aCount:
 * 1 or one per row) and bScale[j] (j < bCount: 1 or one per column) and yScale[0]; scales are
 * f32 or f16 (sdt: ONNX data type code). yZp: the output zero point (u8/s8 per ySigned), 0 for
 * none. Returns 0, or 1 on a bad count.
 */
export function qlinear_requant_desc(
  aScale: usize, aCount: i32, bScale: usize, bCount: i32, yScale: usize, sdt: i32, yZp: usize, ySigned: i32, dst: usize,
): i32 {
  if (aCount < 1 || bCount < 1) return 1;
  const table = dst + RQ_TABLE;
  const y = loadScale(yScale, 0, sdt);
  for (let i = 0; i < aCount; i++) {
    const a = loadScale(aScale, i, sdt);
    for (let j = 0; j < bCount; j++) {
      const ab = roundScale(a * loadScale(bScale, j, sdt), sdt);
      store<f32>(table + (<usize>(i * bCount + j) << 2), roundScale(ab / y, sdt));
    }
  }
  const zp = yZp ? (ySigned ? <i32>load<i8>(yZp) : <i32>load<u8>(yZp)) : 0;
  store<i32>(dst, ySigned ? EPI_S8 : EPI_U8);
  store<i32>(dst + 4, <i32>table);
  store<i32>(dst + 8, aCount > 1 ? bCount : 0);
  store<i32>(dst + 12, bCount > 1 ? 1 : 0);
  store<i32>(dst + 16, zp);
  for (let k = 5; k < 11; k++) store<i32>(dst + (<usize>k << 2), 0);
  return 0;
}
