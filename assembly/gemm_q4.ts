// Exact path of the low-bit weight GEMM: f32 activations, Y[M,N] = A[M,K]·Wᵀ (+ bias[n]),
// W[n,k] = (q − zp)·scale from the packed qw layout (qw_pack.ts), computed per block as
//   y[m,n] = Σ_b scale[n,b] · Σ_{k∈b} (q[n,k] − zp[n,b]) · a[m,k]   (+ bias[n])
// with q − zp exact integers converted to f32. Error bound (tested): every f32 sum of j terms is
// within (j−1)·u of its exact value relative to the sum of magnitudes, u = 2^−24, so
//   |y − y_exact| ≤ (K + 2)·u · Σ_k |scale[n,⌊k/bs⌋]·(q − zp)·a[m,k]|
// (the GEMM path multiplies by the scale before summing; the same bound holds).
//
// M < PANEL_MIN_ROWS (GEMV), per row and tile of 4 channels: bits ≤ 4 turn each unit (16 bytes,
// or 8 for 2-bit spread to the same nibble form by unitNib) into 8 f32x4 of (q − zp)·2^24 with lanes along k (one i8 subtract per 16 bytes, then one
// swizzle and one convert per 4 weights), multiply them by plain loads of 4 activations shared
// by the 4 channels, and sum lanes once per tile (per weight ≈ 1 swizzle/4 + 1 convert/4 +
// 1 FMA/4: the conversion, not memory, bounds it); bits = 8 keep lane j = channel 4t+j and
// broadcast a[k]. M ≥ PANEL_MIN_ROWS: each pair of tiles is dequantized into an 8-column f32
// panel ((q − zp)·scale) and multiplied by the packed activations with the f32 4×8 microkernel of
// gemm_f32_pp, so unpacking costs once per weight per call, not once per row.
// GEMV tile loop, measured same-process (relaxed, 1×4096×4096, ~47 x64 instructions per unit,
// all 15 xmm registers live; the 4-bit copy now runs in two passes, ≈39 — tileRowF32_nib4_simd):
// it is bound by instruction count and the FMA chains (two FMAs a chain per unit ≈ 8 cycles),
// not memory (the 256×256 case runs at the same weights/s). Slower: the exponent trick or(0x4B000000)+fsub
// instead of the convert (+1 op per 4 weights, 1.25×), mul+fma+add to split the FMA chains
// (1.1×), lane sums per block instead of 4 scaled accumulators (1.06×), 2× unrolling (1.1×,
// spills), 8 accumulators (lo and hi halves apart: spills, 1.24×), lanes along channels with a
// shift/and per weight byte, 8 broadcast activations and 8 one-FMA-deep chains (1.35×: V8 forms
// each broadcast's address with its own lea), touching weights ahead to prefetch — one line per
// block 0.5–4 KiB ahead, 3 lines of the next page, or a burst over the next tiles (1.0–1.27×: a
// touch that misses stalls retirement like the demand miss it replaces). About equal: hoisting
// the 2-bit branch out of the loop, reordering the loads. Right after another runtime's run
// (caches and TLB cold) a call takes ≈1.35× its hot time: the 10.5 MiB of weights, scales and
// zero points stream in without overlapping the arithmetic.

import { gemm_f32_pp, pack_a_f32 } from './gemm_f32';
import { QW_OK, qwCheck, qwUnitBytes } from './qw_pack';

// Byte selectors: lane j (an i32) takes byte 4j+i of a 16-byte half, zero-extended.
// @ts-ignore: decorator
@inline function SEL0(): v128 { return i8x16(0, -1, -1, -1, 4, -1, -1, -1, 8, -1, -1, -1, 12, -1, -1, -1); }
// @ts-ignore: decorator
@inline function SEL1(): v128 { return i8x16(1, -1, -1, -1, 5, -1, -1, -1, 9, -1, -1, -1, 13, -1, -1, -1); }
// @ts-ignore: decorator
@inline function SEL2(): v128 { return i8x16(2, -1, -1, -1, 6, -1, -1, -1, 10, -1, -1, -1, 14, -1, -1, -1); }
// @ts-ignore: decorator
@inline function SEL3(): v128 { return i8x16(3, -1, -1, -1, 7, -1, -1, -1, 11, -1, -1, -1, 15, -1, -1, -1); }

// @ts-ignore: decorator
@inline function pick(v: v128, sel: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(v, sel);
  return i8x16.swizzle(v, sel);
}

/** f32(q − zp) of 4 channels: byte i of each lane group of the half `v`. */
// @ts-ignore: decorator
@inline function wq(v: v128, sel: v128, zp: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.sub(pick(v, sel), zp));
}

