// Softmax and LogSoftmax in f32 over the middle axis of an [outer, n, inner] view.
//
//   softmax(x)ₖ    = exp(xₖ − m) / Σⱼ exp(xⱼ − m)          m = maxⱼ xⱼ (no overflow, s ≥ 1)
//   logsoftmax(x)ₖ = xₖ − m − log Σⱼ exp(xⱼ − m)
// Rows (inner == 1, e.g. attention scores): exp(x − m) by erf_f32.ts's expNeg (Cody–Waite and a
// degree-6 polynomial, within 2 ulp; x − m clamped at −104, where e^x rounds to 0 in f32),
// 4 lanes at a time on the SIMD builds and in the same order with 4 partial sums on the scalar
// build, so every build gives the same bits. Columns (inner > 1): the scalar Mathf.exp (within
// 1 ulp), the maximum, the subtraction and the final scaling vectorised across `inner` columns,
// CHUNK at a time with per-column max and sum kept in static scratch. A row whose maximum is ±∞
// or NaN yields NaN (as exp(∞ − ∞) does in the reference).

import { expNeg, expNeg4 } from './erf_f32';

const CHUNK: i32 = 256;
const COL_MAX: usize = memory.data(CHUNK * 4, 16);
const COL_SUM: usize = memory.data(CHUNK * 4, 16);

// @ts-ignore: decorator
@inline function rowMax(p: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      let v = v128.load(p);
      for (i = 4; i + 4 <= n; i += 4) v = f32x4.max(v, v128.load(p + (<usize>i << 2)));
      v = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      v = f32x4.max(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
      m = f32x4.extract_lane(v, 0);
    }
  }
  for (; i < n; i++) m = max<f32>(m, load<f32>(p + (<usize>i << 2)));
  return m;
}

/** y[i] = y[i]·a + b (SIMD over the row). */
// @ts-ignore: decorator
@inline function affineRow(src: usize, y: usize, n: i32, a: f32, b: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a);
    const vb = f32x4.splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(f32x4.mul(v128.load(src + o), va), vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(src + o) * a + b);
  }
}

/** Lowest argument of expNeg taken: e^−104 < 2^−150 rounds to 0 in f32 (and −∞ becomes it). */
const EXP_MIN: f32 = -104;

/**
 * Σ_i exp(x[i] − m) over a row, the terms stored to y when `keep`: lanes i ≡ 0..3 (mod 4) summed
 * apart over the whole groups of 4, then (s0 + s1) + (s2 + s3), then the tail in order.
 */
function expRow(x: usize, y: usize, n: i32, m: f32, keep: bool): f32 {
  let i = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m), lo = f32x4.splat(EXP_MIN);
    let acc = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e = expNeg4(f32x4.max(f32x4.sub(v128.load(x + o), vm), lo));
      if (keep) v128.store(y + o, e);
      acc = f32x4.add(acc, e);
    }
    s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e0 = expNeg(max<f32>(load<f32>(x + o) - m, EXP_MIN)), e1 = expNeg(max<f32>(load<f32>(x + o, 4) - m, EXP_MIN));
      const e2 = expNeg(max<f32>(load<f32>(x + o, 8) - m, EXP_MIN)), e3 = expNeg(max<f32>(load<f32>(x + o, 12) - m, EXP_MIN));
      if (keep) {
        store<f32>(y + o, e0); store<f32>(y + o, e1, 4); store<f32>(y + o, e2, 8); store<f32>(y + o, e3, 12);
      }
      s0 += e0; s1 += e1; s2 += e2; s3 += e3;
    }
    s = (s0 + s1) + (s2 + s3);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = expNeg(max<f32>(load<f32>(x + o) - m, EXP_MIN));
    if (keep) store<f32>(y + o, e);
    s += e;
  }
  return s;
}

