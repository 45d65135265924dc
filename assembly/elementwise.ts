// Elementwise unary, binary (numpy broadcasting) and Where kernels for every numeric dtype.
//
// Broadcast descriptor (written by the host after collapsing adjacent dims that broadcast alike):
//   [rank, dims[rank], aStrides[rank], bStrides[rank]]   strides in elements, 0 where broadcast;
// the output is contiguous with shape `dims`. The innermost dim is walked by a tight loop whose
// operand strides are 0 or 1; outer rows are located by mixed-radix decomposition of the row index.

import {
  desc, DT_F32, DT_F64, DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_U32, DT_I64, DT_U64, DT_BOOL,
} from './common';

export const OP_ADD: i32 = 0;
export const OP_SUB: i32 = 1;
export const OP_MUL: i32 = 2;
export const OP_DIV: i32 = 3;
export const OP_POW: i32 = 4;
export const OP_MAX: i32 = 5;
export const OP_MIN: i32 = 6;
export const OP_MOD: i32 = 7; // integer Mod with fmod=0: result takes the divisor's sign
export const OP_FMOD: i32 = 8; // C fmod: result takes the dividend's sign
export const OP_BITAND: i32 = 9;
export const OP_BITOR: i32 = 10;
export const OP_BITXOR: i32 = 11;
export const OP_SHL: i32 = 12;
export const OP_SHR: i32 = 13;
export const OP_PRELU: i32 = 14;
export const OP_EQ: i32 = 20;
export const OP_LT: i32 = 21;
export const OP_GT: i32 = 22;
export const OP_LE: i32 = 23;
export const OP_GE: i32 = 24;

// @ts-ignore: decorator
@inline function binop<T>(op: i32, a: T, b: T): T {
  if (op == OP_ADD) return a + b;
  if (op == OP_SUB) return a - b;
  if (op == OP_MUL) return a * b;
  if (op == OP_DIV) {
    if (isFloat<T>()) return a / b;
    // Integer division truncates toward zero. x/0 is defined as 0 and MIN/-1 wraps, so that no
    // input can trap.
    if (b == <T>0) return <T>0;
    if (isSigned<T>() && b == <T>-1) return <T>0 - a;
    return a / b;
  }
  if (op == OP_POW) {
    if (isFloat<T>()) {
      if (sizeof<T>() == 4) return <T>Mathf.pow(<f32>a, <f32>b);
      return <T>Math.pow(<f64>a, <f64>b);
    }
    return <T>Math.pow(<f64>a, <f64>b);
  }
  if (op == OP_MAX) {
    if (isFloat<T>()) return <T>max<T>(a, b);
    return a > b ? a : b;
  }
  if (op == OP_MIN) {
    if (isFloat<T>()) return <T>min<T>(a, b);
    return a < b ? a : b;
  }
  if (op == OP_MOD) {
    if (isFloat<T>()) {
      const r = a % b;
      return (r != <T>0 && (r < <T>0) != (b < <T>0)) ? r + b : r;
    }
    if (b == <T>0) return <T>0;
    if (isSigned<T>() && b == <T>-1) return <T>0;
    const r = a % b;
    if (isSigned<T>()) return (r != <T>0 && (r < <T>0) != (b < <T>0)) ? <T>(r + b) : r;
    return r;
  }
  if (op == OP_FMOD) {
    if (isFloat<T>()) return a % b;
    if (b == <T>0) return <T>0;
    if (isSigned<T>() && b == <T>-1) return <T>0;
    return a % b;
  }
  if (op == OP_PRELU) return a < <T>0 ? <T>(a * b) : a;
  if (!isFloat<T>()) {
    if (op == OP_BITAND) return a & b;
    if (op == OP_BITOR) return a | b;
    if (op == OP_BITXOR) return a ^ b;
    // Shifts by the type's width or more give 0 (numpy and onnxruntime agree).
    if (op == OP_SHL) return <u64>b >= <u64>(sizeof<T>() * 8) ? <T>0 : <T>(a << b);
    if (op == OP_SHR) return <u64>b >= <u64>(sizeof<T>() * 8) ? <T>0 : <T>(a >> b);
  }
  return <T>0;
}

// @ts-ignore: decorator
@inline function cmpop<T>(op: i32, a: T, b: T): u8 {
  if (op == OP_EQ) return <u8>(a == b);
  if (op == OP_LT) return <u8>(a < b);
  if (op == OP_GT) return <u8>(a > b);
  if (op == OP_LE) return <u8>(a <= b);
  return <u8>(a >= b);
}

// @ts-ignore: decorator
@inline function f32x4_binop(op: i32, a: v128, b: v128): v128 {
  if (op == OP_ADD) return f32x4.add(a, b);
  if (op == OP_SUB) return f32x4.sub(a, b);
  if (op == OP_MUL) return f32x4.mul(a, b);
  if (op == OP_DIV) return f32x4.div(a, b);
  if (op == OP_MAX) return f32x4.max(a, b);
  return f32x4.min(a, b);
}

// @ts-ignore: decorator
@inline function simdable(op: i32): bool {
  return op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_DIV || op == OP_MAX || op == OP_MIN;
}

