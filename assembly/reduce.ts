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
@inline function initOf<T>(op: i32): T {
  const lowest: T = isFloat<T>() ? <T>-Infinity : (isSigned<T>() ? <T>(<T>1 << <T>(sizeof<T>() * 8 - 1)) : <T>0);
  if (op == R_MAX || op == R_LOGSUMEXP) return lowest;
  if (op == R_MIN) return isFloat<T>() ? <T>Infinity : <T>~lowest;
  if (op == R_PROD) return <T>1;
  return <T>0;
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
@inline function fin<T>(op: i32, acc: T, n: i32, m: T): T {
  if (op == R_MEAN) {
    if (isFloat<T>()) return acc / <T>n;
    return n == 0 ? <T>0 : <T>(acc / <T>n);
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
@inline function runReduceOp<T>(op: i32, p: usize, n: i32, acc: T): T {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4 && isFloat<T>() && n >= 8) {
      let v0 = f32x4.splat(initOf<f32>(op));
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
  const sz = <usize>sizeof<T>();
  for (; i < n; i++) acc = comb<T>(op, acc, tf<T>(op, load<T>(p + <usize>i * sz)));
  return acc;
}

/** y[j] = y[j] ⊕ t(p[j]) for j < n (`op` a constant after inlining). */
// @ts-ignore: decorator
@inline function rowAccumulateOp<T>(op: i32, p: usize, y: usize, n: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4 && isFloat<T>()) {
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, combv(op, v128.load(y + o), tfv(op, v128.load(p + o))));
      }
    }
  }
  const sz = <usize>sizeof<T>();
  for (; j < n; j++) {
    const o = <usize>j * sz;
    store<T>(y + o, comb<T>(op, load<T>(y + o), tf<T>(op, load<T>(p + o))));
  }
}

// The inner loops are instantiated per op so that no op test runs per element.
function runReduce<T>(op: i32, p: usize, n: i32, acc: T): T {
  switch (op) {
    case R_MAX: case R_LOGSUMEXP: return runReduceOp<T>(R_MAX, p, n, acc);
    case R_MIN: return runReduceOp<T>(R_MIN, p, n, acc);
    case R_PROD: return runReduceOp<T>(R_PROD, p, n, acc);
    case R_SUMSQUARE: case R_L2: return runReduceOp<T>(R_SUMSQUARE, p, n, acc);
    case R_L1: return runReduceOp<T>(R_L1, p, n, acc);
  }
  return runReduceOp<T>(R_SUM, p, n, acc);
}

function rowAccumulate<T>(op: i32, p: usize, y: usize, n: i32): void {
  switch (op) {
    case R_MAX: case R_LOGSUMEXP: rowAccumulateOp<T>(R_MAX, p, y, n); return;
    case R_MIN: rowAccumulateOp<T>(R_MIN, p, y, n); return;
    case R_PROD: rowAccumulateOp<T>(R_PROD, p, y, n); return;
    case R_SUMSQUARE: case R_L2: rowAccumulateOp<T>(R_SUMSQUARE, p, y, n); return;
    case R_L1: rowAccumulateOp<T>(R_L1, p, y, n); return;
  }
  rowAccumulateOp<T>(R_SUM, p, y, n);
}

// ---- the two walks ----------------------------------------------------------------------------

function rowMode<T>(op: i32, x: usize, y: usize, d: usize): void {
  const nk = desc(d, 0);
  const rb = 2 * nk + 2;
  const nr = desc(d, rb - 1);
  const inner = desc(d, nk);
  const rows = count(d, 1, nk - 1);
  const nred = count(d, rb, nr);
  const sz = <usize>sizeof<T>();
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
      for (let j = 0; j < n; j++) store<T>(yr + <usize>j * sz, initOf<T>(op));
      for (let q = 0; q < nred; q++) rowAccumulate<T>(op, xr + <usize>offsetOf(d, rb, nr, nr, q) * sz, yr, n);
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
            store<T>(yr + o, fin<T>(op, load<T>(acc + o), nred, load<T>(yr + o)));
          }
        }
      } else if (op == R_MEAN || op == R_L2 || op == R_LOGSUM) {
        for (let j = 0; j < n; j++) {
          const o = <usize>j * sz;
          store<T>(yr + o, fin<T>(op, load<T>(yr + o), nred, <T>0));
        }
      }
    }
  }
}

function runMode<T>(op: i32, x: usize, y: usize, d: usize): void {
  const nk = desc(d, 0);
  const rb = 2 * nk + 2;
  const nr = desc(d, rb - 1);
  const run = nr > 0 ? desc(d, rb + nr - 1) : 1;
  const runs = count(d, rb, nr - 1);
  const nout = count(d, 1, nk);
  const nred = runs * run;
  const sz = <usize>sizeof<T>();
  for (let o = 0; o < nout; o++) {
    const base = x + <usize>offsetOf(d, 1, nk, nk, o) * sz;
    let acc = initOf<T>(op);
    for (let q = 0; q < runs; q++) acc = runReduce<T>(op, base + <usize>offsetOf(d, rb, nr, nr - 1, q) * sz, run, acc);
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
    store<T>(y + <usize>o * sz, fin<T>(op, acc, nred, m));
  }
}

function reduceT<T>(op: i32, x: usize, y: usize, d: usize): void {
  const nk = desc(d, 0);
  if (nk > 0 && desc(d, 2 * nk) == 1) rowMode<T>(op, x, y, d);
  else runMode<T>(op, x, y, d);
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
    let acc = initOf<T>(op);
    for (let q = 0; q < nred; q++) acc = comb<T>(op, acc, tf<T>(op, load<T>(x + <usize>(ko + offsetOf(d, rb, nr, nr, q)) * sz)));
    let m: T = <T>0;
    if (op == R_LOGSUMEXP) {
      if (isFloat<T>()) {
        m = acc;
        acc = <T>0;
        for (let q = 0; q < nred; q++) acc += expT<T>(load<T>(x + <usize>(ko + offsetOf(d, rb, nr, nr, q)) * sz) - m);
      }
    }
    store<T>(y + <usize>o * sz, fin<T>(op, acc, nred, m));
  }
}

/** y = reduce(x) per the descriptor `d`; dtypes f32, f64, i8, u8/bool, i32, u32, i64, u64. */
export function reduce(op: i32, dt: i32, x: usize, y: usize, d: usize): void {
  switch (dt) {
    case DT_F32: reduceT<f32>(op, x, y, d); break;
    case DT_F64: reduceT<f64>(op, x, y, d); break;
    case DT_I8: reduceT<i8>(op, x, y, d); break;
    case DT_U8: case DT_BOOL: reduceT<u8>(op, x, y, d); break;
    case DT_I32: reduceT<i32>(op, x, y, d); break;
    case DT_U32: reduceT<u32>(op, x, y, d); break;
    case DT_I64: reduceT<i64>(op, x, y, d); break;
    case DT_U64: reduceT<u64>(op, x, y, d); break;
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
