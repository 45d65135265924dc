// L-Mul (Luo & Sun, "Addition is All You Need for Energy-efficient Language Models"): a float
// product approximated by one integer add of the operands' bit patterns.
//
// For x = (1+xm)·2^xe, y = (1+ym)·2^ye with mantissas truncated (not rounded) to m bits:
//   L-Mul(x, y) = (1 + xm + ym + 2^−l(m)) · 2^(xe+ye),  l(m) = m (m ≤ 3), 3 (m = 4), 4 (m > 4).
// On the f32 bit patterns |x|, |y| (sign stripped, mantissa bits below the top m cleared):
//   bits = |x|ₘ + |y|ₘ − (127 << 23) + (1 << (23 − l)),   sign = sign(x) xor sign(y).
// While xm + ym + 2^−l < 1 that is the formula exactly. A larger mantissa sum carries into the
// exponent field, c = 1 or (from m = 4, where the sum reaches 2) 2 times: the result is then
// (1 + (xm + ym + 2^−l − c))·2^(xe+ye+c) — how one integer add realises the formula. Since l ≤ m
// the result has an m-bit mantissa: no rounding anywhere.
//
// Special cases (same in every build):
// - zero and subnormal operands are flushed: a product with one is a signed zero (sign xor);
// - NaN operand, or inf × zero/subnormal → canonical NaN 0x7fc00000; inf × finite → signed inf;
// - overflow (result exponent ≥ 255) → signed inf; underflow (result exponent ≤ 0) → signed zero
//   (no subnormal results).
//
// Accumulation is f32 and its order is part of each kernel's contract, so the scalar and SIMD
// builds agree bit for bit: GEMM/conv outputs add their K products in order k = 0…K−1 starting
// from +0 (SIMD vectorises across output columns, never across k), then bias, then activation;
// the dot product keeps 4 partial sums, lane j adding the products k ≡ j (mod 4) in order, and
// returns (s0 + s1) + (s2 + s3). NaN payloads of sums are whatever f32 add gives.

import { desc } from './common';
import { G_C, G_CHUNK, G_G, G_IN, G_K, G_M, G_N, G_OUT } from './conv_geom';
import { im2colPanels } from './conv_f32';

const SIGN: u32 = 0x80000000;
const ABS: u32 = 0x7fffffff;
const INF: u32 = 0x7f800000;
const QNAN: u32 = 0x7fc00000;
const MIN_NORMAL: u32 = 0x00800000;

// Per-call constants: the truncation mask, the add constant and the overflow/underflow bounds
// on u = |x|ₘ + |y|ₘ (u32; finite operands are < 2^31 each, so u never wraps).
let cMask: u32 = 0;
let cK: u32 = 0;
let cOvf: u32 = 0;
let cUnf: u32 = 0;

/** Sets the constants for an m-bit mantissa (1 ≤ m ≤ 23; the host checks the range). */
function setup(m: i32): void {
  const l = m <= 3 ? m : m == 4 ? 3 : 4;
  cMask = ABS & ~((<u32>1 << <u32>(23 - m)) - 1);
  cK = 0x3f800000 - (<u32>1 << <u32>(23 - l));
  cOvf = INF + cK; // result bits ≥ INF
  cUnf = MIN_NORMAL + cK; // result bits < smallest normal
}

/** One L-Mul on bit patterns (setup() first). */
// @ts-ignore: decorator
@inline function lmulBits(x: u32, y: u32): u32 {
  const ax = x & ABS, ay = y & ABS;
  const s = (x ^ y) & SIGN;
  if (ax >= INF || ay >= INF) {
    if (ax > INF || ay > INF || ax < MIN_NORMAL || ay < MIN_NORMAL) return QNAN;
    return s | INF;
  }
  if (ax < MIN_NORMAL || ay < MIN_NORMAL) return s;
  const u = (ax & cMask) + (ay & cMask);
  if (u >= cOvf) return s | INF;
  if (u < cUnf) return s;
  return s | (u - cK);
}

// @ts-ignore: decorator
@inline function lmul(x: f32, y: f32): f32 {
  return reinterpret<f32>(lmulBits(reinterpret<u32>(x), reinterpret<u32>(y)));
}

