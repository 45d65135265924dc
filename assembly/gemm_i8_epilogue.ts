// The epilogue of the int8 GEMM: what happens to the exact i32 accumulator acc[m,n] when a
// tile is stored. It is data — an i32 descriptor the host writes once per plan step:
//
//   [0] kind   0: store acc as i32 (MatMulInteger, ConvInteger)
//              1: requantise to u8, 2: requantise to s8 (QLinearMatMul, QLinearConv)
//              3: dequantise to f32 (dynamic quantisation, DQ→MatMul)
//   [1] scale  f32 array: the multiplier (kinds 1, 2) or the scale (kind 3), element
//   [2] [3]    scale[m·[2] + n·[3]]: strides 0,0 scalar; 0,1 per column; 1,0 per row
//   [4] y_zp   output zero point (kinds 1, 2)
//   [5] bias   0 for none, else element bias[m·[6] + n·[7]] of an array that is
//              i32 for kinds 0, 1, 2 (scale sa·sb, zero point 0: added to the exact accumulator,
//              wrapping as the references do, before requantising — QLinearConv's / QGemm's B)
//              f32 for kind 3 (added after the scale)
//   [8] act    0 none, 1 relu (kind 3), 2 clamp to [lo, hi]
//   [9] [10]   lo, hi as f32 bit patterns; for kinds 1, 2 they are integers in the output's
//              quantised domain that narrow [qmin, qmax] (a ReLU or Clip before a QuantizeLinear
//              is exactly a clamp of the quantised value, QuantizeLinear being monotone)
//
// Exact float operations, in this order (every build gives the same bits; no fused multiply-add):
//   requantise: v = f32(acc + bias) * scale   (i32→f32 and the product rounded to nearest even)
//               r = nearest(v)                 (round half to even)
//               y = i32(clamp(r + f32(y_zp), qmin, qmax))   (qmin, qmax = 0, 255 or −128, 127)
//     which equals saturate(round_half_even(f32(acc)·scale) + y_zp) for every acc: r + y_zp is
//     exact below 2^24, and at or above it both sides saturate (a NaN scale stores 0, the
//     i32.trunc_sat result, on every build). The host computes scale (e.g.
//     a_scale·b_scale[n]/y_scale in f32) to match the reference it is judged against.
//   dequantise: y = f32(acc) * scale (+ bias), then relu (max(y, 0)) or clamp (min(max(y, lo), hi)).
// The SIMD requantisation computes the same bits with cheaper operations (requantFour): v is
// clamped to ±2^21 (beyond that both forms saturate), v + 1.5·2^23 lands in [2^23, 2^24) where
// the f32 grid is the integers, so that one addition is round-half-to-even and its bit pattern
// minus that of 1.5·2^23 is nearest(v) as an i32; then + y_zp, the clamp to [qmin, qmax] in
// integers (trunc of the f32 bounds gives the same result for any bound), NaN → 0 as trunc_sat
// gives, and saturating narrows to 8 bits.

import { desc } from './common';

export const EPI_I32: i32 = 0;
export const EPI_U8: i32 = 1;
export const EPI_S8: i32 = 2;
export const EPI_F32: i32 = 3;

// The descriptor, read once per call (kernels are not re-entrant).
let kind: i32 = 0;
let scale: usize = 0;
let scaleRs: i32 = 0;
let scaleCs: i32 = 0;
let yZp: f32 = 0;
let bias: usize = 0;
let biasRs: i32 = 0;
let biasCs: i32 = 0;
let act: i32 = 0;
let lo: f32 = 0;
let hi: f32 = 0;
let qmin: f32 = 0;
let qmax: f32 = 0;
// requantFour's form of the bounds: yZp and trunc(qmin), trunc(qmax) as i32; clampInt when they
// narrow the type's range (otherwise the saturating narrow is the clamp); intBounds false when a
// bound is NaN (then the f32 form runs).
let yZpInt: i32 = 0;
let qminInt: i32 = 0;
let qmaxInt: i32 = 0;
let clampInt = false;
let intBounds = false;
/**
 * requantFour's constants as vectors, written by setEpilogue (V8 rebuilds a v128 constant at
 * every use, three instructions each; a load is one): −2^21, 2^21, 1.5·2^23 (f32 lanes), then
 * bits(1.5·2^23) − y_zp, trunc(qmin), trunc(qmax) (i32 lanes).
 */
