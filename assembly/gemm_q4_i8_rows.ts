// Row-blocked kernels of the int8-activation path (gemm_q4_i8.ts), bits ≤ 4: four rows of
// quantized activations × one tile of 4 channels, so each weight unit (SB = 16 bytes, or 8 for
// 2-bit, read in nibble form by unitNib) is loaded and unpacked once for four rows. Integer sums are exact in any order and the f32 operations are
// those of tileRowI8_simd, so results are bit-identical to the one-row kernels.

import { unitNib, zpVec } from './qw_units';

// @ts-ignore: decorator
@inline export function dot7(a: v128, w: v128): v128 {
  return i16x8.relaxed_dot_i8x16_i7x16_s(a, w);
}

// Nibble mask read from memory once per call (V8 rebuilds a v128 constant at every use in a loop).
const NIBBLE_MASK: usize = memory.data<u8>([15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15], 16);

/**
 * Four rows (aq rows pa, pa + Kp, …) × one tile, relaxed build, bits ≤ 4: each weight unit is
 * unpacked once for the four rows. Same integer sums and f32 operations as tileRowI8_simd; acc of
 * row r (before the row scale) goes to QUAD[r].
 */
export function tileQuadRowI8_relaxed4(pa: usize, Kp: usize, pas: usize, kb: i32, pw: usize, ps: usize, pz: usize, upb: i32, SB: usize): void {
  const m15 = v128.load(NIBBLE_MASK);
  const kbBytes = <usize>kb << 2;
  let a0 = pa, a1 = pa + Kp, a2 = pa + 2 * Kp, a3 = pa + 3 * Kp;
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
  for (let b = 0; b < kb; b++) {
    let blk0 = i32x4.splat(0), blk1 = i32x4.splat(0), blk2 = i32x4.splat(0), blk3 = i32x4.splat(0);
    let u = 0;
    while (u < upb) {
      const end = min(upb, u + 4); // ≤ 4 units per i16 sum (see blockDot4_relaxed, gemm_q4_i8.ts)
      let s0 = i16x8.splat(0), s1 = i16x8.splat(0), s2 = i16x8.splat(0), s3 = i16x8.splat(0);
      for (; u < end; u++) {
        const w = unitNib(pw, SB);
        const lo = v128.and(w, m15), hi = v128.and(i16x8.shr_u(w, 4), m15);
        s0 = i16x8.add(s0, i16x8.add(dot7(v128.load32_splat(a0), lo), dot7(v128.load32_splat(a0, 4), hi)));
        s1 = i16x8.add(s1, i16x8.add(dot7(v128.load32_splat(a1), lo), dot7(v128.load32_splat(a1, 4), hi)));
        s2 = i16x8.add(s2, i16x8.add(dot7(v128.load32_splat(a2), lo), dot7(v128.load32_splat(a2, 4), hi)));
        s3 = i16x8.add(s3, i16x8.add(dot7(v128.load32_splat(a3), lo), dot7(v128.load32_splat(a3, 4), hi)));
        pw += SB;
        a0 += 8; a1 += 8; a2 += 8; a3 += 8;
      }
      blk0 = i32x4.add(blk0, i32x4.extadd_pairwise_i16x8_s(s0));
      blk1 = i32x4.add(blk1, i32x4.extadd_pairwise_i16x8_s(s1));
      blk2 = i32x4.add(blk2, i32x4.extadd_pairwise_i16x8_s(s2));
      blk3 = i32x4.add(blk3, i32x4.extadd_pairwise_i16x8_s(s3));
    }
    const zp = zpVec(pz + (<usize>b << 2));
    const scale = v128.load(ps + (<usize>b << 4));
    const pb = pas + (<usize>b << 2);
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(blk0, i32x4.mul(zp, v128.load32_splat(pb)))), scale));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(blk1, i32x4.mul(zp, v128.load32_splat(pb + kbBytes)))), scale));
    acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(blk2, i32x4.mul(zp, v128.load32_splat(pb + 2 * kbBytes)))), scale));
    acc3 = f32x4.add(acc3, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(blk3, i32x4.mul(zp, v128.load32_splat(pb + 3 * kbBytes)))), scale));
  }
  v128.store(QUAD, acc0);
  v128.store(QUAD, acc1, 16);
  v128.store(QUAD, acc2, 32);
  v128.store(QUAD, acc3, 48);
}

/** Results of the 4-row kernels: acc of row r (before the row scale) at QUAD + 16·r. */
export const QUAD: usize = memory.data(64, 16);

/**
 * tileQuadRowI8_relaxed4 for simd128 builds: the nibbles are widened to i16 once per unit for
 * the four rows and meet i32x4.dot_i16x8_s (lanes as in blockDot_simd, i32 sums throughout).
 */