/**
 * lmulBits on 4 lanes: the same cases as selects; the inf/NaN fix-up only when a lane needs it.
 * |x|, |y| < 2^31 compare as signed (one instruction on x64); u needs the unsigned compares.
 * vm, vk, vo, vu: cMask, cK, cOvf, cUnf splatted once by the caller, outside its loops.
 */
// @ts-ignore: decorator
@inline function lmul4(x: v128, y: v128, vm: v128, vk: v128, vo: v128, vu: v128): v128 {
  const abs = i32x4.splat(ABS), inf = i32x4.splat(INF), minN = i32x4.splat(MIN_NORMAL);
  const ax = v128.and(x, abs), ay = v128.and(y, abs);
  const s = v128.andnot(v128.xor(x, y), abs);
  const u = i32x4.add(v128.and(ax, vm), v128.and(ay, vm));
  let r = v128.bitselect(inf, i32x4.sub(u, vk), i32x4.ge_u(u, vo));
  const z = v128.or(i32x4.lt_s(ax, minN), i32x4.lt_s(ay, minN));
  r = v128.andnot(r, v128.or(z, i32x4.lt_u(u, vu)));
  r = v128.or(r, s);
  const sp = v128.or(i32x4.ge_s(ax, inf), i32x4.ge_s(ay, inf));
  if (v128.any_true(sp)) {
    const nan = v128.or(v128.or(i32x4.gt_s(ax, inf), i32x4.gt_s(ay, inf)), v128.and(sp, z));
    r = v128.bitselect(v128.or(s, inf), r, sp);
    r = v128.bitselect(i32x4.splat(QNAN), r, nan);
  }
  return r;
}

/** out[i] = L-Mul(x[i], y[i]) for i < n. */
export function lmul_mul_f32(x: usize, y: usize, out: usize, n: i32, m: i32): void {
  setup(m);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = i32x4.splat(cMask), vk = i32x4.splat(cK), vo = i32x4.splat(cOvf), vu = i32x4.splat(cUnf);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, lmul4(v128.load(x + o), v128.load(y + o), vm, vk, vo, vu));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<u32>(out + o, lmulBits(load<u32>(x + o), load<u32>(y + o)));
  }
}

const PART: usize = memory.data(16, 16);

/** Σ L-Mul(a[k], b[k]) in 4 lane-wise partial sums (see the header): the same order in every build. */
export function lmul_dot_f32(a: usize, b: usize, n: i32, m: i32): f32 {
  setup(m);
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = i32x4.splat(cMask), vk = i32x4.splat(cK), vo = i32x4.splat(cOvf), vu = i32x4.splat(cUnf);
    let acc = f32x4.splat(0);
    for (; k + 4 <= n; k += 4) {
      const o = <usize>k << 2;
      acc = f32x4.add(acc, lmul4(v128.load(a + o), v128.load(b + o), vm, vk, vo, vu));
    }
    v128.store(PART, acc);
  } else {
    store<u64>(PART, 0);
    store<u64>(PART, 0, 8);
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    const p = PART + (<usize>(k & 3) << 2);
    store<f32>(p, load<f32>(p) + lmul(load<f32>(a + o), load<f32>(b + o)));
  }
  return (load<f32>(PART) + load<f32>(PART, 4)) + (load<f32>(PART, 8) + load<f32>(PART, 12));
}

// @ts-ignore: decorator
@inline function epi(v: f32, act: i32, lo: f32, hi: f32): f32 {
  if (act == 1) return max<f32>(v, 0);
  if (act == 2) return min<f32>(max<f32>(v, lo), hi);
  return v;
}

const ROW: usize = memory.data(32, 16);

/**
 * One row of A (K floats, plain) × one B panel (pack_b_f32: K rows of 8 floats) → ROW[0..8),
 * each lane summing its K products in k order.
 */
