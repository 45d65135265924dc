// SIMD paths of Cast for the pairs models use in hot loops: f32 ↔ f16, f32 ↔ bf16, int8/uint8
// → f32 and f32 → int8/uint8. Each gives the same bits as cast_elem.ts (tests compare them to
// cast__ref). Only compiled into SIMD builds; returns how many leading elements it converted.

import { DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8 } from './common';
import { loadF, storeF } from './cast_elem';

/** f32 bit patterns → f16 bit patterns (in i32 lanes), rounding to nearest even. */
// @ts-ignore: decorator
@inline function f32x4ToF16Bits(x: v128): v128 {
  const sign = v128.and(i32x4.shr_u(x, 16), i32x4.splat(0x8000));
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  // Normal f16 range: rebias the exponent (127 → 15), round the 13 dropped bits half to even;
  // anything at or past the f16 overflow point (and Inf) lands on 0x7c00 = Inf.
  const odd = v128.and(i32x4.shr_u(a, 13), i32x4.splat(1));
  const rounded = i32x4.add(i32x4.sub(a, i32x4.splat(0x38000000)), i32x4.add(i32x4.splat(0xfff), odd));
  const normal = i32x4.min_u(i32x4.shr_u(rounded, 13), i32x4.splat(0x7c00));
  // Below 2^−14: adding 0.5 makes the f32 adder round the value to a multiple of 2^−24 (half
  // to even); the low mantissa bits are then the f16 subnormal.
  const sub = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  // NaN: quiet, keeping the top payload bits.
  const nan = v128.or(i32x4.splat(0x7e00), v128.and(i32x4.shr_u(a, 13), i32x4.splat(0x3ff)));
  let r = v128.bitselect(sub, normal, i32x4.lt_u(a, i32x4.splat(0x38800000)));
  r = v128.bitselect(nan, r, i32x4.gt_u(a, i32x4.splat(0x7f800000)));
  return v128.or(r, sign);
}

/** f16 bit patterns (in i32 lanes) → f32 bit patterns, exactly; NaNs quieted. */
// @ts-ignore: decorator
@inline function f16BitsToF32x4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(em, 13);
  const normal = i32x4.add(shifted, i32x4.splat(0x38000000));
  const special = v128.or(shifted, i32x4.splat(0x7f800000));
  const sub = f32x4.mul(f32x4.convert_i32x4_u(em), f32x4.splat(5.9604644775390625e-8)); // m · 2^−24
  let r = v128.bitselect(sub, normal, i32x4.lt_u(em, i32x4.splat(0x400)));
  r = v128.bitselect(special, r, i32x4.ge_u(em, i32x4.splat(0x7c00)));
  r = v128.or(r, v128.and(i32x4.gt_u(em, i32x4.splat(0x7c00)), i32x4.splat(0x400000)));
  return v128.or(r, sign);
}

