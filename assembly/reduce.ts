// Reductions over any set of axes: ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp.
//
// Descriptor (the host drops size-1 dims and merges neighbouring axes of the same kind):
//   [nk, keptDims[nk], keptStrides[nk], nr, redDims[nr], redStrides[nr]]   strides in input elements
// The output is contiguous over the kept dims in order. Each output element is
//   fin(init ⊕ t(x₀) ⊕ t(x₁) ⊕ …) over the reduced positions (t: x, x² or |x|; ⊕: +, ·, max, min),
// so an empty reduction gives fin(init): Sum 0, Prod 1, Max −∞ (the type's minimum for integers),
// Min +∞ (maximum), Mean 0/0 = NaN (0 for integers), L2 0, LogSum −∞, LogSumExp −∞ — the values of
// the ONNX reference. No reduced axes (noop_with_empty_axes) reduces over one element: t then fin.
// LogSumExp is m + log Σ exp(x − m) with m the maximum (m itself when m is ±∞ or NaN).
//
// Two walks, chosen by where the contiguous input axis is:
// - it is kept ("row mode"): each output row of `inner` elements accumulates in place over the
//   reduced positions, vectorised across the row;
// - it is reduced ("run mode"): each output element reduces contiguous runs of the last reduced
//   axis, vectorised along the run with several lane accumulators.
// Both orders differ from the reference's sequential one, so float results agree to rounding and
// integer results exactly.
//
// Integer types compute in i64 (signed) or u64 (unsigned) with the element width `esz` a run-time
// value: loads sign- or zero-extend, stores keep the low bits. +, · and x² are exact modulo 2^bits,
// so the stored low bits equal the element type's wrapping arithmetic; max/min compare in-range
// values; Mean divides the sum wrapped to the element type first, as the element type would.

import {
  desc, DT_F32, DT_F64, DT_I8, DT_U8, DT_I32, DT_U32, DT_I64, DT_U64, DT_BOOL,
} from './common';

export const R_SUM: i32 = 0;
export const R_MEAN: i32 = 1;
export const R_MAX: i32 = 2;
export const R_MIN: i32 = 3;
export const R_PROD: i32 = 4;
export const R_SUMSQUARE: i32 = 5;
export const R_L1: i32 = 6;
export const R_L2: i32 = 7;
export const R_LOGSUM: i32 = 8;
export const R_LOGSUMEXP: i32 = 9;

/** Columns of a row-mode chunk; LogSumExp keeps its running sums for one chunk here. */
const CHUNK: i32 = 256;
const CHUNK_ACC: usize = memory.data(CHUNK * 8, 16);

// @ts-ignore: decorator
@inline function tf<T>(op: i32, x: T): T {
  if (op == R_SUMSQUARE || op == R_L2) return x * x;
  if (op == R_L1) return isSigned<T>() || isFloat<T>() ? (x < <T>0 ? <T>0 - x : x) : x;
  return x;
}

// @ts-ignore: decorator
@inline function comb<T>(op: i32, a: T, b: T): T {
  if (op == R_MAX || op == R_LOGSUMEXP) return isFloat<T>() ? max<T>(a, b) : (a > b ? a : b);
  if (op == R_MIN) return isFloat<T>() ? min<T>(a, b) : (a < b ? a : b);
  if (op == R_PROD) return a * b;
  return a + b;
}

// @ts-ignore: decorator
@inline function initOf<T>(op: i32, sz: usize): T {
  // Integers of `sz` bytes held in T: lowest −2^(bits−1) or 0, highest ~lowest or 2^bits − 1.
  const bits = <i32>sz * 8;
  const lowest: T = isFloat<T>() ? <T>-Infinity : (isSigned<T>() ? <T>(<T>-1 << <T>(bits - 1)) : <T>0);
  const highest: T = isFloat<T>() ? <T>Infinity
    : (isSigned<T>() ? <T>~lowest : (sz >= sizeof<T>() ? <T>-1 : <T>((<T>1 << <T>bits) - <T>1)));
  if (op == R_MAX || op == R_LOGSUMEXP) return lowest;
  if (op == R_MIN) return highest;
  if (op == R_PROD) return <T>1;
  return <T>0;
}

/** Element at p of `sz` bytes: the float itself, or an integer sign/zero-extended to i64/u64. */
// @ts-ignore: decorator
@inline function ld<T>(p: usize, sz: usize): T {
  if (isFloat<T>()) return load<T>(p);
  if (sz == 1) return isSigned<T>() ? <T>load<i8>(p) : <T>load<u8>(p);
  if (sz == 4) return isSigned<T>() ? <T>load<i32>(p) : <T>load<u32>(p);
  return load<T>(p);
}