const RQ: usize = memory.data(96, 16);

/** Reads an epilogue descriptor; returns 1 if it is malformed. */
export function setEpilogue(d: usize): i32 {
  kind = desc(d, 0);
  if (kind < EPI_I32 || kind > EPI_F32) return 1;
  scale = <usize>desc(d, 1);
  scaleRs = desc(d, 2);
  scaleCs = desc(d, 3);
  yZp = <f32>desc(d, 4);
  bias = <usize>desc(d, 5);
  biasRs = desc(d, 6);
  biasCs = desc(d, 7);
  act = desc(d, 8);
  lo = reinterpret<f32>(desc(d, 9));
  hi = reinterpret<f32>(desc(d, 10));
  qmin = kind == EPI_U8 ? 0 : -128;
  qmax = kind == EPI_U8 ? 255 : 127;
  if (act == 2 && kind != EPI_F32) {
    qmin = max<f32>(qmin, lo);
    qmax = min<f32>(qmax, hi);
  }
  yZpInt = desc(d, 4);
  intBounds = !isNaN(qmin) && !isNaN(qmax);
  qminInt = <i32>qmin;
  qmaxInt = <i32>qmax;
  clampInt = kind == EPI_U8 ? qminInt > 0 || qmaxInt < 255 : qminInt > -128 || qmaxInt < 127;
  if (ASC_FEATURE_SIMD) {
    v128.store(RQ, f32x4.splat(-2097152), 0);
    v128.store(RQ, f32x4.splat(2097152), 16);
    v128.store(RQ, f32x4.splat(12582912), 32);
    v128.store(RQ, i32x4.splat(0x4b400000 - yZpInt), 48);
    v128.store(RQ, i32x4.splat(qminInt), 64);
    v128.store(RQ, i32x4.splat(qmaxInt), 80);
  }
  if (kind != EPI_I32 && scale == 0) return 1;
  return 0;
}

/** Bytes per output element of the current epilogue. */
export function outElemBytes(): i32 {
  return kind == EPI_U8 || kind == EPI_S8 ? 1 : 4;
}

/** Applies the epilogue to one accumulator and stores it at c (the scalar definition). */
export function storeOne(acc: i32, c: usize, m: i32, n: i32): void {
  if (bias && kind != EPI_F32) acc += load<i32>(bias + (<usize>(m * biasRs + n * biasCs) << 2));
  if (kind == EPI_I32) {
    store<i32>(c, acc);
    return;
  }
  const s = load<f32>(scale + (<usize>(m * scaleRs + n * scaleCs) << 2));
  const v = <f32>acc * s;
  if (kind == EPI_F32) {
    let y = v;
    if (bias) y += load<f32>(bias + (<usize>(m * biasRs + n * biasCs) << 2));
    if (act == 1) y = max<f32>(y, 0);
    else if (act == 2) y = min<f32>(max<f32>(y, lo), hi);
    store<f32>(c, y);
    return;
  }
  const q = <i32>min<f32>(max<f32>(nearest<f32>(v) + yZp, qmin), qmax);
  store<i8>(c, <i8>q);
}

const LANES: usize = memory.data(16, 16);