// @ts-ignore: decorator
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
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
const NIB_MASKS: usize = memory.data<u8>([
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
function tileRowF32_nib_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, SB: usize): v128 {
  return tileRowNib(a, pw, ps, pz, kb, upb, SB);
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
 * units keep the shared copy (unitNib would spread each unit twice; with SB constant there
 * they ran 1.05× slower).
 */
function tileRowF32_nib4_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32): v128 {
  const s0 = v128.load(NIB_MASKS), s1 = v128.load(NIB_MASKS, 16), s2 = v128.load(NIB_MASKS, 32), s3 = v128.load(NIB_MASKS, 48);
  const m15 = v128.load(NIB_MASKS, 64), zpSpread = v128.load(NIB_MASKS, 80);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let pa = a;
  for (let b = 0; b < kb; b++) {
    const zpb = pick(v128.load32_zero(pz + (<usize>b << 2)), zpSpread);
    let p0 = f32x4.splat(0), p1 = f32x4.splat(0), p2 = f32x4.splat(0), p3 = f32x4.splat(0);
    let q = pw, qa = pa;
    for (let u = 0; u < upb; u++) {
      const lo = i8x16.sub(v128.and(v128.load(q), m15), zpb);
      const a0 = v128.load(qa);
      p0 = fma(wk24(lo, s0), a0, p0);
      p1 = fma(wk24(lo, s1), a0, p1);
      p2 = fma(wk24(lo, s2), a0, p2);
      p3 = fma(wk24(lo, s3), a0, p3);
      q += 16;
      qa += 32;
    }
    for (let u = 0; u < upb; u++) {
      const hi = i8x16.sub(v128.and(i16x8.shr_u(v128.load(pw), 4), m15), zpb);
      const a1 = v128.load(pa, 16);
      p0 = fma(wk24(hi, s0), a1, p0);
      p1 = fma(wk24(hi, s1), a1, p1);
      p2 = fma(wk24(hi, s2), a1, p2);
      p3 = fma(wk24(hi, s3), a1, p3);
      pw += 16;
      pa += 32;
    }
    const sp = ps + (<usize>b << 4);
    c0 = fma(p0, v128.load32_splat(sp), c0);
    c1 = fma(p1, v128.load32_splat(sp, 4), c1);
    c2 = fma(p2, v128.load32_splat(sp, 8), c2);
    c3 = fma(p3, v128.load32_splat(sp, 12), c3);
  }
  return sumLanes4(c0, c1, c2, c3);
}

// @ts-ignore: decorator
@inline function tileRowNib(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, SB: usize): v128 {
  const s0 = v128.load(NIB_MASKS), s1 = v128.load(NIB_MASKS, 16), s2 = v128.load(NIB_MASKS, 32), s3 = v128.load(NIB_MASKS, 48);
  const m15 = v128.load(NIB_MASKS, 64), zpSpread = v128.load(NIB_MASKS, 80);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let pa = a;
  for (let b = 0; b < kb; b++) {
    const zpb = pick(v128.load32_zero(pz + (<usize>b << 2)), zpSpread);
    let p0 = f32x4.splat(0), p1 = f32x4.splat(0), p2 = f32x4.splat(0), p3 = f32x4.splat(0);
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
    const sp = ps + (<usize>b << 4);
    c0 = fma(p0, v128.load32_splat(sp), c0);
    c1 = fma(p1, v128.load32_splat(sp, 4), c1);
    c2 = fma(p2, v128.load32_splat(sp, 8), c2);
    c3 = fma(p3, v128.load32_splat(sp, 12), c3);
  }
  return sumLanes4(c0, c1, c2, c3);
}

/** One row × one tile (4 channels), bits = 8: returns the 4 sums before bias. */
function tileRowF32_8_simd(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32): v128 {
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
function tileRowF32_scalar(a: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, bits: i32, SB: usize, j: i32): f32 {
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

/** Rows from which dequantizing panels once beats converting the weights per row (measured: 3). */
const PANEL_MIN_ROWS: i32 = 3;

/** Bytes of scratch qwgemm_f32 needs for M rows. */
export function qwgemm_f32_scratch_bytes(M: i32, K: i32, bs: i32): i32 {
  const Kp = ((K + bs - 1) / bs) * bs;
  if (M < PANEL_MIN_ROWS) return Kp << 2;
  return ((M + 3) >> 2) * (K << 4) + (Kp << 5);
}

/**
 * Y = A·Wᵀ (+ bias) with W packed by qw_pack; A is M×K f32 with row stride lda, Y has row
 * stride ldc, bias is f32[N] or 0. `scratch` holds qwgemm_f32_scratch_bytes(M, K, bs) bytes
 * (16-byte aligned). Returns QW_OK or a QW_BAD_* code.
 */
export function qwgemm_f32(
  a: usize, lda: i32, qw: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bits: i32, bs: i32,
  bias: usize, scratch: usize,
): i32 {
  const bad = qwCheck(N, K, bits, bs);
  if (bad != QW_OK) return bad;
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  const U = Kp >> 3;
  const T = (N + 3) >> 2;
  const SB = <usize>qwUnitBytes(bits);
  const tileBytes = <usize>U * SB;
  const scales = qw + <usize>T * tileBytes;
  const zps = scales + <usize>T * <usize>kb * 16;
  if (M >= PANEL_MIN_ROWS) {
    const ap = scratch;
    const panel = scratch + <usize>((M + 3) >> 2) * (<usize>K << 4);
    pack_a_f32(a, lda, ap, M, K);
    for (let n0 = 0; n0 < N; n0 += 8) {
      const t = n0 >> 2;
      dequantTile(qw + <usize>t * tileBytes, scales + <usize>t * <usize>kb * 16, zps + <usize>t * <usize>kb * 4, panel, kb, bs >> 3, bits, SB);
      if (t + 1 < T) {
        dequantTile(qw + <usize>(t + 1) * tileBytes, scales + <usize>(t + 1) * <usize>kb * 16, zps + <usize>(t + 1) * <usize>kb * 4,
          panel + 16, kb, bs >> 3, bits, SB);
      }
      gemm_f32_pp(ap, panel, c + (<usize>n0 << 2), ldc, M, min(8, N - n0), K, bias ? bias + (<usize>n0 << 2) : 0, bias ? 1 : 0, 0, 0, 0);
    }
    return QW_OK;
  }
  const apad = scratch;
  for (let m = 0; m < M; m++) {
    // The row is copied zero-padded to Kp so that whole units never read past K.
    const src = a + <usize>m * (<usize>lda << 2);
    memory.copy(apad, src, <usize>K << 2);
    memory.fill(apad + (<usize>K << 2), 0, <usize>(Kp - K) << 2);
    if (ASC_FEATURE_SIMD && bits <= 4) {
      // Exact power-of-two rescaling for tileRowF32_nib_simd (values below 2^−102 lose bits).
      for (let k = 0; k < K; k++) store<f32>(apad + (<usize>k << 2), load<f32>(apad + (<usize>k << 2)) * 5.9604644775390625e-8);
    }
    const y = c + <usize>m * (<usize>ldc << 2);
    for (let t = 0; t < T; t++) {
      const pw = qw + <usize>t * tileBytes;
      const ps = scales + <usize>t * <usize>kb * 16;
      const pz = zps + <usize>t * <usize>kb * 4;
      const nv = min(4, N - (t << 2));
      if (ASC_FEATURE_SIMD) {
        let v = bits == 8 ? tileRowF32_8_simd(apad, pw, ps, pz, kb, bs >> 3)
          : SB == 16 ? tileRowF32_nib4_simd(apad, pw, ps, pz, kb, bs >> 3)
          : tileRowF32_nib_simd(apad, pw, ps, pz, kb, bs >> 3, SB);
        if (nv == 4) {
          if (bias) v = f32x4.add(v, v128.load(bias + (<usize>t << 4)));
          v128.store(y + (<usize>t << 4), v);
        } else {
          v128.store(ROW, v);
          for (let j = 0; j < nv; j++) {
            let s = load<f32>(ROW + (<usize>j << 2));
            if (bias) s += load<f32>(bias + (<usize>((t << 2) + j) << 2));
            store<f32>(y + (<usize>((t << 2) + j) << 2), s);
          }
        }
      } else {
        for (let j = 0; j < nv; j++) {
          let v = tileRowF32_scalar(apad, pw, ps, pz, kb, bs >> 3, bits, SB, j);
          if (bias) v += load<f32>(bias + (<usize>((t << 2) + j) << 2));
          store<f32>(y + (<usize>((t << 2) + j) << 2), v);
        }
      }
    }
  }
  return QW_OK;
}

const ROW: usize = memory.data(16, 16);

/**
 * Writes (q − zp)·scale of one tile into 4 columns of an 8-wide f32 panel ([Kp][8], rows past K
 * hold padding·scale = 0 and are not read by gemm_f32_pp).
 */
function dequantTile(pw: usize, ps: usize, pz: usize, panel: usize, kb: i32, upb: i32, bits: i32, SB: usize): void {
  if (ASC_FEATURE_SIMD && bits <= 4) {
    dequantTile_nib_simd(pw, ps, pz, panel, kb, upb, SB);
    return;
  }
  let dst = panel;
  for (let b = 0; b < kb; b++) {
    if (ASC_FEATURE_SIMD) {
      const zp = zpVec(pz + (<usize>b << 2));
      const s = v128.load(ps + (<usize>b << 4));
      for (let u = 0; u < upb; u++) {
        const lo = unitLo(pw, bits);
        v128.store(dst, f32x4.mul(wq(lo, SEL0(), zp), s), 0);
        v128.store(dst, f32x4.mul(wq(lo, SEL1(), zp), s), 32);
        v128.store(dst, f32x4.mul(wq(lo, SEL2(), zp), s), 64);
        v128.store(dst, f32x4.mul(wq(lo, SEL3(), zp), s), 96);
        const hi = unitHi(pw, bits);
        v128.store(dst, f32x4.mul(wq(hi, SEL0(), zp), s), 128);
        v128.store(dst, f32x4.mul(wq(hi, SEL1(), zp), s), 160);
        v128.store(dst, f32x4.mul(wq(hi, SEL2(), zp), s), 192);
        v128.store(dst, f32x4.mul(wq(hi, SEL3(), zp), s), 224);
        pw += SB;
        dst += 256;
      }
    } else {
      for (let u = 0; u < upb; u++) {
        for (let i = 0; i < 8; i++) {
          for (let j = 0; j < 4; j++) {
            const zp = <i32>load<u8>(pz + (<usize>b << 2) + <usize>j);
            const s = load<f32>(ps + (<usize>b << 4) + (<usize>j << 2));
            store<f32>(dst + (<usize>((i << 3) + j) << 2), <f32>(qwAt(pw, j, i, bits) - zp) * s);
          }
        }
        pw += SB;
        dst += 256;
      }
    }
  }
}

/** dequantTile for bits ≤ 4, SIMD builds. */
function dequantTile_nib_simd(pw: usize, ps: usize, pz: usize, panel: usize, kb: i32, upb: i32, SB: usize): void {
  const t0 = v128.load(NIB_MASKS, 96), t1 = v128.load(NIB_MASKS, 112), t2 = v128.load(NIB_MASKS, 128), t3 = v128.load(NIB_MASKS, 144);
  const m15 = v128.load(NIB_MASKS, 64), zpSpread = v128.load(NIB_MASKS, 80);
  let dst = panel;
  for (let b = 0; b < kb; b++) {
    // As in tileRowF32_nib_simd, q − zp is formed once per 16 bytes in i8 and converted from
    // the top byte, (q − zp)·2^24; the scale takes the 2^−24 (exact unless scale < 2^−102).
    const zpb = pick(v128.load32_zero(pz + (<usize>b << 2)), zpSpread);
    const s = f32x4.mul(v128.load(ps + (<usize>b << 4)), f32x4.splat(5.9604644775390625e-8));
    for (let u = 0; u < upb; u++) {
      const w = unitNib(pw, SB);
      const lo = i8x16.sub(v128.and(w, m15), zpb);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t0)), s), 0);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t1)), s), 32);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t2)), s), 64);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(lo, t3)), s), 96);
      const hi = i8x16.sub(v128.and(i16x8.shr_u(w, 4), m15), zpb);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t0)), s), 128);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t1)), s), 160);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t2)), s), 192);
      v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(pick(hi, t3)), s), 224);
      pw += SB;
      dst += 256;
    }
  }
}

/**
 * Scalar reference on the plain layout: q u8 [N][K] (unsigned), scale f32 [N][kb], zp u8
 * [N][kb]; y[m,n] = Σ_b scale·Σ_{k∈b, k<K} (q − zp)·a (+ bias[n]), summed in k order.
 */
export function qwgemm_f32__ref(
  a: usize, lda: i32, q: usize, scale: usize, zp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bs: i32, bias: usize,
): void {
  const kb = (K + bs - 1) / bs;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc: f32 = 0;
      for (let b = 0; b < kb; b++) {
        const z = <i32>load<u8>(zp + <usize>n * <usize>kb + <usize>b);
        let part: f32 = 0;
        for (let k = b * bs; k < min(K, (b + 1) * bs); k++) {
          part += <f32>(<i32>load<u8>(q + <usize>n * <usize>K + <usize>k) - z) * load<f32>(a + ((<usize>m * <usize>lda + <usize>k) << 2));
        }
        acc += part * load<f32>(scale + ((<usize>n * <usize>kb + <usize>b) << 2));
      }
      if (bias) acc += load<f32>(bias + (<usize>n << 2));
      store<f32>(c + ((<usize>m * <usize>ldc + <usize>n) << 2), acc);
    }
  }
}