function row8(a: usize, pb: usize, K: i32): void {
  if (ASC_FEATURE_SIMD) {
    const vm = i32x4.splat(cMask), vk = i32x4.splat(cK), vo = i32x4.splat(cOvf), vu = i32x4.splat(cUnf);
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(a + (<usize>k << 2));
      c0 = f32x4.add(c0, lmul4(x, v128.load(pb), vm, vk, vo, vu));
      c1 = f32x4.add(c1, lmul4(x, v128.load(pb, 16), vm, vk, vo, vu));
      pb += 32;
    }
    v128.store(ROW, c0);
    v128.store(ROW, c1, 16);
    return;
  }
  for (let j = 0; j < 8; j++) {
    let s: f32 = 0;
    for (let k = 0; k < K; k++) s += lmul(load<f32>(a + (<usize>k << 2)), load<f32>(pb + (<usize>k << 5) + (<usize>j << 2)));
    store<f32>(ROW + (<usize>j << 2), s);
  }
}

/**
 * C = A·B (+bias) (+act) with every product an L-Mul: A plain (M×K, leading dimension lda), B
 * packed by pack_b_f32, epilogue as gemm_f32 (biasMode 0 none, 1 per column, 2 per row; act 0
 * none, 1 relu, 2 clamp to [lo, hi]). m: mantissa bits, 1…23.
 */
export function lmul_gemm_f32(
  a: usize, lda: i32, bp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32,
  bias: usize, biasMode: i32, act: i32, lo: f32, hi: f32, m: i32,
): void {
  setup(m);
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const n0 = p << 3;
    const nv = min(8, N - n0);
    const pb = bp + <usize>p * (<usize>K << 5);
    for (let r = 0; r < M; r++) {
      row8(a + <usize>r * (<usize>lda << 2), pb, K);
      const cr = c + ((<usize>r * <usize>ldc + <usize>n0) << 2);
      for (let j = 0; j < nv; j++) {
        let v = load<f32>(ROW + (<usize>j << 2));
        if (biasMode == 1) v += load<f32>(bias + (<usize>(n0 + j) << 2));
        else if (biasMode == 2) v += load<f32>(bias + (<usize>r << 2));
        store<f32>(cr + (<usize>j << 2), epi(v, act, lo, hi));
      }
    }
  }
}

/** Scalar reference on the plain layout: C[M,N] = Σₖ L-Mul(A[m,k], B[k,n]) in k order (+ bias[n]). */
export function lmul_gemm_f32__ref(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, bias: usize, m: i32): void {
  setup(m);
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) {
        s += lmul(load<f32>(a + ((<usize>i * <usize>K + <usize>k) << 2)), load<f32>(b + ((<usize>k * <usize>N + <usize>n) << 2)));
      }
      if (bias) s += load<f32>(bias + (<usize>n << 2));
      store<f32>(c + ((<usize>i * <usize>N + <usize>n) << 2), s);
    }
  }
}

/**
 * Conv with L-Mul products: per batch item and group Y[M, S] = W[M, K] · col[K, S] on
 * lmul_gemm_f32, col written by conv_f32's im2col a chunk of 8-column panels at a time (padding
 * taps are +0 operands: their products are ±0 and leave a sum that starts at +0 unchanged, so the
 * result equals a direct convolution that skips them). W is the plain ONNX weight [G·M, C, k…]
 * (row g·M+m of the group's A); `scratch` holds chunk·K·32 bytes; bias per output channel or 0.
 */
export function lmul_conv_f32(d: usize, x: usize, w: usize, bias: usize, y: usize, scratch: usize, act: i32, lo: f32, hi: f32, m: i32): void {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const K = C * desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
  const S = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const inBytes = <usize>C * <usize>desc(d, G_IN) * <usize>desc(d, G_IN + 1) * <usize>desc(d, G_IN + 2) * 4;
  const outBytes = <usize>M * <usize>S * 4;
  const chunk = desc(d, G_CHUNK);
  const panels = (S + 7) >> 3;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * inBytes;
      const yg = y + <usize>(n * G + g) * outBytes;
      for (let p = 0; p < panels; p += chunk) {
        const np = min(chunk, panels - p);
        im2colPanels(d, xg, scratch, p, np, S);
        lmul_gemm_f32(w + <usize>g * <usize>M * <usize>K * 4, K, scratch, yg + (<usize>p << 5), S, M, min(np << 3, S - (p << 3)), K,
          bias ? bias + (<usize>(g * M) << 2) : 0, bias ? 2 : 0, act, lo, hi, m);
      }
    }
  }
}