/** f32 bit patterns → bf16 bit patterns (in i32 lanes), rounding to nearest even. */
// @ts-ignore: decorator
@inline function f32x4ToBF16Bits(x: v128): v128 {
  const odd = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  const rounded = i32x4.shr_u(i32x4.add(x, i32x4.add(i32x4.splat(0x7fff), odd)), 16);
  const nan = v128.or(i32x4.shr_u(x, 16), i32x4.splat(0x40));
  const isNaN = i32x4.gt_u(v128.and(x, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
  return v128.bitselect(nan, rounded, isNaN);
}

/** bf16 bit patterns (in i32 lanes) → f32 bit patterns; NaNs quieted. */
// @ts-ignore: decorator
@inline function bf16BitsToF32x4(h: v128): v128 {
  const x = i32x4.shl(h, 16);
  const isNaN = i32x4.gt_u(v128.and(x, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000));
  return v128.or(x, v128.and(isNaN, i32x4.splat(0x400000)));
}

/** Low byte of trunc(v) per lane, for |v| < 2^31 or NaN (→ 0). */
// @ts-ignore: decorator
@inline function lowByte(v: v128): v128 {
  return v128.and(i32x4.trunc_sat_f32x4_s(v), i32x4.splat(0xff));
}

export function castSimd(src: i32, dst: i32, x: usize, y: usize, n: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    if (src == DT_F32 && (dst == DT_F16 || dst == DT_BF16)) {
      const m = n & ~7;
      const bf = dst == DT_BF16;
      for (let i = 0; i < m; i += 8) {
        const a = v128.load(x + (<usize>i << 2));
        const b = v128.load(x + (<usize>i << 2), 16);
        const lo = bf ? f32x4ToBF16Bits(a) : f32x4ToF16Bits(a);
        const hi = bf ? f32x4ToBF16Bits(b) : f32x4ToF16Bits(b);
        v128.store(y + (<usize>i << 1), i16x8.narrow_i32x4_u(lo, hi));
      }
      return m;
    }
    if ((src == DT_F16 || src == DT_BF16) && dst == DT_F32) {
      const m = n & ~7;
      const bf = src == DT_BF16;
      for (let i = 0; i < m; i += 8) {
        const h = v128.load(x + (<usize>i << 1));
        const lo = i32x4.extend_low_i16x8_u(h);
        const hi = i32x4.extend_high_i16x8_u(h);
        v128.store(y + (<usize>i << 2), bf ? bf16BitsToF32x4(lo) : f16BitsToF32x4(lo));
        v128.store(y + (<usize>i << 2), bf ? bf16BitsToF32x4(hi) : f16BitsToF32x4(hi), 16);
      }
      return m;
    }
    if ((src == DT_I8 || src == DT_U8) && dst == DT_F32) {
      const m = n & ~15;
      const s = src == DT_I8;
      for (let i = 0; i < m; i += 16) {
        const b = v128.load(x + <usize>i);
        const l = s ? i16x8.extend_low_i8x16_s(b) : i16x8.extend_low_i8x16_u(b);
        const h = s ? i16x8.extend_high_i8x16_s(b) : i16x8.extend_high_i8x16_u(b);
        const p = y + (<usize>i << 2);
        v128.store(p, f32x4.convert_i32x4_s(s ? i32x4.extend_low_i16x8_s(l) : i32x4.extend_low_i16x8_u(l)));
        v128.store(p, f32x4.convert_i32x4_s(s ? i32x4.extend_high_i16x8_s(l) : i32x4.extend_high_i16x8_u(l)), 16);
        v128.store(p, f32x4.convert_i32x4_s(s ? i32x4.extend_low_i16x8_s(h) : i32x4.extend_low_i16x8_u(h)), 32);
        v128.store(p, f32x4.convert_i32x4_s(s ? i32x4.extend_high_i16x8_s(h) : i32x4.extend_high_i16x8_u(h)), 48);
      }
      return m;
    }
    if (src == DT_F32 && (dst == DT_I8 || dst == DT_U8)) {
      // Both keep the low byte of trunc(v); lanes with |v| ≥ 2^31 take the scalar path, whose
      // int64 truncation gives different low bits than the saturated i32.
      const m = n & ~15;
      const limit = f32x4.splat(2147483648.0);
      for (let i = 0; i < m; i += 16) {
        const p = x + (<usize>i << 2);
        const a = v128.load(p);
        const b = v128.load(p, 16);
        const c = v128.load(p, 32);
        const d = v128.load(p, 48);
        const big = v128.or(
          v128.or(f32x4.ge(f32x4.abs(a), limit), f32x4.ge(f32x4.abs(b), limit)),
          v128.or(f32x4.ge(f32x4.abs(c), limit), f32x4.ge(f32x4.abs(d), limit)),
        );
        if (v128.any_true(big)) {
          for (let j = i; j < i + 16; j++) storeF(dst, y, <usize>j, loadF(DT_F32, x, <usize>j), true, 0);
          continue;
        }
        const ab = i16x8.narrow_i32x4_u(lowByte(a), lowByte(b));
        const cd = i16x8.narrow_i32x4_u(lowByte(c), lowByte(d));
        v128.store(y + <usize>i, i8x16.narrow_i16x8_u(ab, cd));
      }
      return m;
    }
  }
  return 0;
}
