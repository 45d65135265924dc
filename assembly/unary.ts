// Elementwise unary kernels over contiguous buffers: y[i] = f(x[i]) for every numeric dtype.
// Parameterised ops read their attributes from p0/p1 (f32 for the float activations).

import {
  DT_F32, DT_F64, DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_U32, DT_I64, DT_U64, DT_BOOL,
} from './common';
import { erf64 } from './mathx';
import { erf_f32, erf_gelu_f32x4, gelu_f32 } from './erf_f32';

export const U_NEG: i32 = 0;
export const U_ABS: i32 = 1;
export const U_SQRT: i32 = 2;
export const U_EXP: i32 = 3;
export const U_LOG: i32 = 4;
export const U_ERF: i32 = 5;
export const U_TANH: i32 = 6;
export const U_SIGMOID: i32 = 7;
export const U_RELU: i32 = 8;
export const U_RECIP: i32 = 9;
export const U_FLOOR: i32 = 10;
export const U_CEIL: i32 = 11;
export const U_ROUND: i32 = 12; // half to even
export const U_SIGN: i32 = 13;
export const U_GELU: i32 = 14; // 0.5·x·(1 + erf(x/√2))
export const U_GELU_TANH: i32 = 15; // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
export const U_LEAKYRELU: i32 = 16; // p0 = alpha
export const U_ELU: i32 = 17; // p0 = alpha
export const U_HARDSIGMOID: i32 = 18; // p0 = alpha, p1 = beta
export const U_SOFTPLUS: i32 = 19;
export const U_CLIP: i32 = 20; // p0 = min, p1 = max
export const U_NOT: i32 = 21;
export const U_BITNOT: i32 = 22;
export const U_SIN: i32 = 23;
export const U_COS: i32 = 24;
export const U_COPY: i32 = 25;
export const U_HARDSWISH: i32 = 26;
export const U_SELU: i32 = 27; // p0 = alpha, p1 = gamma
export const U_SOFTSIGN: i32 = 28;

