// One element of ONNX Cast: read element i of any dtype, write element i of any dtype.
//
// Float types are read as f64 (exact for all of them), integer and bool types as i64 (uint64
// as its bit pattern, with a flag). Conversions:
//   float → float: round to nearest even into the target (minifloat.ts); f32 via f64 is exact.
//   float → int:   truncate toward zero, then keep the target's low bits (two's complement wrap,
//                  as C and numpy do on x86 for values inside int64). NaN → 0; ±Inf and values
//                  beyond int64 saturate to int64 first (uint64 keeps values up to 2^64 − 1).
//   float → bool:  v ≠ 0 (NaN → true).
//   int → int:     keep the target's low bits. int → bool: v ≠ 0.
//   int → float:   correctly rounded (f32/f64 by the wasm conversion; narrower formats through
//                  an f64 rounded to odd, which then rounds to nearest even without error).
// Sub-byte types are packed low bits first (INT4/UINT4/FLOAT4E2M1: two per byte, INT2/UINT2:
// four per byte). Stores to them must run in ascending element order from a byte boundary:
// the first element of a byte writes the whole byte (so padding bits end up zero).
// loadF/storeF/storeI are ordinary calls, not inlined per dtype: the float formats' code is
// large and not hot (the common pairs have SIMD paths); the integer loads/stores stay inline.

import {
  DT_F32, DT_F64, DT_F16, DT_BF16, DT_F8E4M3FN, DT_F8E4M3FNUZ, DT_F8E5M2, DT_F8E5M2FNUZ, DT_F4E2M1,
  DT_F8E8M0, DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_U32, DT_I64, DT_U64, DT_BOOL, DT_I4, DT_U4,
  DT_I2, DT_U2,
} from './common';
import {
  KIND_IEEE, KIND_FN, KIND_FNUZ, KIND_E2M1, encodeMini, decodeMini, f32BitsToF64, f64ToF32Bits,
  encodeE8M0, decodeE8M0,
} from './minifloat';

// @ts-ignore: decorator
@inline export function isFloatType(dt: i32): bool {
  return dt == DT_F32 || dt == DT_F64 || dt == DT_F16 || dt == DT_BF16 || (dt >= DT_F8E4M3FN && dt <= DT_F8E5M2FNUZ) ||
    dt == DT_F4E2M1 || dt == DT_F8E8M0;
}

/** True for every dtype code Cast handles (all numeric types and bool). */
export function isCastType(dt: i32): bool {
  return isFloatType(dt) || (dt >= DT_U8 && dt <= DT_I64) || dt == DT_BOOL || dt == DT_U32 || dt == DT_U64 ||
    dt == DT_U4 || dt == DT_I4 || dt == DT_U2 || dt == DT_I2;
}

// @ts-ignore: decorator
@inline function nibble(x: usize, i: usize): u32 {
  return (<u32>load<u8>(x + (i >> 1)) >> (<u32>(i & 1) << 2)) & 15;
}

// @ts-ignore: decorator
@inline function crumb(x: usize, i: usize): u32 {
  return (<u32>load<u8>(x + (i >> 2)) >> (<u32>(i & 3) << 1)) & 3;
}

// @ts-ignore: decorator
@inline function storeNibble(y: usize, i: usize, v: u32): void {
  const p = y + (i >> 1);
  if ((i & 1) == 0) store<u8>(p, v & 15);
  else store<u8>(p, load<u8>(p) | ((v & 15) << 4));
}

// @ts-ignore: decorator
@inline function storeCrumb(y: usize, i: usize, v: u32): void {
  const p = y + (i >> 2);
  const s = <u32>(i & 3) << 1;
  if (s == 0) store<u8>(p, v & 3);
  else store<u8>(p, load<u8>(p) | ((v & 3) << s));
}