/** Stores v at p in `sz` bytes (integers: the low bits). */
// @ts-ignore: decorator
@inline function st<T>(p: usize, sz: usize, v: T): void {
  if (isFloat<T>()) store<T>(p, v);
  else if (sz == 1) store<u8>(p, <u8>v);
  else if (sz == 4) store<u32>(p, <u32>v);
  else store<T>(p, v);
}

/** An integer accumulator wrapped to the element type's `sz` bytes (and extended back). */
// @ts-ignore: decorator
@inline function wrapTo<T>(v: T, sz: usize): T {
  const sh: i32 = 64 - <i32>sz * 8;
  if (isFloat<T>() || sz >= sizeof<T>()) return v;
  return isSigned<T>() ? <T>((v << <T>sh) >> <T>sh) : <T>((v << <T>sh) >>> <T>sh);
}

// @ts-ignore: decorator
@inline function logT<T>(x: T): T {
  return sizeof<T>() == 4 ? <T>Mathf.log(<f32>x) : <T>Math.log(<f64>x);
}

// @ts-ignore: decorator
@inline function expT<T>(x: T): T {
  return sizeof<T>() == 4 ? <T>Mathf.exp(<f32>x) : <T>Math.exp(<f64>x);
}

/** fin(acc) over `n` reduced elements; for LogSumExp `acc` is Σ exp(x − m). */
// @ts-ignore: decorator
@inline function fin<T>(op: i32, acc: T, n: i32, m: T, sz: usize): T {
  if (op == R_MEAN) {
    if (isFloat<T>()) return acc / <T>n;
    // The count as the element type holds it (wrapped like the sum), as reduce__ref divides.
    const cnt = wrapTo<T>(<T>n, sz);
    return n == 0 ? <T>0 : <T>(acc / cnt);
  }
  if (isFloat<T>()) {
    if (op == R_L2) return sqrt<T>(acc);
    if (op == R_LOGSUM) return logT<T>(acc);
    if (op == R_LOGSUMEXP) return (m - m != <T>0) ? m : m + logT<T>(acc);
  }
  return acc;
}

// ---- descriptor walking -----------------------------------------------------------------------

/**
 * Input element offset of position `i` over the first `n` of `total` dims at descriptor entries
 * [base, base + total), their strides following at [base + total, base + 2·total).
 */
// @ts-ignore: decorator
@inline function offsetOf(d: usize, base: i32, total: i32, n: i32, i: i32): i32 {
  let rem = i;
  let off = 0;
  for (let k = n - 1; k >= 0; k--) {
    const dim = desc(d, base + k);
    off += (rem % dim) * desc(d, base + total + k);
    rem /= dim;
  }
  return off;
}

// @ts-ignore: decorator
@inline function count(d: usize, base: i32, n: i32): i32 {
  let c = 1;
  for (let k = 0; k < n; k++) c *= desc(d, base + k);
  return c;
}

// ---- f32 vector helpers -----------------------------------------------------------------------

// @ts-ignore: decorator
@inline function tfv(op: i32, x: v128): v128 {
  if (op == R_SUMSQUARE || op == R_L2) return f32x4.mul(x, x);
  if (op == R_L1) return f32x4.abs(x);
  return x;
}

// @ts-ignore: decorator
@inline function combv(op: i32, a: v128, b: v128): v128 {
  if (op == R_MAX || op == R_LOGSUMEXP) return f32x4.max(a, b);
  if (op == R_MIN) return f32x4.min(a, b);
  if (op == R_PROD) return f32x4.mul(a, b);
  return f32x4.add(a, b);
}

/** acc ⊕ t(p[0..n)) for a contiguous run (`op` a constant after inlining). */
// @ts-ignore: decorator
@inline function runReduceOp<T>(op: i32, p: usize, n: i32, acc: T, sz: usize): T {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4 && isFloat<T>() && n >= 8) {
      let v0 = f32x4.splat(initOf<f32>(op, 4));
      let v1 = v0;
      for (; i + 8 <= n; i += 8) {
        const q = p + (<usize>i << 2);
        v0 = combv(op, v0, tfv(op, v128.load(q)));
        v1 = combv(op, v1, tfv(op, v128.load(q, 16)));
      }
      v0 = combv(op, v0, v1);
      const h = combv(op, v0, v128.shuffle<f32>(v0, v0, 2, 3, 0, 1));
      const s = combv(op, h, v128.shuffle<f32>(h, h, 1, 0, 3, 2));
      acc = comb<T>(op, acc, <T>f32x4.extract_lane(s, 0));
    }
  }
  for (; i < n; i++) acc = comb<T>(op, acc, tf<T>(op, ld<T>(p + <usize>i * sz, sz)));
  return acc;
}