export function tileQuadRowI8_simd4(pa: usize, Kp: usize, pas: usize, kb: i32, pw: usize, ps: usize, pz: usize, upb: i32, SB: usize): void {
  const m15 = v128.load(NIBBLE_MASK);
  const kbBytes = <usize>kb << 2;
  let a0 = pa, a1 = pa + Kp, a2 = pa + 2 * Kp, a3 = pa + 3 * Kp;
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
  for (let b = 0; b < kb; b++) {
    // p_r lanes: (ch0 k01, ch0 k23, ch1 k01, ch1 k23); q_r the same for ch2, ch3.
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    let q0 = i32x4.splat(0), q1 = i32x4.splat(0), q2 = i32x4.splat(0), q3 = i32x4.splat(0);
    for (let u = 0; u < upb; u++) {
      const w = unitNib(pw, SB);
      const lo = v128.and(w, m15), hi = v128.and(i16x8.shr_u(w, 4), m15);
      const lo01 = i16x8.extend_low_i8x16_u(lo), lo23 = i16x8.extend_high_i8x16_u(lo);
      const hi01 = i16x8.extend_low_i8x16_u(hi), hi23 = i16x8.extend_high_i8x16_u(hi);
      let x0 = i16x8.extend_low_i8x16_s(v128.load32_splat(a0)), x1 = i16x8.extend_low_i8x16_s(v128.load32_splat(a0, 4));
      p0 = i32x4.add(p0, i32x4.add(i32x4.dot_i16x8_s(lo01, x0), i32x4.dot_i16x8_s(hi01, x1)));
      q0 = i32x4.add(q0, i32x4.add(i32x4.dot_i16x8_s(lo23, x0), i32x4.dot_i16x8_s(hi23, x1)));
      x0 = i16x8.extend_low_i8x16_s(v128.load32_splat(a1)); x1 = i16x8.extend_low_i8x16_s(v128.load32_splat(a1, 4));
      p1 = i32x4.add(p1, i32x4.add(i32x4.dot_i16x8_s(lo01, x0), i32x4.dot_i16x8_s(hi01, x1)));
      q1 = i32x4.add(q1, i32x4.add(i32x4.dot_i16x8_s(lo23, x0), i32x4.dot_i16x8_s(hi23, x1)));
      x0 = i16x8.extend_low_i8x16_s(v128.load32_splat(a2)); x1 = i16x8.extend_low_i8x16_s(v128.load32_splat(a2, 4));
      p2 = i32x4.add(p2, i32x4.add(i32x4.dot_i16x8_s(lo01, x0), i32x4.dot_i16x8_s(hi01, x1)));
      q2 = i32x4.add(q2, i32x4.add(i32x4.dot_i16x8_s(lo23, x0), i32x4.dot_i16x8_s(hi23, x1)));
      x0 = i16x8.extend_low_i8x16_s(v128.load32_splat(a3)); x1 = i16x8.extend_low_i8x16_s(v128.load32_splat(a3, 4));
      p3 = i32x4.add(p3, i32x4.add(i32x4.dot_i16x8_s(lo01, x0), i32x4.dot_i16x8_s(hi01, x1)));
      q3 = i32x4.add(q3, i32x4.add(i32x4.dot_i16x8_s(lo23, x0), i32x4.dot_i16x8_s(hi23, x1)));
      pw += SB;
      a0 += 8; a1 += 8; a2 += 8; a3 += 8;
    }
    const zp = zpVec(pz + (<usize>b << 2));
    const scale = v128.load(ps + (<usize>b << 4));
    const pb = pas + (<usize>b << 2);
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(pairSums(p0, q0), i32x4.mul(zp, v128.load32_splat(pb)))), scale));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(pairSums(p1, q1), i32x4.mul(zp, v128.load32_splat(pb + kbBytes)))), scale));
    acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(pairSums(p2, q2), i32x4.mul(zp, v128.load32_splat(pb + 2 * kbBytes)))), scale));
    acc3 = f32x4.add(acc3, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(pairSums(p3, q3), i32x4.mul(zp, v128.load32_splat(pb + 3 * kbBytes)))), scale));
  }
  v128.store(QUAD, acc0);
  v128.store(QUAD, acc1, 16);
  v128.store(QUAD, acc2, 32);
  v128.store(QUAD, acc3, 48);
}

/** Channel sums from the (k01, k23) lane pairs of blockDot_simd's layout. */
// @ts-ignore: decorator
@inline function pairSums(p01: v128, p23: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(p01, p23, 0, 2, 4, 6), v128.shuffle<i32>(p01, p23, 1, 3, 5, 7));
}
