// The exact path's GEMV (gemm_q4.ts, M < PANEL_MIN_ROWS): one f32 activation row against one
// tile of 4 channels of the packed qw layout, returning the tile's 4 sums before bias. Bits ≤ 4
// turn each unit (16 bytes, or 8 for 2-bit spread to the same nibble form by unitNib) into 8
// f32x4 of (q − zp)·2^24 with lanes along k (one i8 subtract per 16 bytes, then one swizzle and
// one convert per 4 weights), multiply them by plain loads of 4 activations shared by the 4
// channels, and sum lanes once per tile (per weight ≈ 1 swizzle/4 + 1 convert/4 + 1 FMA/4: the
// conversion, not memory, bounds it); bits = 8 keep lane j = channel 4t+j and broadcast a[k].
// GEMV tile loop, measured same-process (relaxed, 1×4096×4096, ~47 x64 instructions per unit, all
// 15 xmm registers live; the 4-bit copy now runs in two passes, ≈39 — tileRowF32_nib4_simd): it is
// bound by instruction count and the FMA chains (two FMAs a chain per unit ≈ 8 cycles), not memory
// (the 256×256 case runs at the same weights/s). Slower: the exponent trick or(0x4B000000)+fsub
// instead of the convert (+1 op per 4 weights, 1.25×), mul+fma+add to split the FMA chains (1.1×),
// lane sums per block instead of 4 scaled accumulators (1.06×), 2× unrolling (1.1×, spills), 8
// accumulators (lo and hi halves apart: spills, 1.24×), lanes along channels with a shift/and per
// weight byte, 8 broadcast activations and 8 one-FMA-deep chains (1.35×: V8 forms each broadcast's
// address with its own lea), touching weights ahead to prefetch — one line per block 0.5–4 KiB
// ahead, 3 lines of the next page, or a burst over the next tiles (1.0–1.27×: a touch that misses
// stalls retirement like the demand miss it replaces). About equal: hoisting the 2-bit branch out
// of the loop, reordering the loads. Right after another runtime's run (caches and TLB cold) a call
// takes ≈1.35× its hot time: the 10.5 MiB of weights, scales and zero points stream in without
// overlapping the arithmetic.

import { NIB_MASKS, SEL0, SEL1, SEL2, SEL3, pick, qwAt, unitNib, wq, zpVec } from './qw_units';

// @ts-ignore: decorator
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** f32((q − zp)·2^24) of channel j for k = 0..3 of a half holding the signed bytes q − zp. */
// @ts-ignore: decorator
@inline function wk24(v: v128, spread: v128): v128 {
  return f32x4.convert_i32x4_s(pick(v, spread));
}

/** Σ of the lanes of p0..p3 as one vector: lane j = p_j[0] + p_j[1] + p_j[2] + p_j[3]. */
// @ts-ignore: decorator
@inline function sumLanes4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const e01 = f32x4.add(v128.shuffle<f32>(p0, p1, 0, 4, 1, 5), v128.shuffle<f32>(p0, p1, 2, 6, 3, 7));
  const e23 = f32x4.add(v128.shuffle<f32>(p2, p3, 0, 4, 1, 5), v128.shuffle<f32>(p2, p3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(e01, e23, 0, 1, 4, 5), v128.shuffle<f32>(e01, e23, 2, 3, 6, 7));
}

/**
 * One row × one tile (4 channels), bits ≤ 4: returns the 4 sums before bias. The row `a` must be
 * pre-scaled by 2^−24 (weights come out as (q − zp)·2^24; q − zp is formed once per 16 bytes
 * in i8). Lanes run along k: p_j holds channel j's partial sums for k ≡ 0..3 (mod 4), so each
 * activation vector is one plain load shared by the 4 channels; c_j += p_j·scale[j, b] per
 * block, and the lanes of c_j are summed once at the end.
 */
export function tileRowF32_nib_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, SB: usize): v128 {
  return tileRowNib(a, pw, ps, pz, kb, upb, SB, false);
}

/**
 * tileRowF32_nib_simd for 4-bit units, in two passes over a block's units: the low nibbles
 * (k 0..3 of every unit, against a[8u..8u+3]), then the high nibbles. Each pass adds one FMA
 * per chain per unit and needs one activation vector and one nibble vector live, so V8 keeps
 * every value in a register and emits each FMA in place (vfmadd231ps, no copies): ≈39 x64
 * instructions a unit against ≈45 in one pass. Same sums, other order. Measured (interleaved
 * A/B, relaxed): 0.95× the time of the one-pass loop with SB constant on 1×4096×4096 (0.96–
 * 0.97× at block sizes 16 and 128, equal on 1×256×256), which was itself 0.97–0.99× the shared
 * copy (no unit-size branch in the loop). Slower: each pass unrolled by two units (1.06×: two
 * FMAs a chain per iteration, latency-bound again), the high nibbles into 4 more accumulators
 * (1.08×, spills), scaling the low pass's sums into c_j before the high pass (1.08×). The 2-bit
 * units keep one pass (tileRowF32_nib_simd): in two, unitNib spreads each unit twice (1.14×);
 * a copy of the one pass with SB constant ran 1.05× slower.
 */
export function tileRowF32_nib4_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32): v128 {
  return tileRowNib(a, pw, ps, pz, kb, upb, 16, true);
}