/** y[j] = y[j] ⊕ t(p[j]) for j < n (`op` a constant after inlining). */
// @ts-ignore: decorator
@inline function rowAccumulateOp<T>(op: i32, p: usize, y: usize, n: i32, sz: usize): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4 && isFloat<T>()) {
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, combv(op, v128.load(y + o), tfv(op, v128.load(p + o))));
      }
    }
  }
  for (; j < n; j++) {
    const o = <usize>j * sz;
    st<T>(y + o, sz, comb<T>(op, ld<T>(y + o, sz), tf<T>(op, ld<T>(p + o, sz))));
  }
}

// For f32 the inner loops are instantiated per op so that no op test runs per element; the
// other types (not hot) share one loop that tests the op per element, to keep the module small.
// @ts-ignore: decorator
@inline function perOp<T>(): bool {
  return isFloat<T>() && sizeof<T>() == 4;
}

function runReduce<T>(op: i32, p: usize, n: i32, acc: T, sz: usize): T {
  if (!perOp<T>()) return runReduceOp<T>(op, p, n, acc, sz);
  switch (op) {
    case R_MAX: case R_LOGSUMEXP: return runReduceOp<T>(R_MAX, p, n, acc, 4);
    case R_MIN: return runReduceOp<T>(R_MIN, p, n, acc, 4);
    case R_PROD: return runReduceOp<T>(R_PROD, p, n, acc, 4);
    case R_SUMSQUARE: case R_L2: return runReduceOp<T>(R_SUMSQUARE, p, n, acc, 4);
    case R_L1: return runReduceOp<T>(R_L1, p, n, acc, 4);
  }
  return runReduceOp<T>(R_SUM, p, n, acc, 4);
}

function rowAccumulate<T>(op: i32, p: usize, y: usize, n: i32, sz: usize): void {
  if (!perOp<T>()) {
    rowAccumulateOp<T>(op, p, y, n, sz);
    return;
  }
  switch (op) {
    case R_MAX: case R_LOGSUMEXP: rowAccumulateOp<T>(R_MAX, p, y, n, 4); return;
    case R_MIN: rowAccumulateOp<T>(R_MIN, p, y, n, 4); return;
    case R_PROD: rowAccumulateOp<T>(R_PROD, p, y, n, 4); return;
    case R_SUMSQUARE: case R_L2: rowAccumulateOp<T>(R_SUMSQUARE, p, y, n, 4); return;
    case R_L1: rowAccumulateOp<T>(R_L1, p, y, n, 4); return;
  }
  rowAccumulateOp<T>(R_SUM, p, y, n, 4);
}

// ---- the two walks ----------------------------------------------------------------------------

function rowMode<T>(op: i32, x: usize, y: usize, d: usize, esz: usize): void {
  const nk = desc(d, 0);
  const rb = 2 * nk + 2;
  const nr = desc(d, rb - 1);
  const inner = desc(d, nk);
  const rows = count(d, 1, nk - 1);
  const nred = count(d, rb, nr);
  const sz = isFloat<T>() ? <usize>sizeof<T>() : esz;
  const acc = CHUNK_ACC;
  // Kept offsets of the outer dims: entries [1, nk) with strides at [nk + 1, 2nk).
  for (let r = 0; r < rows; r++) {
    let rem = r;
    let ko = 0;
    for (let k = nk - 2; k >= 0; k--) {
      const dim = desc(d, 1 + k);
      ko += (rem % dim) * desc(d, 1 + nk + k);
      rem /= dim;
    }
    for (let j0 = 0; j0 < inner; j0 += CHUNK) {
      const n = min(CHUNK, inner - j0);
      const yr = y + (<usize>r * <usize>inner + <usize>j0) * sz;
      const xr = x + <usize>(ko + j0) * sz;
      for (let j = 0; j < n; j++) st<T>(yr + <usize>j * sz, sz, initOf<T>(op, sz));
      for (let q = 0; q < nred; q++) rowAccumulate<T>(op, xr + <usize>offsetOf(d, rb, nr, nr, q) * sz, yr, n, sz);
      if (op == R_LOGSUMEXP) {
        if (isFloat<T>()) {
          for (let j = 0; j < n; j++) store<T>(acc + <usize>j * sz, <T>0);
          for (let q = 0; q < nred; q++) {
            const p = xr + <usize>offsetOf(d, rb, nr, nr, q) * sz;
            for (let j = 0; j < n; j++) {
              const o = <usize>j * sz;
              store<T>(acc + o, load<T>(acc + o) + expT<T>(load<T>(p + o) - load<T>(yr + o)));
            }
          }
          for (let j = 0; j < n; j++) {
            const o = <usize>j * sz;
            store<T>(yr + o, fin<T>(op, load<T>(acc + o), nred, load<T>(yr + o), sz));
          }
        }
      } else if (op == R_MEAN || op == R_L2 || op == R_LOGSUM) {
        for (let j = 0; j < n; j++) {
          const o = <usize>j * sz;
          st<T>(yr + o, sz, fin<T>(op, ld<T>(yr + o, sz), nred, <T>0, sz));
        }
      }
    }
  }
}