/** Four 32-bit lanes (f32 or i32) of a scale or bias array. */
// @ts-ignore: decorator
@inline function loadF4(p: usize, rs: i32, cs: i32, m: i32, n0: i32): v128 {
  const row = p + (<usize>(m * rs) << 2);
  if (cs == 1) return v128.load(row + (<usize>n0 << 2));
  if (cs == 0) return v128.load32_splat(row);
  for (let j = 0; j < 4; j++) store<f32>(LANES + (<usize>j << 2), load<f32>(row + (<usize>((n0 + j) * cs) << 2)));
  return v128.load(LANES);
}

/**
 * Stores the four i32 accumulators at `tile` (columns n0..n0+3 of row m) at c; only nv < 4 of
 * them when the tile is ragged (lane by lane, so no array is read past its end).
 */
export function storeFour(tile: usize, c: usize, m: i32, n0: i32, nv: i32): void {
  if (nv < 4) {
    const eb = <usize>outElemBytes();
    for (let j = 0; j < nv; j++) storeOne(load<i32>(tile + (<usize>j << 2)), c + <usize>j * eb, m, n0 + j);
    return;
  }
  let acc = v128.load(tile);
  if (bias && kind != EPI_F32) acc = i32x4.add(acc, loadF4(bias, biasRs, biasCs, m, n0));
  const sc = kind == EPI_I32 ? i32x4.splat(0) : loadF4(scale, scaleRs, scaleCs, m, n0);
  const bi = kind == EPI_F32 && bias ? loadF4(bias, biasRs, biasCs, m, n0) : f32x4.splat(0);
  applyFour(acc, sc, bi, c);
}

/**
 * Stores four consecutive outputs at c that share the descriptor index (m, n) — e.g. four
 * positions of one convolution output channel — from the i32 accumulators at `tile`.
 */
export function storeFourShared(tile: usize, c: usize, m: i32, n: i32, nv: i32): void {
  if (!ASC_FEATURE_SIMD || nv < 4) {
    const eb = <usize>outElemBytes();
    for (let j = 0; j < nv; j++) storeOne(load<i32>(tile + (<usize>j << 2)), c + <usize>j * eb, m, n);
    return;
  }
  storeFourSharedV(v128.load(tile), c, m, n);
}

/** storeFourShared of four accumulators in a vector (SIMD builds). */
// @ts-ignore: decorator
@inline export function storeFourSharedV(acc: v128, c: usize, m: i32, n: i32): void {
  const bAt = bias + (<usize>(m * biasRs + n * biasCs) << 2);
  if (bias && kind != EPI_F32) acc = i32x4.add(acc, v128.load32_splat(bAt));
  const sc = kind == EPI_I32 ? i32x4.splat(0) : v128.load32_splat(scale + (<usize>(m * scaleRs + n * scaleCs) << 2));
  const bi = kind == EPI_F32 && bias ? v128.load32_splat(bAt) : f32x4.splat(0);
  applyFour(acc, sc, bi, c);
}

/** The vector form of storeOne for four accumulators (i32 bias already added) with their scales sc and f32 biases bi. */
// @ts-ignore: decorator
@inline function applyFour(acc: v128, sc: v128, bi: v128, c: usize): void {
  if (kind == EPI_I32) {
    v128.store(c, acc);
    return;
  }
  let v = f32x4.mul(f32x4.convert_i32x4_s(acc), sc);
  if (kind == EPI_F32) {
    if (bias) v = f32x4.add(v, bi);
    if (act == 1) v = f32x4.max(v, f32x4.splat(0));
    else if (act == 2) v = f32x4.min(f32x4.max(v, f32x4.splat(lo)), f32x4.splat(hi));
    v128.store(c, v);
    return;
  }
  const w = i16x8.narrow_i32x4_s(requantFour(v), i32x4.splat(0));
  const b = kind == EPI_U8 ? i8x16.narrow_i16x8_u(w, w) : i8x16.narrow_i16x8_s(w, w);
  v128.store32_lane(c, b, 0);
}