function contiguousRows(x: usize, y: usize, outer: i32, n: i32, logMode: bool): void {
  for (let r = 0; r < outer; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2);
    const yr = y + ((<usize>r * <usize>n) << 2);
    const m = rowMax(xr, n);
    const s = expRow(xr, yr, n, m, !logMode);
    if (logMode) affineRow(xr, yr, n, 1, -m - Mathf.log(s));
    else affineRow(yr, yr, n, <f32>1 / s, 0);
  }
}

function columns(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: bool): void {
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const xb = x + <usize>o * <usize>n * rowBytes;
    const yb = y + <usize>o * <usize>n * rowBytes;
    for (let j0 = 0; j0 < inner; j0 += CHUNK) {
      const w = min(CHUNK, inner - j0);
      const c0 = <usize>j0 << 2;
      for (let j = 0; j < w; j++) {
        store<f32>(COL_MAX + (<usize>j << 2), -Infinity);
        store<f32>(COL_SUM + (<usize>j << 2), 0);
      }
      for (let k = 0; k < n; k++) {
        const p = xb + <usize>k * rowBytes + c0;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 4 <= w; j += 4) {
            const q = <usize>j << 2;
            v128.store(COL_MAX + q, f32x4.max(v128.load(COL_MAX + q), v128.load(p + q)));
          }
        }
        for (; j < w; j++) {
          const q = <usize>j << 2;
          store<f32>(COL_MAX + q, max<f32>(load<f32>(COL_MAX + q), load<f32>(p + q)));
        }
      }
      for (let k = 0; k < n; k++) {
        const p = xb + <usize>k * rowBytes + c0;
        const py = yb + <usize>k * rowBytes + c0;
        for (let j = 0; j < w; j++) {
          const q = <usize>j << 2;
          const e = Mathf.exp(load<f32>(p + q) - load<f32>(COL_MAX + q));
          if (!logMode) store<f32>(py + q, e);
          store<f32>(COL_SUM + q, load<f32>(COL_SUM + q) + e);
        }
      }
      // Per column: softmax scales by 1/s, logsoftmax subtracts m + log s.
      for (let j = 0; j < w; j++) {
        const q = <usize>j << 2;
        const s = load<f32>(COL_SUM + q);
        store<f32>(COL_SUM + q, logMode ? load<f32>(COL_MAX + q) + Mathf.log(s) : <f32>1 / s);
      }
      for (let k = 0; k < n; k++) {
        const p = (logMode ? xb : yb) + <usize>k * rowBytes + c0;
        const py = yb + <usize>k * rowBytes + c0;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 4 <= w; j += 4) {
            const q = <usize>j << 2;
            const v = v128.load(p + q);
            const c = v128.load(COL_SUM + q);
            v128.store(py + q, logMode ? f32x4.sub(v, c) : f32x4.mul(v, c));
          }
        }
        for (; j < w; j++) {
          const q = <usize>j << 2;
          const v = load<f32>(p + q);
          const c = load<f32>(COL_SUM + q);
          store<f32>(py + q, logMode ? v - c : v * c);
        }
      }
    }
  }
}

/** Softmax (logMode 0) or LogSoftmax (1) of x viewed as [outer, n, inner], reduced over n. */
export function softmax_f32(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: i32): void {
  if (inner == 1) contiguousRows(x, y, outer, n, logMode != 0);
  else columns(x, y, outer, n, inner, logMode != 0);
}

/** Reference: each (outer, column) pair in index order, scalar. */
export function softmax_f32__ref(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = (<usize>o * <usize>n * <usize>inner + <usize>j) << 2;
      const step = <usize>inner << 2;
      let m: f32 = -Infinity;
      for (let k = 0; k < n; k++) m = max<f32>(m, load<f32>(x + base + <usize>k * step));
      let s: f32 = 0;
      for (let k = 0; k < n; k++) s += Mathf.exp(load<f32>(x + base + <usize>k * step) - m);
      for (let k = 0; k < n; k++) {
        const v = load<f32>(x + base + <usize>k * step);
        store<f32>(y + base + <usize>k * step, logMode != 0 ? v - m - Mathf.log(s) : Mathf.exp(v - m) / s);
      }
    }
  }
}
