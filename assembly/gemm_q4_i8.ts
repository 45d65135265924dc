// Int8-activation path of the low-bit weight GEMM (onnxruntime's accuracy_level = 4 style).
//
// Activations are quantized per row, symmetric (quantize_rows_i8):
//   s[m] = max_k |a[m,k]| / 127 (f32 division); aq[m,k] = clamp(round_half_even(a[m,k] / s[m]),
//   −127, 127) with f32 division (0 when the row is all zero, NaN lanes give 0 and s = NaN).
// aq rows are stored with stride Kp = ⌈K/bs⌉·bs, zero-padded, and asum[m,b] = Σ_{k∈b} aq[m,k].
// Then, with exact i32 block dots (|Σ q·aq| ≤ bs·255·127 < 2^31 for bs ≤ 65536):
//   d[m,n,b] = Σ_{k∈b} (q[n,k] − zp[n,b])·aq[m,k] = Σ q·aq − zp·asum[m,b]
//   acc = 0; for b in order: acc = acc + f32(d)·scale[n,b]        (f32 ops, each rounded)
//   y[m,n] = acc·s[m] (+ bias[n])
// Every build performs exactly these f32 operations (no fused multiply-add), so all builds and the
// reference agree bit for bit given the same aq, s and asum.
//
// Inner products: relaxed builds use i16x8.relaxed_dot_i8x16_i7x16_s with the weights as the
// 7-bit operand (nibbles 0..15 are in 0..127; 8-bit weights are split into q & 127 and q >> 7),
// then i32x4.extadd_pairwise_i16x8_s (not relaxed_dot_add: Node 20's baseline tier gets it
// wrong). In a unit each i32 lane is one output channel, so the four bytes of a lane meet a
// load32_splat of four activations and no horizontal sums are needed. simd128 widens both sides
// to i16 and uses i32x4.dot_i16x8_s. 4-bit GEMMs take rows in blocks of 4 so that each weight
// unit is unpacked once per 4 rows (gemm_q4_i8_rows.ts); in the relaxed build the remaining rows
// go through tile pairs that share the activation broadcasts.

import { QW_OK, qwCheck, qwUnitBytes } from './qw_pack';
import { qwAt, unitHi, unitLo, unitNib, zpVec } from './qw_units';
import { dot7, QUAD, tileQuadRowI8_relaxed4, tileQuadRowI8_simd4 } from './gemm_q4_i8_rows';

/**
 * Quantizes M rows of K floats (row stride lda) to int8 as described above: aq [M][Kp] i8,
 * ascale [M] f32, asum [M][kb] i32, Kp = ⌈K/bs⌉·bs. Returns QW_OK or QW_BAD_BLOCK.
 */
export function quantize_rows_i8(a: usize, lda: i32, M: i32, K: i32, bs: i32, aq: usize, ascale: usize, asum: usize): i32 {
  const bad = qwCheck(1, K, 4, bs);
  if (bad != QW_OK) return bad;
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  for (let m = 0; m < M; m++) {
    const src = a + <usize>m * (<usize>lda << 2);
    const dst = aq + <usize>m * <usize>Kp;
    let amax: f32 = 0;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      let vmax = f32x4.splat(0);
      for (; k + 4 <= K; k += 4) vmax = f32x4.max(vmax, f32x4.abs(v128.load(src + (<usize>k << 2))));
      amax = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
    }
    for (; k < K; k++) amax = max(amax, abs(load<f32>(src + (<usize>k << 2))));
    const s: f32 = amax / 127;
    store<f32>(ascale + (<usize>m << 2), s);
    memory.fill(dst, 0, <usize>Kp);
    if (amax == 0) {
      memory.fill(asum + (<usize>m * <usize>kb << 2), 0, <usize>kb << 2);
      continue;
    }
    k = 0;
    if (ASC_FEATURE_SIMD) {
      const sv = f32x4.splat(s);
      for (; k + 16 <= K; k += 16) {
        const p = src + (<usize>k << 2);
        const q0 = qv(v128.load(p), sv), q1 = qv(v128.load(p, 16), sv);
        const q2 = qv(v128.load(p, 32), sv), q3 = qv(v128.load(p, 48), sv);
        v128.store(dst + <usize>k, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      }
    }
    for (; k < K; k++) {
      let q = min<f32>(max<f32>(nearest<f32>(load<f32>(src + (<usize>k << 2)) / s), -127), 127);
      if (q != q) q = 0;
      store<i8>(dst + <usize>k, <i8>(<i32>q));
    }
    for (let b = 0; b < kb; b++) {
      let sum = 0;
      for (let j = b * bs; j < (b + 1) * bs; j++) sum += <i32>load<i8>(dst + <usize>j);
      store<i32>(asum + ((<usize>m * <usize>kb + <usize>b) << 2), sum);
    }
  }
  return QW_OK;
}

