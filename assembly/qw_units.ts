// Reading the packed low-bit weight layout (qw_pack.ts) into vectors, shared by the exact path
// (gemm_q4.ts panels, gemm_q4_rows.ts GEMV rows) and the int8-activation path (gemm_q4_i8*.ts):
// byte selectors, a unit's nibble form and halves, a tile's zero points, f32(q − zp), and the
// masks the loops load once per call.

import { qwUnitBytes } from './qw_pack';

// Byte selectors: lane j (an i32) takes byte 4j+i of a 16-byte half, zero-extended.
// @ts-ignore: decorator
@inline export function SEL0(): v128 { return i8x16(0, -1, -1, -1, 4, -1, -1, -1, 8, -1, -1, -1, 12, -1, -1, -1); }
// @ts-ignore: decorator
@inline export function SEL1(): v128 { return i8x16(1, -1, -1, -1, 5, -1, -1, -1, 9, -1, -1, -1, 13, -1, -1, -1); }
// @ts-ignore: decorator
@inline export function SEL2(): v128 { return i8x16(2, -1, -1, -1, 6, -1, -1, -1, 10, -1, -1, -1, 14, -1, -1, -1); }
// @ts-ignore: decorator
@inline export function SEL3(): v128 { return i8x16(3, -1, -1, -1, 7, -1, -1, -1, 11, -1, -1, -1, 15, -1, -1, -1); }

// @ts-ignore: decorator
@inline export function pick(v: v128, sel: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(v, sel);
  return i8x16.swizzle(v, sel);
}

/** f32(q − zp) of 4 channels: byte i of each lane group of the half `v`. */
// @ts-ignore: decorator
@inline export function wq(v: v128, sel: v128, zp: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.sub(pick(v, sel), zp));
}

/**
 * A unit of bits ≤ 4 (SB = 16 or 8 bytes) in nibble form, byte 4j+i = q[8u+i] | q[8u+4+i] << 4:
 * the 4-bit unit as stored, or a 2-bit unit spread from a 64-bit splat (qw_pack.ts).
 */
// @ts-ignore: decorator
@inline export function unitNib(pw: usize, SB: usize): v128 {
  if (SB == 16) return v128.load(pw);
  const s = v128.load64_splat(pw);
  return v128.and(v128.bitselect(s, i16x8.shr_u(s, 2), v128.load(NIB_MASKS, 160)), v128.load(NIB_MASKS, 176));
}

/** The first (k 0..3) half of a unit: low nibbles, or the first 16 bytes for 8-bit. */
// @ts-ignore: decorator
@inline export function unitLo(pw: usize, bits: i32): v128 {
  if (bits == 8) return v128.load(pw);
  return v128.and(unitNib(pw, <usize>qwUnitBytes(bits)), i8x16.splat(15));
}

/** The second (k 4..7) half of a unit. */
// @ts-ignore: decorator
@inline export function unitHi(pw: usize, bits: i32): v128 {
  if (bits == 8) return v128.load(pw, 16);
  return i8x16.shr_u(unitNib(pw, <usize>qwUnitBytes(bits)), 4);
}

/** Zero points of one (tile, block) as i32x4. */
// @ts-ignore: decorator
@inline export function zpVec(pz: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(pz)));
}

/** q_u[4t + j, 8u + i] read back from the packed layout (portable tier and panels). */
// @ts-ignore: decorator
@inline export function qwAt(pu: usize, j: i32, i: i32, bits: i32): i32 {
  const o = <usize>((j << 2) + (i & 3));
  if (bits == 8) return <i32>load<u8>(pu + o + (i >= 4 ? 16 : 0));
  if (bits == 2) return (<i32>load<u8>(pu + (o & 7)) >> ((o >= 8 ? 2 : 0) + (i >= 4 ? 4 : 0))) & 3;
  const byte = <i32>load<u8>(pu + o);
  return i >= 4 ? byte >> 4 : byte & 15;
}

// 4-bit masks, read from memory once per call (V8 would rebuild a v128 constant at every use
// inside a loop). SPREADj: lane i (an i32) gets byte 4j+i of a half — channel j's weight for
// k = i — in its top byte, i.e. the signed byte times 2^24, which converts to f32 exactly.
// TOPi: lane j gets byte 4j+i in its top byte (channel j's weight for k = i, for the panels).
export const NIB_MASKS: usize = memory.data<u8>([
  255, 255, 255, 0, 255, 255, 255, 1, 255, 255, 255, 2, 255, 255, 255, 3, // SPREAD0
  255, 255, 255, 4, 255, 255, 255, 5, 255, 255, 255, 6, 255, 255, 255, 7, // SPREAD1
  255, 255, 255, 8, 255, 255, 255, 9, 255, 255, 255, 10, 255, 255, 255, 11, // SPREAD2
  255, 255, 255, 12, 255, 255, 255, 13, 255, 255, 255, 14, 255, 255, 255, 15, // SPREAD3
  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, // nibble mask
  0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, // zp byte of channel j to bytes 4j..4j+3
  255, 255, 255, 0, 255, 255, 255, 4, 255, 255, 255, 8, 255, 255, 255, 12, // TOP0
  255, 255, 255, 1, 255, 255, 255, 5, 255, 255, 255, 9, 255, 255, 255, 13, // TOP1
  255, 255, 255, 2, 255, 255, 255, 6, 255, 255, 255, 10, 255, 255, 255, 14, // TOP2
  255, 255, 255, 3, 255, 255, 255, 7, 255, 255, 255, 11, 255, 255, 255, 15, // TOP3
  255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, // low half (2-bit units)
  0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, // crumb pairs
], 16);