function runMode<T>(op: i32, x: usize, y: usize, d: usize, esz: usize): void {
  const nk = desc(d, 0);
  const rb = 2 * nk + 2;
  const nr = desc(d, rb - 1);
  const run = nr > 0 ? desc(d, rb + nr - 1) : 1;
  const runs = count(d, rb, nr - 1);
  const nout = count(d, 1, nk);
  const nred = runs * run;
  const sz = isFloat<T>() ? <usize>sizeof<T>() : esz;
  for (let o = 0; o < nout; o++) {
    const base = x + <usize>offsetOf(d, 1, nk, nk, o) * sz;
    let acc = initOf<T>(op, sz);
    for (let q = 0; q < runs; q++) acc = runReduce<T>(op, base + <usize>offsetOf(d, rb, nr, nr - 1, q) * sz, run, acc, sz);
    let m: T = <T>0;
    if (op == R_LOGSUMEXP) {
      if (isFloat<T>()) {
        m = acc;
        acc = <T>0;
        for (let q = 0; q < runs; q++) {
          const p = base + <usize>offsetOf(d, rb, nr, nr - 1, q) * sz;
          for (let i = 0; i < run; i++) acc += expT<T>(load<T>(p + <usize>i * sz) - m);
        }
      }
    }
    st<T>(y + <usize>o * sz, sz, fin<T>(op, wrapTo<T>(acc, sz), nred, m, sz));
  }
}

/** T: f32, f64, or i64/u64 for the signed/unsigned integer types of `esz` bytes. */
function reduceT<T>(op: i32, x: usize, y: usize, d: usize, esz: usize): void {
  const nk = desc(d, 0);
  if (nk > 0 && desc(d, 2 * nk) == 1) rowMode<T>(op, x, y, d, esz);
  else runMode<T>(op, x, y, d, esz);
}

/** The sequential reference: every output element reduces its positions in index order. */
function reduceRefT<T>(op: i32, x: usize, y: usize, d: usize): void {
  const nk = desc(d, 0);
  const rb = 2 * nk + 2;
  const nr = desc(d, rb - 1);
  const nout = count(d, 1, nk);
  const nred = count(d, rb, nr);
  const sz = <usize>sizeof<T>();
  for (let o = 0; o < nout; o++) {
    const ko = offsetOf(d, 1, nk, nk, o);
    let acc = initOf<T>(op, sz);
    for (let q = 0; q < nred; q++) acc = comb<T>(op, acc, tf<T>(op, load<T>(x + <usize>(ko + offsetOf(d, rb, nr, nr, q)) * sz)));
    let m: T = <T>0;
    if (op == R_LOGSUMEXP) {
      if (isFloat<T>()) {
        m = acc;
        acc = <T>0;
        for (let q = 0; q < nred; q++) acc += expT<T>(load<T>(x + <usize>(ko + offsetOf(d, rb, nr, nr, q)) * sz) - m);
      }
    }
    store<T>(y + <usize>o * sz, fin<T>(op, acc, nred, m, sz));
  }
}

/** y = reduce(x) per the descriptor `d`; dtypes f32, f64, i8, u8/bool, i32, u32, i64, u64. */
export function reduce(op: i32, dt: i32, x: usize, y: usize, d: usize): void {
  switch (dt) {
    case DT_F32: reduceT<f32>(op, x, y, d, 4); break;
    case DT_F64: reduceT<f64>(op, x, y, d, 8); break;
    case DT_I8: reduceT<i64>(op, x, y, d, 1); break;
    case DT_U8: case DT_BOOL: reduceT<u64>(op, x, y, d, 1); break;
    case DT_I32: reduceT<i64>(op, x, y, d, 4); break;
    case DT_U32: reduceT<u64>(op, x, y, d, 4); break;
    case DT_I64: reduceT<i64>(op, x, y, d, 8); break;
    case DT_U64: reduceT<u64>(op, x, y, d, 8); break;
  }
}

export function reduce__ref(op: i32, dt: i32, x: usize, y: usize, d: usize): void {
  switch (dt) {
    case DT_F32: reduceRefT<f32>(op, x, y, d); break;
    case DT_F64: reduceRefT<f64>(op, x, y, d); break;
    case DT_I8: reduceRefT<i8>(op, x, y, d); break;
    case DT_U8: case DT_BOOL: reduceRefT<u8>(op, x, y, d); break;
    case DT_I32: reduceRefT<i32>(op, x, y, d); break;
    case DT_U32: reduceRefT<u32>(op, x, y, d); break;
    case DT_I64: reduceRefT<i64>(op, x, y, d); break;
    case DT_U64: reduceRefT<u64>(op, x, y, d); break;
  }
}