export function loadF(dt: i32, x: usize, i: usize): f64 {
  switch (dt) {
    case DT_F32: return f32BitsToF64(load<u32>(x + (i << 2)));
    case DT_F64: return load<f64>(x + (i << 3));
    case DT_F16: return decodeMini(load<u16>(x + (i << 1)), 5, 10, 15, KIND_IEEE);
    case DT_BF16: return f32BitsToF64(<u32>load<u16>(x + (i << 1)) << 16);
    case DT_F8E4M3FN: return decodeMini(load<u8>(x + i), 4, 3, 7, KIND_FN);
    case DT_F8E4M3FNUZ: return decodeMini(load<u8>(x + i), 4, 3, 8, KIND_FNUZ);
    case DT_F8E5M2: return decodeMini(load<u8>(x + i), 5, 2, 15, KIND_IEEE);
    case DT_F8E5M2FNUZ: return decodeMini(load<u8>(x + i), 5, 2, 16, KIND_FNUZ);
    case DT_F4E2M1: return decodeMini(nibble(x, i), 2, 1, 1, KIND_E2M1);
    case DT_F8E8M0: return decodeE8M0(load<u8>(x + i));
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function loadI(dt: i32, x: usize, i: usize): i64 {
  switch (dt) {
    case DT_I8: return <i64>load<i8>(x + i);
    case DT_U8: return <i64>load<u8>(x + i);
    case DT_BOOL: return <i64>(load<u8>(x + i) != 0);
    case DT_I16: return <i64>load<i16>(x + (i << 1));
    case DT_U16: return <i64>load<u16>(x + (i << 1));
    case DT_I32: return <i64>load<i32>(x + (i << 2));
    case DT_U32: return <i64>load<u32>(x + (i << 2));
    case DT_I64: case DT_U64: return load<i64>(x + (i << 3));
    case DT_I4: return <i64>(<i32>(nibble(x, i) << 28) >> 28);
    case DT_U4: return <i64>nibble(x, i);
    case DT_I2: return <i64>(<i32>(crumb(x, i) << 30) >> 30);
    case DT_U2: return <i64>crumb(x, i);
  }
  return 0;
}

/** Integer (or bool) target: keeps the low bits of v. */
// @ts-ignore: decorator
@inline export function storeInt(dt: i32, y: usize, i: usize, v: i64): void {
  switch (dt) {
    case DT_I8: case DT_U8: store<u8>(y + i, <u8>v); break;
    case DT_BOOL: store<u8>(y + i, <u8>(v != 0)); break;
    case DT_I16: case DT_U16: store<u16>(y + (i << 1), <u16>v); break;
    case DT_I32: case DT_U32: store<u32>(y + (i << 2), <u32>v); break;
    case DT_I64: case DT_U64: store<i64>(y + (i << 3), v); break;
    case DT_I4: case DT_U4: storeNibble(y, i, <u32>v); break;
    case DT_I2: case DT_U2: storeCrumb(y, i, <u32>v); break;
  }
}

// @ts-ignore: decorator
@inline function floatToInt(v: f64, toU64: bool): i64 {
  // The build enables nontrapping-f2i: these conversions saturate (NaN → 0) instead of trapping.
  if (toU64 && v >= 0) return <i64><u64>v;
  return <i64>v;
}

/** Float value into any target. */
export function storeF(dt: i32, y: usize, i: usize, v: f64, saturate: bool, roundMode: i32): void {
  switch (dt) {
    case DT_F32: store<u32>(y + (i << 2), f64ToF32Bits(v)); break;
    case DT_F64: store<f64>(y + (i << 3), v); break;
    case DT_F16: store<u16>(y + (i << 1), <u16>encodeMini(v, 5, 10, 15, KIND_IEEE, false)); break;
    case DT_BF16: store<u16>(y + (i << 1), <u16>encodeMini(v, 8, 7, 127, KIND_IEEE, false)); break;
    case DT_F8E4M3FN: store<u8>(y + i, <u8>encodeMini(v, 4, 3, 7, KIND_FN, saturate)); break;
    case DT_F8E4M3FNUZ: store<u8>(y + i, <u8>encodeMini(v, 4, 3, 8, KIND_FNUZ, saturate)); break;
    case DT_F8E5M2: store<u8>(y + i, <u8>encodeMini(v, 5, 2, 15, KIND_IEEE, saturate)); break;
    case DT_F8E5M2FNUZ: store<u8>(y + i, <u8>encodeMini(v, 5, 2, 16, KIND_FNUZ, saturate)); break;
    case DT_F4E2M1: storeNibble(y, i, encodeMini(v, 2, 1, 1, KIND_E2M1, true)); break;
    case DT_F8E8M0: store<u8>(y + i, <u8>encodeE8M0(v, saturate, roundMode)); break;
    case DT_BOOL: store<u8>(y + i, <u8>(v != 0)); break;
    default: storeInt(dt, y, i, floatToInt(v, dt == DT_U64));
  }
}

/** v (unsigned when `uns`) as an f64 rounded to odd: exact below 2^53, else sticky low bit. */
// @ts-ignore: decorator
@inline function intToF64Odd(v: i64, uns: bool): f64 {
  const neg = !uns && v < 0;
  let mag: u64 = neg ? <u64>(0 - v) : <u64>v;
  const sh = <i32>(11 - clz(mag));
  if (sh > 0) {
    const lost = mag & ((<u64>1 << sh) - 1);
    mag = (mag >> sh) | <u64>(lost != 0);
  }
  let r = <f64>mag;
  if (sh > 0) r *= reinterpret<f64>(<i64>(sh + 1023) << 52);
  return neg ? -r : r;
}

/** Integer value (uint64 when `uns`) into any target. */
export function storeI(dt: i32, y: usize, i: usize, v: i64, uns: bool, saturate: bool, roundMode: i32): void {
  if (dt == DT_F32) store<f32>(y + (i << 2), uns ? <f32><u64>v : <f32>v);
  else if (dt == DT_F64) store<f64>(y + (i << 3), uns ? <f64><u64>v : <f64>v);
  else if (isFloatType(dt)) storeF(dt, y, i, intToF64Odd(v, uns), saturate, roundMode);
  else storeInt(dt, y, i, v);
}