// @ts-ignore: decorator
@inline function unf<T>(op: i32, x: T, p0: f32, p1: f32): T {
  // Float path: evaluated in the type's own precision (erf/gelu in f32: erf_f32.ts) except
  // gelu_tanh and softplus (f64 internally).
  const is32 = sizeof<T>() == 4;
  if (op == U_NEG) return -x;
  if (op == U_ABS) return abs<T>(x);
  if (op == U_SQRT) return sqrt<T>(x);
  if (op == U_EXP) return is32 ? <T>Mathf.exp(<f32>x) : <T>Math.exp(<f64>x);
  if (op == U_LOG) return is32 ? <T>Mathf.log(<f32>x) : <T>Math.log(<f64>x);
  if (op == U_ERF) return is32 ? <T>erf_f32(<f32>x) : <T>erf64(<f64>x);
  if (op == U_TANH) return is32 ? <T>Mathf.tanh(<f32>x) : <T>Math.tanh(<f64>x);
  if (op == U_SIGMOID) {
    if (is32) {
      // Split by sign so exp never overflows and small outputs keep their relative precision.
      if (<f32>x >= 0) return <T>(<f32>1 / (<f32>1 + Mathf.exp(-<f32>x)));
      const e = Mathf.exp(<f32>x);
      return <T>(e / (<f32>1 + e));
    }
    if (<f64>x >= 0) return <T>(1.0 / (1.0 + Math.exp(-<f64>x)));
    const e = Math.exp(<f64>x);
    return <T>(e / (1.0 + e));
  }
  if (op == U_RELU) return max<T>(x, <T>0); // NaN stays NaN, as numpy max(0, x) and f32x4.max
  if (op == U_RECIP) return <T>1 / x;
  if (op == U_FLOOR) return floor<T>(x);
  if (op == U_CEIL) return ceil<T>(x);
  if (op == U_ROUND) return nearest<T>(x);
  if (op == U_SIGN) return x > <T>0 ? <T>1 : (x < <T>0 ? <T>-1 : x);
  if (op == U_GELU) {
    if (is32) return <T>gelu_f32(<f32>x);
    const v = <f64>x;
    return <T>(0.5 * v * (1.0 + erf64(v * 0.7071067811865476)));
  }
  if (op == U_GELU_TANH) {
    const v = <f64>x;
    return <T>(0.5 * v * (1.0 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
  }
  if (op == U_LEAKYRELU) return x >= <T>0 ? x : <T>(<T>p0 * x);
  if (op == U_ELU) return x >= <T>0 ? x : <T>(<T>p0 * (<T>(is32 ? <f64>Mathf.exp(<f32>x) : Math.exp(<f64>x)) - <T>1));
  if (op == U_HARDSIGMOID) return max<T>(<T>0, min<T>(<T>1, <T>p0 * x + <T>p1));
  if (op == U_SOFTPLUS) {
    const v = <f64>x;
    return <T>(v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));
  }
  if (op == U_CLIP) return min<T>(max<T>(x, <T>p0), <T>p1);
  if (op == U_SIN) return is32 ? <T>Mathf.sin(<f32>x) : <T>Math.sin(<f64>x);
  if (op == U_COS) return is32 ? <T>Mathf.cos(<f32>x) : <T>Math.cos(<f64>x);
  if (op == U_HARDSWISH) return x * max<T>(<T>0, min<T>(<T>1, x / <T>6 + <T>0.5));
  if (op == U_SELU) {
    return x > <T>0 ? <T>(<T>p1 * x)
      : <T>(<T>p1 * (<T>p0 * (<T>(is32 ? <f64>Mathf.exp(<f32>x) : Math.exp(<f64>x)) - <T>1)));
  }
  if (op == U_SOFTSIGN) return x / (<T>1 + abs<T>(x));
  return x;
}

// @ts-ignore: decorator
@inline function uni<T>(op: i32, x: T): T {
  // Integer path.
  if (op == U_NEG) return <T>0 - x;
  if (op == U_ABS) return isSigned<T>() ? (x < <T>0 ? <T>0 - x : x) : x;
  if (op == U_RELU) return isSigned<T>() ? (x < <T>0 ? <T>0 : x) : x;
  if (op == U_SIGN) return x > <T>0 ? <T>1 : (x < <T>0 ? <T>-1 : <T>0);
  if (op == U_BITNOT) return ~x;
  if (op == U_NOT) return x == <T>0 ? <T>1 : <T>0;
  return x;
}

function unaryFloat<T>(op: i32, x: usize, y: usize, n: i32, p0: f32, p1: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (sizeof<T>() == 4) {
      const zero = f32x4.splat(0);
      if (op == U_RELU) {
        for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.max(v128.load(x + o), zero)); }
      } else if (op == U_CLIP) {
        const lo = f32x4.splat(p0);
        const hi = f32x4.splat(p1);
        for (; i + 4 <= n; i += 4) {
          const o = <usize>i << 2;
          v128.store(y + o, f32x4.min(f32x4.max(v128.load(x + o), lo), hi));
        }
      } else if (op == U_NEG) {
        for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.neg(v128.load(x + o))); }
      } else if (op == U_ABS) {
        for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.abs(v128.load(x + o))); }
      } else if (op == U_SQRT) {
        for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, f32x4.sqrt(v128.load(x + o))); }
      } else if (op == U_ERF || op == U_GELU) {
        erf_gelu_f32x4(x, y, n, op == U_GELU);
        i = n & ~3;
      } else if (op == U_COPY) {
        memory.copy(y, x, <usize>n << 2);
        return;
      }
    }
  }
  const sz = <usize>sizeof<T>();
  for (; i < n; i++) store<T>(y + <usize>i * sz, unf<T>(op, load<T>(x + <usize>i * sz), p0, p1));
}

function unaryInt<T>(op: i32, x: usize, y: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  if (op == U_COPY) { memory.copy(y, x, <usize>n * sz); return; }
  for (let i = 0; i < n; i++) store<T>(y + <usize>i * sz, uni<T>(op, load<T>(x + <usize>i * sz)));
}

export function unary(op: i32, dt: i32, x: usize, y: usize, n: i32, p0: f32, p1: f32): void {
  switch (dt) {
    case DT_F32: unaryFloat<f32>(op, x, y, n, p0, p1); break;
    case DT_F64: unaryFloat<f64>(op, x, y, n, p0, p1); break;
    case DT_I8: unaryInt<i8>(op, x, y, n); break;
    case DT_U8: case DT_BOOL: unaryInt<u8>(op, x, y, n); break;
    case DT_I16: unaryInt<i16>(op, x, y, n); break;
    case DT_U16: unaryInt<u16>(op, x, y, n); break;
    case DT_I32: unaryInt<i32>(op, x, y, n); break;
    case DT_U32: unaryInt<u32>(op, x, y, n); break;
    case DT_I64: unaryInt<i64>(op, x, y, n); break;
    case DT_U64: unaryInt<u64>(op, x, y, n); break;
  }
}
