// The epilogue of the binary kernels: what happens to an output value when a tile is stored.
// It is data — an i32 descriptor the host writes once per plan step:
//
//   [0] kind   0 BEPI_I32:  store the exact dot product as i32
//              1 BEPI_F32:  y = f32(dot)·scale[ch] + bias[ch], then act; store f32
//              2 BEPI_SIGN: store sign(y) straight into a bit row (set bit = −1, bitpack.ts)
//   [1] scale  f32 per output channel, or 0 for 1          (kind 1; folded BatchNorm is this form)
//   [2] bias   f32 per output channel, or 0 for 0          (kind 1)
//   [3] act    0 none, 1 relu (max(y, 0)), 2 clamp (min(max(y, lo), hi))   (kind 1)
//   [4] [5]    lo, hi as f32 bit patterns
//   [6] thr    i32 pairs (t, d) per output channel (kind 2): +1 iff d·dot ≥ t, else −1.
//
// "dot" is Σ a·w over the ±1 values (for binary × int8/f32, over the int8/f32 values). ch is the
// global output channel. Exact float operations, in this order, on every build: the product
// f32(dot)·scale rounded to f32, then + bias rounded to f32 (no fused multiply-add). f32(dot) is
// exact for |dot| < 2^24.
//
// The SIGN output is sign(f32 epilogue) with sign(0) = +1, computed exactly on the integer dot:
// y(dot) is monotone in dot (rounding is monotone), so {dot : y ≥ 0} is {dot ≥ t} when the scale
// is positive and {dot ≤ −t} — written d = −1 — when it is negative. bsign_thresholds derives
// (t, d) from a kind-1 descriptor by evaluating the f32 epilogue (act included) at every dot in
// [−K, K], and refuses (returns 1) if the set is not of that form (e.g. a NaN scale), so a chain
// of binary layers equals "f32 epilogue, then pack_signs" bit for bit.

import { desc } from './common';
import { putBit } from './bitpack';

export const BEPI_I32: i32 = 0;
export const BEPI_F32: i32 = 1;
export const BEPI_SIGN: i32 = 2;

// The descriptor, read once per call (kernels are not re-entrant).
let kind: i32 = 0;
let scale: usize = 0;
let bias: usize = 0;
let act: i32 = 0;
let lo: f32 = 0;
let hi: f32 = 0;
let thr: usize = 0;

/** Reads a binary epilogue descriptor; returns 1 if it is malformed. */
export function setBinaryEpilogue(d: usize): i32 {
  kind = desc(d, 0);
  if (kind < BEPI_I32 || kind > BEPI_SIGN) return 1;
  scale = <usize>desc(d, 1);
  bias = <usize>desc(d, 2);
  act = desc(d, 3);
  if (act < 0 || act > 2) return 1;
  lo = reinterpret<f32>(desc(d, 4));
  hi = reinterpret<f32>(desc(d, 5));
  thr = <usize>desc(d, 6);
  if (kind == BEPI_SIGN && thr == 0) return 1;
  return 0;
}

export function epilogueKind(): i32 {
  return kind;
}

/** The f32 epilogue of one value of output channel ch. */
// @ts-ignore: decorator
@inline export function epiF32(v: f32, ch: i32): f32 {
  let y = v;
  if (scale) y = y * load<f32>(scale + (<usize>ch << 2));
  if (bias) y = y + load<f32>(bias + (<usize>ch << 2));
  if (act == 1) y = max<f32>(y, 0);
  else if (act == 2) y = min<f32>(max<f32>(y, lo), hi);
  return y;
}

/** Whether the SIGN epilogue maps `dot` of channel ch to −1. */
// @ts-ignore: decorator
@inline export function signIsNegative(dot: i32, ch: i32): bool {
  const p = thr + (<usize>ch << 3);
  return (load<i32>(p, 4) < 0 ? -dot : dot) < load<i32>(p);
}

/**
 * Stores an integer dot of row r, column n (channel ch). i32/f32 outputs: element at
 * c + (r·crs + n·ccs)·4. SIGN output: bit cbit + n of the bit row at c + r·crs (bytes).
 */
// @ts-ignore: decorator
@inline export function storeDot(c: usize, crs: i32, ccs: i32, cbit: i32, r: i32, n: i32, ch: i32, dot: i32): void {
  if (kind == BEPI_SIGN) {
    putBit(c + <usize>r * <usize>crs, cbit + n, signIsNegative(dot, ch));
    return;
  }
  const at = c + ((<usize>r * <usize>crs + <usize>n * <usize>ccs) << 2);
  if (kind == BEPI_I32) store<i32>(at, dot);
  else store<f32>(at, epiF32(<f32>dot, ch));
}

