// SIMD runs of QuantizeLinear (f32 → int8/uint8) and DequantizeLinear (int8/uint8 → f32) with f32
// scales, 16 elements per step. They perform the same IEEE operations as quant_elem.ts in the
// same order (f32 divide, nearest-even, add the zero point, clamp, convert; or integer subtract,
// convert, f32 multiply), so every build writes the same bits. Only compiled into SIMD builds;
// each returns how many leading elements of the run it handled.
//
// A run is n elements from e0 whose scale index is k (perElem: k + j for element j).

import { DT_F32, DT_I8, DT_U8 } from './common';

/** round_half_even(x / s) + z, clamped to [lo, hi] (NaN → lo: pmax returns its first operand). */
// @ts-ignore: decorator
@inline function quantize4(x: v128, s: v128, z: v128, lo: v128, hi: v128): v128 {
  const t = f32x4.add(f32x4.nearest(f32x4.div(x, s)), z);
  return i32x4.trunc_sat_f32x4_s(f32x4.pmin(hi, f32x4.pmax(lo, t)));
}

/** Four f32x4 zero points from 16 bytes. */
// @ts-ignore: decorator
@inline function bytesToF32x4(b: v128, signed: bool, part: i32): v128 {
  const h = part < 2
    ? (signed ? i16x8.extend_low_i8x16_s(b) : i16x8.extend_low_i8x16_u(b))
    : (signed ? i16x8.extend_high_i8x16_s(b) : i16x8.extend_high_i8x16_u(b));
  const w = (part & 1) == 0 ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_high_i16x8_s(h);
  return f32x4.convert_i32x4_s(w);
}

// @ts-ignore: decorator
@inline function quantizeRunI8(x: usize, s: usize, zp: usize, y: usize, e0: usize, n: i32, k: usize,
  perElem: bool, signed: bool): i32 {
  const lo = f32x4.splat(signed ? -128 : 0);
  const hi = f32x4.splat(signed ? 127 : 255);
  const vs = f32x4.splat(load<f32>(s + (k << 2)));
  const z0: f32 = zp == 0 ? 0 : (signed ? <f32>load<i8>(zp + k) : <f32>load<u8>(zp + k));
  const z = f32x4.splat(z0);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const px = x + ((e0 + <usize>j) << 2);
    const pk = k + <usize>j;
    let r0: v128, r1: v128, r2: v128, r3: v128;
    if (perElem) {
      const zb = zp == 0 ? i32x4.splat(0) : v128.load(zp + pk);
      r0 = quantize4(v128.load(px), v128.load(s + (pk << 2)), bytesToF32x4(zb, signed, 0), lo, hi);
      r1 = quantize4(v128.load(px, 16), v128.load(s + (pk << 2), 16), bytesToF32x4(zb, signed, 1), lo, hi);
      r2 = quantize4(v128.load(px, 32), v128.load(s + (pk << 2), 32), bytesToF32x4(zb, signed, 2), lo, hi);
      r3 = quantize4(v128.load(px, 48), v128.load(s + (pk << 2), 48), bytesToF32x4(zb, signed, 3), lo, hi);
    } else {
      r0 = quantize4(v128.load(px), vs, z, lo, hi);
      r1 = quantize4(v128.load(px, 16), vs, z, lo, hi);
      r2 = quantize4(v128.load(px, 32), vs, z, lo, hi);
      r3 = quantize4(v128.load(px, 48), vs, z, lo, hi);
    }
    // Already clamped to the output range, so the saturating narrows are exact.
    const a = i16x8.narrow_i32x4_s(r0, r1);
    const b = i16x8.narrow_i32x4_s(r2, r3);
    v128.store(y + e0 + <usize>j, signed ? i8x16.narrow_i16x8_s(a, b) : i8x16.narrow_i16x8_u(a, b));
  }
  return j;
}

export function quantizeRunSimd(xdt: i32, sdt: i32, ydt: i32, prec: i32, x: usize, s: usize, zp: usize,
  y: usize, e0: usize, n: i32, k: usize, perElem: bool): i32 {
  if (xdt != DT_F32 || sdt != DT_F32 || prec != DT_F32) return 0;
  if (ydt == DT_U8) return perElem ? quantizeRunI8(x, s, zp, y, e0, n, k, true, false) : quantizeRunI8(x, s, zp, y, e0, n, k, false, false);
  if (ydt == DT_I8) return perElem ? quantizeRunI8(x, s, zp, y, e0, n, k, true, true) : quantizeRunI8(x, s, zp, y, e0, n, k, false, true);
  return 0;
}

/** 16 bytes minus 16 zero points as two i16x8 (exact: the difference fits in 9 bits). */
// @ts-ignore: decorator
@inline function centered(b: v128, z: v128, signed: bool, high: bool): v128 {
  const w = high
    ? (signed ? i16x8.extend_high_i8x16_s(b) : i16x8.extend_high_i8x16_u(b))
    : (signed ? i16x8.extend_low_i8x16_s(b) : i16x8.extend_low_i8x16_u(b));
  const wz = high
    ? (signed ? i16x8.extend_high_i8x16_s(z) : i16x8.extend_high_i8x16_u(z))
    : (signed ? i16x8.extend_low_i8x16_s(z) : i16x8.extend_low_i8x16_u(z));
  return i16x8.sub(w, wz);
}

// @ts-ignore: decorator
@inline function dequantizeRunI8(x: usize, s: usize, zp: usize, y: usize, e0: usize, n: i32, k: usize,
  perElem: bool, signed: bool): i32 {
  const vs = f32x4.splat(load<f32>(s + (k << 2)));
  const zk: u8 = zp == 0 ? 0 : load<u8>(zp + k);
  const zsplat = i8x16.splat(zk);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    const pk = k + <usize>j;
    const py = y + ((e0 + <usize>j) << 2);
    const z = perElem && zp != 0 ? v128.load(zp + pk) : zsplat;
    const b = v128.load(x + e0 + <usize>j);
    const lo = centered(b, z, signed, false);
    const hi = centered(b, z, signed, true);
    const s0 = perElem ? v128.load(s + (pk << 2)) : vs;
    const s1 = perElem ? v128.load(s + (pk << 2), 16) : vs;
    const s2 = perElem ? v128.load(s + (pk << 2), 32) : vs;
    const s3 = perElem ? v128.load(s + (pk << 2), 48) : vs;
    v128.store(py, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), s0));
    v128.store(py, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), s1), 16);
    v128.store(py, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), s2), 32);
    v128.store(py, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), s3), 48);
  }
  return j;
}

export function dequantizeRunSimd(xdt: i32, sdt: i32, ydt: i32, x: usize, s: usize, zp: usize, y: usize,
  e0: usize, n: i32, k: usize, perElem: bool): i32 {
  if (sdt != DT_F32 || ydt != DT_F32) return 0;
  if (xdt == DT_U8) return perElem ? dequantizeRunI8(x, s, zp, y, e0, n, k, true, false) : dequantizeRunI8(x, s, zp, y, e0, n, k, false, false);
  if (xdt == DT_I8) return perElem ? dequantizeRunI8(x, s, zp, y, e0, n, k, true, true) : dequantizeRunI8(x, s, zp, y, e0, n, k, false, true);
  return 0;
}