/** pack_rows_i8's code for an activation whose a − zp is outside int8. */
export const QW_BAD_VALUE: i32 = 5;

/**
 * Activations already integers (quantized by the model, e.g. a QONNX Quant): M rows of K int8
 * (aSigned) or uint8 a with one zero point zp, written as quantize_rows_i8 writes its output —
 * aq[m,k] = a[m,k] − zp (row stride Kp, zero-padded), asum[m,b] — for qwgemm_i8 with ascale[m] the
 * activations' scale. Returns QW_OK, QW_BAD_BLOCK, or QW_BAD_VALUE when some a − zp is outside
 * [−128, 127] (aq would not hold it).
 */
export function pack_rows_i8(a: usize, aSigned: i32, zp: i32, M: i32, K: i32, bs: i32, aq: usize, asum: usize): i32 {
  const bad = qwCheck(1, K, 4, bs);
  if (bad != QW_OK) return bad;
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  for (let m = 0; m < M; m++) {
    const src = a + <usize>m * <usize>K;
    const dst = aq + <usize>m * <usize>Kp;
    for (let b = 0; b < kb; b++) {
      let sum = 0;
      for (let k = b * bs; k < min(K, (b + 1) * bs); k++) {
        const v = (aSigned ? <i32>load<i8>(src + <usize>k) : <i32>load<u8>(src + <usize>k)) - zp;
        if (v < -128 || v > 127) return QW_BAD_VALUE;
        store<i8>(dst + <usize>k, <i8>v);
        sum += v;
      }
      store<i32>(asum + ((<usize>m * <usize>kb + <usize>b) << 2), sum);
    }
    if (Kp > K) memory.fill(dst + <usize>K, 0, <usize>(Kp - K));
  }
  return QW_OK;
}

/** Four activations quantized: round half to even, clamp to ±127, NaN → 0 (trunc_sat). */
// @ts-ignore: decorator
@inline function qv(x: v128, s: v128): v128 {
  const r = f32x4.nearest(f32x4.div(x, s));
  return i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.max(r, f32x4.splat(-127)), f32x4.splat(127)));
}

/** d per channel of one tile for one block, relaxed build, bits ≤ 4 (upb is even: bs % 16 == 0). */
// @ts-ignore: decorator
@inline function blockDot4_relaxed(pa: usize, pw: usize, upb: i32, SB: usize): v128 {
  let blk = i32x4.splat(0);
  const m15 = i8x16.splat(15);
  let u = 0;
  while (u < upb) {
    // i16 lanes take 4 products of ≤ 127·15 per unit: 4 units stay ≤ 30480 < 2^15.
    const end = min(upb, u + 4);
    let s = i16x8.splat(0);
    for (; u < end; u += 2) {
      const w0 = unitNib(pw, SB), w1 = unitNib(pw + SB, SB);
      s = i16x8.add(s, dot7(v128.load32_splat(pa), v128.and(w0, m15)));
      s = i16x8.add(s, dot7(v128.load32_splat(pa, 4), v128.and(i16x8.shr_u(w0, 4), m15)));
      s = i16x8.add(s, dot7(v128.load32_splat(pa, 8), v128.and(w1, m15)));
      s = i16x8.add(s, dot7(v128.load32_splat(pa, 12), v128.and(i16x8.shr_u(w1, 4), m15)));
      pw += SB << 1;
      pa += 16;
    }
    blk = i32x4.add(blk, i32x4.extadd_pairwise_i16x8_s(s));
  }
  return blk;
}