/** The tile loop of tileRowF32_nib_simd (twoPass false) and tileRowF32_nib4_simd (SB 16, twoPass true). */
// @ts-ignore: decorator
@inline function tileRowNib(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, SB: usize, twoPass: bool): v128 {
  const s0 = v128.load(NIB_MASKS), s1 = v128.load(NIB_MASKS, 16), s2 = v128.load(NIB_MASKS, 32), s3 = v128.load(NIB_MASKS, 48);
  const m15 = v128.load(NIB_MASKS, 64), zpSpread = v128.load(NIB_MASKS, 80);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let pa = a;
  for (let b = 0; b < kb; b++) {
    const zpb = pick(v128.load32_zero(pz + (<usize>b << 2)), zpSpread);
    let p0 = f32x4.splat(0), p1 = f32x4.splat(0), p2 = f32x4.splat(0), p3 = f32x4.splat(0);
    if (twoPass) {
      let q = pw, qa = pa;
      for (let u = 0; u < upb; u++) {
        const lo = i8x16.sub(v128.and(v128.load(q), m15), zpb);
        const a0 = v128.load(qa);
        p0 = fma(wk24(lo, s0), a0, p0);
        p1 = fma(wk24(lo, s1), a0, p1);
        p2 = fma(wk24(lo, s2), a0, p2);
        p3 = fma(wk24(lo, s3), a0, p3);
        q += SB;
        qa += 32;
      }
      for (let u = 0; u < upb; u++) {
        const hi = i8x16.sub(v128.and(i16x8.shr_u(v128.load(pw), 4), m15), zpb);
        const a1 = v128.load(pa, 16);
        p0 = fma(wk24(hi, s0), a1, p0);
        p1 = fma(wk24(hi, s1), a1, p1);
        p2 = fma(wk24(hi, s2), a1, p2);
        p3 = fma(wk24(hi, s3), a1, p3);
        pw += SB;
        pa += 32;
      }
    } else {
      for (let u = 0; u < upb; u++) {
        const w = unitNib(pw, SB);
        const a0 = v128.load(pa), a1 = v128.load(pa, 16);
        const lo = i8x16.sub(v128.and(w, m15), zpb);
        const hi = i8x16.sub(v128.and(i16x8.shr_u(w, 4), m15), zpb);
        p0 = fma(wk24(lo, s0), a0, p0);
        p1 = fma(wk24(lo, s1), a0, p1);
        p2 = fma(wk24(lo, s2), a0, p2);
        p3 = fma(wk24(lo, s3), a0, p3);
        p0 = fma(wk24(hi, s0), a1, p0);
        p1 = fma(wk24(hi, s1), a1, p1);
        p2 = fma(wk24(hi, s2), a1, p2);
        p3 = fma(wk24(hi, s3), a1, p3);
        pw += SB;
        pa += 32;
      }
    }
    const sp = ps + (<usize>b << 4);
    c0 = fma(p0, v128.load32_splat(sp), c0);
    c1 = fma(p1, v128.load32_splat(sp, 4), c1);
    c2 = fma(p2, v128.load32_splat(sp, 8), c2);
    c3 = fma(p3, v128.load32_splat(sp, 12), c3);
  }
  return sumLanes4(c0, c1, c2, c3);
}

/** One row × one tile (4 channels), bits = 8: returns the 4 sums before bias. */
export function tileRowF32_8_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32): v128 {
  let acc = f32x4.splat(0);
  let pa = a;
  for (let b = 0; b < kb; b++) {
    let p0 = f32x4.splat(0), p1 = f32x4.splat(0), p2 = f32x4.splat(0), p3 = f32x4.splat(0);
    const zp = zpVec(pz + (<usize>b << 2));
    for (let u = 0; u < upb; u++) {
      const lo = v128.load(pw);
      p0 = fma(wq(lo, SEL0(), zp), v128.load32_splat(pa, 0), p0);
      p1 = fma(wq(lo, SEL1(), zp), v128.load32_splat(pa, 4), p1);
      p2 = fma(wq(lo, SEL2(), zp), v128.load32_splat(pa, 8), p2);
      p3 = fma(wq(lo, SEL3(), zp), v128.load32_splat(pa, 12), p3);
      const hi = v128.load(pw, 16);
      p0 = fma(wq(hi, SEL0(), zp), v128.load32_splat(pa, 16), p0);
      p1 = fma(wq(hi, SEL1(), zp), v128.load32_splat(pa, 20), p1);
      p2 = fma(wq(hi, SEL2(), zp), v128.load32_splat(pa, 24), p2);
      p3 = fma(wq(hi, SEL3(), zp), v128.load32_splat(pa, 28), p3);
      pw += 32;
      pa += 32;
    }
    const part = f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3));
    acc = fma(part, v128.load(ps + (<usize>b << 4)), acc);
  }
  return acc;
}

/** Portable tier of tileRowF32_nib_simd / tileRowF32_8_simd: channel j of the tile. */
export function tileRowF32_scalar(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, bits: i32, SB: usize, j: i32): f32 {
  let acc: f32 = 0;
  let pa = a;
  for (let b = 0; b < kb; b++) {
    const zp = <i32>load<u8>(pz + (<usize>b << 2) + <usize>j);
    let part: f32 = 0;
    for (let u = 0; u < upb; u++) {
      for (let i = 0; i < 8; i++) part += <f32>(qwAt(pw, j, i, bits) - zp) * load<f32>(pa + (<usize>i << 2));
      pw += SB;
      pa += 32;
    }
    acc += part * load<f32>(ps + (<usize>b << 4) + (<usize>j << 2));
  }
  return acc;
}