/** The scales of channels ch..ch+3 for epi4 (1 when there are none: y·1 = y exactly). */
// @ts-ignore: decorator
@inline export function scale4(ch: i32): v128 {
  return scale ? v128.load(scale + (<usize>ch << 2)) : f32x4.splat(1);
}

/** The biases of channels ch..ch+3 for epi4 (−0 when there are none: y + −0 = y exactly, −0 too). */
// @ts-ignore: decorator
@inline export function bias4(ch: i32): v128 {
  return bias ? v128.load(bias + (<usize>ch << 2)) : f32x4.splat(-0.0);
}

/** The i32 (kind I32) or f32 (kind F32) outputs of 4 dots, s and b from scale4 / bias4. */
// @ts-ignore: decorator
@inline function epi4(dots: v128, s: v128, b: v128): v128 {
  if (kind != BEPI_F32) return dots;
  let y = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(dots), s), b);
  if (act == 1) y = f32x4.max(y, f32x4.splat(0));
  else if (act == 2) y = f32x4.min(f32x4.max(y, f32x4.splat(lo)), f32x4.splat(hi));
  return y;
}

/** storeDot (kind I32 / F32) of columns n..n+3 of row r from a vector of 4 dots (epi4's s, b). */
// @ts-ignore: decorator
@inline export function storeDots4(c: usize, crs: i32, ccs: i32, r: i32, n: i32, s: v128, b: v128, dots: v128): void {
  const y = epi4(dots, s, b);
  const at = c + ((<usize>r * <usize>crs + <usize>n * <usize>ccs) << 2);
  if (ccs == 1) {
    v128.store(at, y);
  } else {
    const step = <usize>ccs << 2;
    v128.store32_lane(at, y, 0);
    v128.store32_lane(at + step, y, 1);
    v128.store32_lane(at + 2 * step, y, 2);
    v128.store32_lane(at + 3 * step, y, 3);
  }
}

/**
 * storeDots4 of rows r..r+3 (d0..d3) into an i32/f32 output whose rows are contiguous (crs = 1,
 * the conv's NCHW): transposed, so each column's 4 rows go out as one vector.
 */
// @ts-ignore: decorator
@inline export function storeDots4x4T(c: usize, ccs: i32, r: i32, n: i32, s: v128, b: v128, d0: v128, d1: v128, d2: v128, d3: v128): void {
  const y0 = epi4(d0, s, b), y1 = epi4(d1, s, b), y2 = epi4(d2, s, b), y3 = epi4(d3, s, b);
  const t0 = v128.shuffle<i32>(y0, y1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(y0, y1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(y2, y3, 0, 4, 1, 5), t3 = v128.shuffle<i32>(y2, y3, 2, 6, 3, 7);
  const at = c + ((<usize>r + <usize>n * <usize>ccs) << 2);
  const step = <usize>ccs << 2;
  v128.store(at, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(at + step, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7));
  v128.store(at + 2 * step, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5));
  v128.store(at + 3 * step, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7));
}

/** The SIGN bits of 4 dots of channels ch..ch+3: bit i set (−1) iff d·dot < t. */
// @ts-ignore: decorator
@inline function signBits4(dots: v128, t: v128, d: v128): u32 {
  return <u32>i32x4.bitmask(i32x4.lt_s(i32x4.mul(dots, d), t));
}

/** The SIGN thresholds t of channels ch..ch+3 (storeSigns8). */
// @ts-ignore: decorator
@inline export function signT4(ch: i32): v128 {
  const p = thr + (<usize>ch << 3);
  return v128.shuffle<i32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6);
}

/** The SIGN directions d of channels ch..ch+3 (storeSigns8). */
// @ts-ignore: decorator
@inline export function signD4(ch: i32): v128 {
  const p = thr + (<usize>ch << 3);
  return v128.shuffle<i32>(v128.load(p), v128.load(p, 16), 1, 3, 5, 7);
}

/**
 * storeDot of kind SIGN for columns n..n+7 (dots lo, hi) of the bit row `row`, in one write;
 * t0, d0 / t1, d1: signT4, signD4 of the columns' first and last 4 channels.
 */
// @ts-ignore: decorator
@inline export function storeSigns8(row: usize, n: i32, lo: v128, hi: v128, t0: v128, d0: v128, t1: v128, d1: v128): void {
  putBits(row, n, signBits4(lo, t0, d0) | (signBits4(hi, t1, d1) << 4), 8);
}