/** d per channel of one tile for one block, relaxed build, bits = 8 (q = (q & 127) + 128·(q >> 7)). */
// @ts-ignore: decorator
@inline function blockDot8_relaxed(pa: usize, pw: usize, upb: i32): v128 {
  let low = i32x4.splat(0);
  let top = i16x8.splat(0); // a lane gains ≤ 4·127 per unit: flushed to i32 every 32 units
  let topw = i32x4.splat(0);
  for (let u = 0; u < upb; u++) {
    const lo = v128.load(pw), hi = v128.load(pw, 16);
    const x0 = v128.load32_splat(pa), x1 = v128.load32_splat(pa, 4);
    low = i32x4.add(low, i32x4.extadd_pairwise_i16x8_s(dot7(x0, v128.and(lo, i8x16.splat(127)))));
    low = i32x4.add(low, i32x4.extadd_pairwise_i16x8_s(dot7(x1, v128.and(hi, i8x16.splat(127)))));
    top = i16x8.add(top, i16x8.add(dot7(x0, i8x16.shr_u(lo, 7)), dot7(x1, i8x16.shr_u(hi, 7))));
    if ((u & 31) == 31) {
      topw = i32x4.add(topw, i32x4.extadd_pairwise_i16x8_s(top));
      top = i16x8.splat(0);
    }
    pw += 32;
    pa += 8;
  }
  topw = i32x4.add(topw, i32x4.extadd_pairwise_i16x8_s(top));
  return i32x4.add(low, i32x4.shl(topw, 7));
}

/** d per channel of one tile for one block, simd128 build, any bits: widen to i16, dot_i16x8. */
// @ts-ignore: decorator
@inline function blockDot_simd(pa: usize, pw: usize, upb: i32, bits: i32, SB: usize): v128 {
  let p01 = i32x4.splat(0), p23 = i32x4.splat(0); // lanes: (ch0 k01, ch0 k23, ch1 k01, ch1 k23), ch2/ch3
  for (let u = 0; u < upb; u++) {
    const lo = unitLo(pw, bits), hi = unitHi(pw, bits);
    const x0 = i16x8.extend_low_i8x16_s(v128.load32_splat(pa));
    const x1 = i16x8.extend_low_i8x16_s(v128.load32_splat(pa, 4));
    p01 = i32x4.add(p01, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), x0));
    p23 = i32x4.add(p23, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), x0));
    p01 = i32x4.add(p01, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), x1));
    p23 = i32x4.add(p23, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), x1));
    pw += SB;
    pa += 8;
  }
  return i32x4.add(v128.shuffle<i32>(p01, p23, 0, 2, 4, 6), v128.shuffle<i32>(p01, p23, 1, 3, 5, 7));
}

/**
 * Two tiles × one row, relaxed build, bits ≤ 4: the activation broadcasts are shared by both
 * tiles. Same integer sums and f32 operations as tileRowI8_simd; results go to PAIR[0..7].
 */
function tilePairRowI8_relaxed4(pa: usize, pas: usize, pw0: usize, pw1: usize, ps: usize, pz: usize, kb: i32, upb: i32, SB: usize): void {
  let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
  const m15 = i8x16.splat(15);
  const ps1 = ps + (<usize>kb << 4), pz1 = pz + (<usize>kb << 2);
  for (let b = 0; b < kb; b++) {
    let blk0 = i32x4.splat(0), blk1 = i32x4.splat(0);
    let u = 0;
    while (u < upb) {
      const end = min(upb, u + 4); // ≤ 4 units per i16 sum (see blockDot4_relaxed)
      let s0 = i16x8.splat(0), s1 = i16x8.splat(0);
      for (; u < end; u += 2) {
        const x0 = v128.load32_splat(pa), x1 = v128.load32_splat(pa, 4);
        const x2 = v128.load32_splat(pa, 8), x3 = v128.load32_splat(pa, 12);
        let w = unitNib(pw0, SB);
        s0 = i16x8.add(s0, dot7(x0, v128.and(w, m15)));
        s0 = i16x8.add(s0, dot7(x1, v128.and(i16x8.shr_u(w, 4), m15)));
        w = unitNib(pw1, SB);
        s1 = i16x8.add(s1, dot7(x0, v128.and(w, m15)));
        s1 = i16x8.add(s1, dot7(x1, v128.and(i16x8.shr_u(w, 4), m15)));
        w = unitNib(pw0 + SB, SB);
        s0 = i16x8.add(s0, dot7(x2, v128.and(w, m15)));
        s0 = i16x8.add(s0, dot7(x3, v128.and(i16x8.shr_u(w, 4), m15)));
        w = unitNib(pw1 + SB, SB);
        s1 = i16x8.add(s1, dot7(x2, v128.and(w, m15)));
        s1 = i16x8.add(s1, dot7(x3, v128.and(i16x8.shr_u(w, 4), m15)));
        pw0 += SB << 1;
        pw1 += SB << 1;
        pa += 16;
      }
      blk0 = i32x4.add(blk0, i32x4.extadd_pairwise_i16x8_s(s0));
      blk1 = i32x4.add(blk1, i32x4.extadd_pairwise_i16x8_s(s1));
    }
    const as = v128.load32_splat(pas + (<usize>b << 2));
    const d0 = i32x4.sub(blk0, i32x4.mul(zpVec(pz + (<usize>b << 2)), as));
    const d1 = i32x4.sub(blk1, i32x4.mul(zpVec(pz1 + (<usize>b << 2)), as));
    acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(d0), v128.load(ps + (<usize>b << 4))));
    acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(d1), v128.load(ps1 + (<usize>b << 4))));
  }
  v128.store(PAIR, acc0);
  v128.store(PAIR, acc1, 16);
}