/** One contiguous output row; `sa`/`sb` are 0 (broadcast) or 1. */
// @ts-ignore: decorator
@inline function binRow<T>(op: i32, a: usize, b: usize, y: usize, n: i32, sa: i32, sb: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4 && isFloat<T>() && simdable(op)) {
      if (sa == 1 && sb == 1) {
        for (; i + 4 <= n; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, f32x4_binop(op, v128.load(a + o), v128.load(b + o)));
        }
      } else if (sa == 1) {
        const vb = v128.load32_splat(b);
        for (; i + 4 <= n; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, f32x4_binop(op, v128.load(a + o), vb));
        }
      } else if (sb == 1) {
        const va = v128.load32_splat(a);
        for (; i + 4 <= n; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, f32x4_binop(op, va, v128.load(b + o)));
        }
      }
    }
  }
  const sz = sizeof<T>();
  const da = <usize>sa * sz;
  const db = <usize>sb * sz;
  let pa = a + <usize>i * da;
  let pb = b + <usize>i * db;
  for (; i < n; i++) {
    store<T>(y + <usize>i * sz, binop<T>(op, load<T>(pa), load<T>(pb)));
    pa += da;
    pb += db;
  }
}

// @ts-ignore: decorator
@inline function cmpRow<T>(op: i32, a: usize, b: usize, y: usize, n: i32, sa: i32, sb: i32): void {
  const sz = sizeof<T>();
  const da = <usize>sa * sz;
  const db = <usize>sb * sz;
  let pa = a;
  let pb = b;
  for (let i = 0; i < n; i++) {
    store<u8>(y + <usize>i, cmpop<T>(op, load<T>(pa), load<T>(pb)));
    pa += da;
    pb += db;
  }
}

/** Walks the rows of a broadcast descriptor; `row` receives operand element offsets. */
// @ts-ignore: decorator
@inline function broadcastRows<T>(op: i32, cmp: bool, a: usize, b: usize, y: usize, d: usize): void {
  const rank = desc(d, 0);
  const inner = desc(d, rank);
  const sa = desc(d, 2 * rank);
  const sb = desc(d, 3 * rank);
  let rows = 1;
  for (let k = 1; k < rank; k++) rows *= desc(d, k);
  const sz = <usize>sizeof<T>();
  for (let r = 0; r < rows; r++) {
    let rem = r;
    let oa = 0;
    let ob = 0;
    for (let k = rank - 1; k >= 1; k--) {
      const dim = desc(d, k);
      const idx = rem % dim;
      rem /= dim;
      oa += idx * desc(d, rank + k);
      ob += idx * desc(d, 2 * rank + k);
    }
    const pa = a + <usize>oa * sz;
    const pb = b + <usize>ob * sz;
    if (cmp) cmpRow<T>(op, pa, pb, y + <usize>r * <usize>inner, inner, sa, sb);
    else binRow<T>(op, pa, pb, y + <usize>r * <usize>inner * sz, inner, sa, sb);
  }
}

function binaryT<T>(op: i32, a: usize, b: usize, y: usize, d: usize): void {
  if (op >= OP_EQ) broadcastRows<T>(op, true, a, b, y, d);
  else broadcastRows<T>(op, false, a, b, y, d);
}

/** y = a (op) b with broadcasting. Comparison ops write bool (u8) outputs. */
export function binary(op: i32, dt: i32, a: usize, b: usize, y: usize, d: usize): void {
  switch (dt) {
    case DT_F32: binaryT<f32>(op, a, b, y, d); break;
    case DT_F64: binaryT<f64>(op, a, b, y, d); break;
    case DT_I8: binaryT<i8>(op, a, b, y, d); break;
    case DT_U8: case DT_BOOL: binaryT<u8>(op, a, b, y, d); break;
    case DT_I16: binaryT<i16>(op, a, b, y, d); break;
    case DT_U16: binaryT<u16>(op, a, b, y, d); break;
    case DT_I32: binaryT<i32>(op, a, b, y, d); break;
    case DT_U32: binaryT<u32>(op, a, b, y, d); break;
    case DT_I64: binaryT<i64>(op, a, b, y, d); break;
    case DT_U64: binaryT<u64>(op, a, b, y, d); break;
  }
}

/**
 * y = cond ? a : b with broadcasting; `esize` is the element byte size of a, b and y.
 * Descriptor: [rank, dims[rank], cStrides[rank], aStrides[rank], bStrides[rank]].
 */
export function where(esize: i32, c: usize, a: usize, b: usize, y: usize, d: usize): void {
  const rank = desc(d, 0);
  let total = 1;
  for (let k = 1; k <= rank; k++) total *= desc(d, k);
  const sz = <usize>esize;
  for (let i = 0; i < total; i++) {
    let rem = i;
    let oc = 0;
    let oa = 0;
    let ob = 0;
    for (let k = rank - 1; k >= 0; k--) {
      const dim = desc(d, 1 + k);
      const idx = rem % dim;
      rem /= dim;
      oc += idx * desc(d, 1 + rank + k);
      oa += idx * desc(d, 1 + 2 * rank + k);
      ob += idx * desc(d, 1 + 3 * rank + k);
    }
    const src = load<u8>(c + <usize>oc) != 0 ? a + <usize>oa * sz : b + <usize>ob * sz;
    memory.copy(y + <usize>i * sz, src, sz);
  }
}