/** round_half_even(v) + y_zp clamped to [qmin, qmax] as i32 lanes, as storeOne computes them. */
// @ts-ignore: decorator
@inline function requantFour(v: v128): v128 {
  if (!intBounds) {
    const r = f32x4.min(f32x4.max(f32x4.add(f32x4.nearest(v), f32x4.splat(yZp)), f32x4.splat(qmin)), f32x4.splat(qmax));
    return i32x4.trunc_sat_f32x4_s(r);
  }
  const vc = f32x4.pmin(f32x4.pmax(v, v128.load(RQ)), v128.load(RQ, 16));
  let q = i32x4.sub(f32x4.add(vc, v128.load(RQ, 32)), v128.load(RQ, 48));
  if (clampInt) q = i32x4.min_s(i32x4.max_s(q, v128.load(RQ, 64)), v128.load(RQ, 80));
  return v128.and(q, f32x4.eq(v, v));
}

/** Constant i (0..5) of RQ, for callers that keep them in registers across a tile (requantRegs). */
// @ts-ignore: decorator
@inline export function rqConst(i: i32): v128 {
  return v128.load(RQ + (<usize>i << 4));
}

/**
 * requantFour of f32(acc)·sc with the constants k0..k5 = rqConst(0..5), clamp always applied
 * (a clamp to the type's own range changes nothing); valid when lanesRequantise().
 */
// @ts-ignore: decorator
@inline export function requantRegs(acc: v128, sc: v128, k0: v128, k1: v128, k2: v128, k3: v128, k4: v128, k5: v128): v128 {
  const v = f32x4.mul(f32x4.convert_i32x4_s(acc), sc);
  const q = i32x4.sub(f32x4.add(f32x4.pmin(f32x4.pmax(v, k0), k1), k2), k3);
  return v128.and(i32x4.min_s(i32x4.max_s(q, k4), k5), f32x4.eq(v, v));
}

/**
 * Whether the 8-bit lane form below applies to the current descriptor: a u8/s8 output with
 * integer clamp bounds, scales and biases that do not depend on the row.
 */
export function lanesRequantise(): bool {
  return (kind == EPI_U8 || kind == EPI_S8) && intBounds && scaleRs == 0 && (!bias || biasRs == 0);
}

/** The descriptor's scales of columns n0..n0+3 as four f32 lanes (row-independent, see lanesRequantise). */
// @ts-ignore: decorator
@inline export function scaleLanes(n0: i32): v128 {
  return loadF4(scale, 0, scaleCs, 0, n0);
}

/** The descriptor's scale of (m, n), splat (8-bit kinds). */
// @ts-ignore: decorator
@inline export function scaleSplat(m: i32, n: i32): v128 {
  return v128.load32_splat(scale + (<usize>(m * scaleRs + n * scaleCs) << 2));
}

/** The descriptor's i32 bias of (m, n), 0 when it has none (kinds 0–2). */
// @ts-ignore: decorator
@inline export function biasOf(m: i32, n: i32): i32 {
  return bias ? load<i32>(bias + (<usize>(m * biasRs + n * biasCs) << 2)) : 0;
}

/** The descriptor's i32 biases of columns n0..n0+3 (zeros when it has none). */
// @ts-ignore: decorator
@inline export function biasLanes(n0: i32): v128 {
  return bias ? loadF4(bias, 0, biasCs, 0, n0) : i32x4.splat(0);
}

/** i32 lanes of requantRegs, 16 of them (four vectors in order), narrowed to the output's 8-bit type. */
// @ts-ignore: decorator
@inline export function narrowLanes(q0: v128, q1: v128, q2: v128, q3: v128): v128 {
  const w01 = i16x8.narrow_i32x4_s(q0, q1), w23 = i16x8.narrow_i32x4_s(q2, q3);
  return kind == EPI_U8 ? i8x16.narrow_i16x8_u(w01, w23) : i8x16.narrow_i16x8_s(w01, w23);
}