const PAIR: usize = memory.data(32, 16);


/** acc (before the row scale) of one row × one tile over all blocks. */
function tileRowI8_simd(pa: usize, pas: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, bits: i32, SB: usize): v128 {
  let acc = f32x4.splat(0);
  const blockW = <usize>upb * SB;
  const blockA = <usize>upb << 3;
  for (let b = 0; b < kb; b++) {
    let blk: v128;
    if (ASC_FEATURE_RELAXED_SIMD) blk = bits == 8 ? blockDot8_relaxed(pa, pw, upb) : blockDot4_relaxed(pa, pw, upb, SB);
    else blk = blockDot_simd(pa, pw, upb, bits, SB);
    const d = i32x4.sub(blk, i32x4.mul(zpVec(pz + (<usize>b << 2)), v128.load32_splat(pas + (<usize>b << 2))));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(d), v128.load(ps + (<usize>b << 4))));
    pw += blockW;
    pa += blockA;
  }
  return acc;
}

/** Portable tier: channel j of the tile, the same integer and f32 operations. */
function tileRowI8_scalar(pa: usize, pw: usize, ps: usize, pz: usize, kb: i32, upb: i32, bits: i32, SB: usize, j: i32): f32 {
  let acc: f32 = 0;
  for (let b = 0; b < kb; b++) {
    const zp = <i32>load<u8>(pz + (<usize>b << 2) + <usize>j);
    let d = 0;
    for (let u = 0; u < upb; u++) {
      for (let i = 0; i < 8; i++) d += (qwAt(pw, j, i, bits) - zp) * <i32>load<i8>(pa + <usize>i);
      pw += SB;
      pa += 8;
    }
    acc = acc + <f32>d * load<f32>(ps + (<usize>b << 4) + (<usize>j << 2));
  }
  return acc;
}

const ROW: usize = memory.data(16, 16);

/**
 * Y = (A quantized)·Wᵀ (+ bias) with aq/ascale/asum from quantize_rows_i8 (same K, bs) and W
 * packed by qw_pack; Y has row stride ldc; bias is f32[N] or 0. Returns QW_OK or QW_BAD_*.
 */