/** Writes n ≤ 8 bits (bit i of `bits` = element k+i; set = −1) into a bit row. */
// @ts-ignore: decorator
@inline function putBits(row: usize, k: i32, bits: u32, n: i32): void {
  const mask: u32 = (<u32>1 << n) - 1;
  const p = row + (<usize>(k >> 5) << 2);
  const sh = k & 31;
  store<u32>(p, (load<u32>(p) & ~(mask << sh)) | (bits << sh));
  if (sh > 32 - n) {
    const q = p + 4;
    const up = 32 - sh;
    store<u32>(q, (load<u32>(q) & ~(mask >> up)) | (bits >> up));
  }
}

/**
 * SIGN thresholds of a kind-1 descriptor `d` for channels 0..N−1 and dots in [−K, K]: writes
 * the (t, d) pairs to `out` (N·8 bytes). Returns 1 if d is malformed or a channel's set
 * {dot : y(dot) ≥ 0} is not a threshold set (then the host must not fuse the sign).
 */
export function bsign_thresholds(d: usize, N: i32, K: i32, out: usize): i32 {
  if (setBinaryEpilogue(d) != 0 || kind != BEPI_F32 || K < 0) return 1;
  for (let ch = 0; ch < N; ch++) {
    let flips = 0;
    let first = -K - 1; // first dot where the answer differs from the one at −K
    const startPositive = !(epiF32(<f32>-K, ch) < 0);
    let prev = startPositive;
    for (let dot = -K + 1; dot <= K; dot++) {
      const pos = !(epiF32(<f32>dot, ch) < 0);
      if (pos != prev) {
        flips++;
        first = dot;
        prev = pos;
      }
    }
    if (flips > 1) return 1;
    const p = out + (<usize>ch << 3);
    if (flips == 0) {
      store<i32>(p, startPositive ? -K : K + 1);
      store<i32>(p, 1, 4);
    } else if (startPositive) {
      store<i32>(p, 1 - first); // +1 iff dot ≤ first − 1, i.e. −dot ≥ 1 − first
      store<i32>(p, -1, 4);
    } else {
      store<i32>(p, first);
      store<i32>(p, 1, 4);
    }
  }
  return 0;
}

/** Bytes of the header binary_epilogue_desc writes before its copies of the scales and biases. */
const BEPI_DESC_HEADER: usize = 32;

/**
 * Writes a self-contained kind-F32 descriptor at dst (BEPI_DESC_HEADER + 8·N bytes): the header,
 * then copies of the N scales (s, or none when 0) and N biases (b, or none when 0) it points to.
 * Self-contained because a plan keeps a buffer alive only while steps name it: the kernel step
 * names the descriptor, so what it points to lives inside it. Returns 1 for N < 1 or a bad act.
 */
export function binary_epilogue_desc(dst: usize, s: usize, b: usize, N: i32, a: i32, l: f32, h: f32): i32 {
  if (N < 1 || a < 0 || a > 2) return 1;
  const sCopy = dst + BEPI_DESC_HEADER;
  const bCopy = sCopy + (<usize>N << 2);
  if (s) memory.copy(sCopy, s, <usize>N << 2);
  if (b) memory.copy(bCopy, b, <usize>N << 2);
  store<i32>(dst, BEPI_F32);
  store<i32>(dst, s ? <i32>sCopy : 0, 4);
  store<i32>(dst, b ? <i32>bCopy : 0, 8);
  store<i32>(dst, a, 12);
  store<f32>(dst, l, 16);
  store<f32>(dst, h, 20);
  store<i32>(dst, 0, 24);
  return 0;
}

/**
 * Writes a self-contained kind-SIGN descriptor at dst (BEPI_DESC_HEADER + 8·N bytes): the
 * header, then a copy of the N (t, d) pairs at `pairs` (bsign_thresholds' output, or the host's
 * equal derivation). Self-contained for the reason given at binary_epilogue_desc.
 */
export function binary_sign_desc(dst: usize, pairs: usize, N: i32): i32 {
  if (N < 1) return 1;
  const copy = dst + BEPI_DESC_HEADER;
  memory.copy(copy, pairs, <usize>N << 3);
  store<i32>(dst, BEPI_SIGN);
  for (let i: usize = 4; i < 24; i += 4) store<i32>(dst + i, 0);
  store<i32>(dst, <i32>copy, 24);
  return 0;
}