/**
 * Stores columns n0..n0+7 of row m at c from two vectors of i32 accumulators (columns n0..n0+3,
 * n0+4..n0+7): storeFour for both, with one 8-byte store for the 8-bit kinds.
 */
// @ts-ignore: decorator
@inline export function storeEight(a0: v128, a1: v128, c: usize, m: i32, n0: i32): void {
  if (bias && kind != EPI_F32) {
    a0 = i32x4.add(a0, loadF4(bias, biasRs, biasCs, m, n0));
    a1 = i32x4.add(a1, loadF4(bias, biasRs, biasCs, m, n0 + 4));
  }
  if (kind == EPI_I32) {
    v128.store(c, a0);
    v128.store(c, a1, 16);
    return;
  }
  const s0 = loadF4(scale, scaleRs, scaleCs, m, n0);
  const s1 = loadF4(scale, scaleRs, scaleCs, m, n0 + 4);
  if (kind == EPI_F32) {
    const b0 = bias ? loadF4(bias, biasRs, biasCs, m, n0) : f32x4.splat(0);
    const b1 = bias ? loadF4(bias, biasRs, biasCs, m, n0 + 4) : f32x4.splat(0);
    applyFour(a0, s0, b0, c);
    applyFour(a1, s1, b1, c + 16);
    return;
  }
  const q0 = requantFour(f32x4.mul(f32x4.convert_i32x4_s(a0), s0));
  const q1 = requantFour(f32x4.mul(f32x4.convert_i32x4_s(a1), s1));
  const w = i16x8.narrow_i32x4_s(q0, q1);
  v128.store64_lane(c, kind == EPI_U8 ? i8x16.narrow_i16x8_u(w, w) : i8x16.narrow_i16x8_s(w, w), 0);
}

/** Bytes of a descriptor written by gemm_i8_epilogue_desc with sCount scales and bCount biases. */
export const EPI_DESC_HEADER: usize = 48;

/**
 * Writes a self-contained epilogue descriptor at dst: the header (layout above) at dst, then a
 * copy of the sCount scales (f32) at dst + 48 and of the bCount biases (i32 or f32 per kind)
 * after them, which the header points to. The host forms descriptors this way because a plan
 * keeps a buffer alive only while steps name it: the GEMM step names the descriptor, so what the
 * descriptor points to must live inside it. sCount < 0: −sCount scales that stay alive for the
 * session (packed weights), pointed to where they are, not copied. Scale and bias strides are per
 * column (cs 1) or scalar (cs 0), row stride 0. bias = 0: none. Returns 1 for an unknown kind or
 * a bad count.
 */
export function gemm_i8_epilogue_desc(
  dst: usize, k: i32, s: usize, sCount: i32, zp: i32, b: usize, bCount: i32, a: i32, l: f32, h: f32,
): i32 {
  const inPlace = sCount < 0;
  if (inPlace) sCount = -sCount;
  if (k < EPI_I32 || k > EPI_F32 || bCount < 0 || (k != EPI_I32 && sCount < 1)) return 1;
  const sCopy = dst + EPI_DESC_HEADER;
  const bCopy = sCopy + (<usize>sCount << 2);
  if (!inPlace) memory.copy(sCopy, s, <usize>sCount << 2);
  if (b) memory.copy(bCopy, b, <usize>bCount << 2);
  store<i32>(dst, k);
  store<i32>(dst, inPlace ? <i32>s : <i32>sCopy, 4);
  store<i32>(dst, 0, 8);
  store<i32>(dst, sCount > 1 ? 1 : 0, 12);
  store<i32>(dst, zp, 16);
  store<i32>(dst, b ? <i32>bCopy : 0, 20);
  store<i32>(dst, 0, 24);
  store<i32>(dst, bCount > 1 ? 1 : 0, 28);
  store<i32>(dst, a, 32);
  store<f32>(dst, l, 36);
  store<f32>(dst, h, 40);
  return 0;
}