export function qwgemm_i8(
  aq: usize, ascale: usize, asum: usize, qw: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bits: i32, bs: i32, bias: usize,
): i32 {
  const bad = qwCheck(N, K, bits, bs);
  if (bad != QW_OK) return bad;
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  const upb = bs >> 3;
  const T = (N + 3) >> 2;
  const SB = <usize>qwUnitBytes(bits);
  const tileBytes = <usize>(Kp >> 3) * SB;
  const scales = qw + <usize>T * tileBytes;
  const zps = scales + <usize>T * <usize>kb * 16;
  let m0 = 0;
  if (ASC_FEATURE_SIMD && bits <= 4) {
    // Blocks of 4 rows: each weight unit is unpacked once per 4 rows.
    for (; m0 + 4 <= M; m0 += 4) {
      for (let t = 0; t < T; t++) {
        const n0 = t << 2;
        const nv = min(4, N - n0);
        const pa = aq + <usize>m0 * <usize>Kp, pas = asum + (<usize>m0 * <usize>kb << 2), pw = qw + <usize>t * tileBytes;
        const ps = scales + <usize>t * <usize>kb * 16, pz = zps + <usize>t * <usize>kb * 4;
        if (ASC_FEATURE_RELAXED_SIMD) tileQuadRowI8_relaxed4(pa, <usize>Kp, pas, kb, pw, ps, pz, upb, SB);
        else tileQuadRowI8_simd4(pa, <usize>Kp, pas, kb, pw, ps, pz, upb, SB);
        for (let r = 0; r < 4; r++) {
          const m = m0 + r;
          const y = c + ((<usize>m * <usize>ldc + <usize>n0) << 2);
          storeTile(f32x4.mul(v128.load(QUAD + (<usize>r << 4)), f32x4.splat(load<f32>(ascale + (<usize>m << 2)))), y, bias, n0, nv);
        }
      }
    }
  }
  let t = 0;
  if (ASC_FEATURE_RELAXED_SIMD && bits <= 4) {
    // Tile pairs; the scales and zero points of tile t+1 follow those of tile t.
    for (; t + 2 <= T; t += 2) {
      const pw = qw + <usize>t * tileBytes;
      const n0 = t << 2;
      for (let m = m0; m < M; m++) {
        const sa = f32x4.splat(load<f32>(ascale + (<usize>m << 2)));
        tilePairRowI8_relaxed4(aq + <usize>m * <usize>Kp, asum + (<usize>m * <usize>kb << 2), pw, pw + tileBytes,
          scales + <usize>t * <usize>kb * 16, zps + <usize>t * <usize>kb * 4, kb, upb, SB);
        const y = c + ((<usize>m * <usize>ldc + <usize>n0) << 2);
        storeTile(f32x4.mul(v128.load(PAIR), sa), y, bias, n0, 4);
        storeTile(f32x4.mul(v128.load(PAIR, 16), sa), y + 16, bias, n0 + 4, min(4, N - n0 - 4));
      }
    }
  }
  for (; t < T; t++) {
    const pw = qw + <usize>t * tileBytes;
    const ps = scales + <usize>t * <usize>kb * 16;
    const pz = zps + <usize>t * <usize>kb * 4;
    const n0 = t << 2;
    const nv = min(4, N - n0);
    for (let m = m0; m < M; m++) {
      const pa = aq + <usize>m * <usize>Kp;
      const y = c + ((<usize>m * <usize>ldc + <usize>n0) << 2);
      const sa = load<f32>(ascale + (<usize>m << 2));
      if (ASC_FEATURE_SIMD) {
        const v = f32x4.mul(tileRowI8_simd(pa, asum + (<usize>m * <usize>kb << 2), pw, ps, pz, kb, upb, bits, SB), f32x4.splat(sa));
        storeTile(v, y, bias, n0, nv);
      } else {
        for (let j = 0; j < nv; j++) {
          let s = tileRowI8_scalar(pa, pw, ps, pz, kb, upb, bits, SB, j) * sa;
          if (bias) s += load<f32>(bias + (<usize>(n0 + j) << 2));
          store<f32>(y + (<usize>j << 2), s);
        }
      }
    }
  }
  return QW_OK;
}

/** Stores channels n0..n0+nv−1 of one tile result (+ bias) at y. */
// @ts-ignore: decorator
@inline function storeTile(v: v128, y: usize, bias: usize, n0: i32, nv: i32): void {
  if (nv == 4) {
    if (bias) v = f32x4.add(v, v128.load(bias + (<usize>n0 << 2)));
    v128.store(y, v);
    return;
  }
  v128.store(ROW, v);
  for (let j = 0; j < nv; j++) {
    let s = load<f32>(ROW + (<usize>j << 2));
    if (bias) s += load<f32>(bias + (<usize>(n0 + j) << 2));
    store<f32>(y + (<usize>j << 2), s);
  }
}

/**
 * Scalar reference on the plain layout (q u8 [N][K], scale f32 [N][kb], zp u8 [N][kb]) with
 * aq [M][Kp] i8 and ascale [M] f32: the formula at the top of this file, k < K only.
 */
export function qwgemm_i8__ref(
  aq: usize, ascale: usize, q: usize, scale: usize, zp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bs: i32, bias: usize,
): void {
  const kb = (K + bs - 1) / bs;
  const Kp = kb * bs;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc: f32 = 0;
      for (let b = 0; b < kb; b++) {
        const z = <i32>load<u8>(zp + <usize>n * <usize>kb + <usize>b);
        let d = 0;
        for (let k = b * bs; k < min(K, (b + 1) * bs); k++) {
          d += (<i32>load<u8>(q + <usize>n * <usize>K + <usize>k) - z) * <i32>load<i8>(aq + <usize>m * <usize>Kp + <usize>k);
        }
        acc = acc + <f32>d * load<f32>(scale + ((<usize>n * <usize>kb + <usize>b) << 2));
      }
      let y = acc * load<f32>(ascale + (<usize>m << 2));
      if (bias) y += load<f32>(bias + (<usize>n << 2));
      store<f32>(c + ((<usize>m * <usize>ldc + <usize>n) << 2), y);
    }
  }
}
