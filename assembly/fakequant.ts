// QONNX fake-quant kernels (float in, float out): Quant/IntQuant, its 1-bit signed bipolar case,
// BipolarQuant, Trunc (v1) and FINN MultiThreshold. Semantics: FORMATS.md § QONNX, checked against
// qonnx's numpy implementation (custom_op/general/intquant.py, bipolar_quant.py, trunc.py,
// multithreshold.py).
//
// Float operation order, one f32 rounding per step exactly as numpy evaluates it in float32 (no
// fused multiply-add, no reciprocal), so outputs are bit-identical to qonnx's executor:
//   Quant:        t = x / s;  t = t + z;  t = (t > hi ? hi : t);  t = (t < lo ? lo : t);
//                 t = round_mode(t);  y = (t − z) · s
//                 (qonnx clamps before rounding, as FORMATS.md says; the comparisons keep NaN and
//                 −0, which min/max would not)
//   Quant b=1 signed (bipolar): t = x / s + z;  t = (t ≥ 0 ? 1 : −1);  y = (t − z) · s
//   BipolarQuant: t = (x ≥ 0 ? 1 : −1);  y = (t − 0) · s           (NaN → −1, as np.where)
//   Trunc v1:     t = round_half_even(x / s + z);  t = t / 2^k;  t = round_mode(t);  y = (t − z) · s
// Rounding modes follow resolve_rounding_mode: UP, HALF_UP, HALF_DOWN are sign(t)·f(|t|) with
// numpy's sign (±0 → +0, NaN → NaN).
//
// Broadcast descriptor: [rank, dims[rank], xStrides[rank], sStrides[rank], zStrides[rank]] in
// elements (0 where broadcast), output contiguous; the innermost strides are 0 or 1.

import { desc } from './common';

export const KIND_QUANT: i32 = 0;
export const KIND_QUANT_BIPOLAR: i32 = 1;
export const KIND_BIPOLAR: i32 = 2;
export const KIND_TRUNC: i32 = 3;

export const ROUND_HALF_EVEN: i32 = 0;
export const ROUND_CEIL: i32 = 1;
export const ROUND_FLOOR: i32 = 2;
export const ROUND_UP: i32 = 3;
export const ROUND_DOWN: i32 = 4;
export const ROUND_HALF_UP: i32 = 5;
export const ROUND_HALF_DOWN: i32 = 6;

/** numpy's sign: 1, −1, +0 for ±0 (NaN becomes NaN through the product it feeds). */
// @ts-ignore: decorator
@inline function signOf(t: f32): f32 {
  return t > 0 ? 1 : t < 0 ? -1 : 0;
}

// Half-to-even (QONNX's default ROUND) is inlined; the other modes are one call each, which keeps
// the many inlined copies of this small.
// @ts-ignore: decorator
@inline function roundMode(mode: i32, t: f32): f32 {
  return mode == ROUND_HALF_EVEN ? nearest<f32>(t) : roundOtherMode(mode, t);
}

function roundOtherMode(mode: i32, t: f32): f32 {
  switch (mode) {
    case ROUND_CEIL: return Mathf.ceil(t);
    case ROUND_FLOOR: return Mathf.floor(t);
    case ROUND_UP: return signOf(t) * Mathf.ceil(Mathf.abs(t));
    case ROUND_DOWN: return Mathf.trunc(t);
    case ROUND_HALF_UP: return signOf(t) * Mathf.floor(Mathf.abs(t) + 0.5);
    default: return signOf(t) * Mathf.ceil(Mathf.abs(t) - 0.5);
  }
}

/** The quantised value t of one element: every step of the header's order before `t − z`. */
// @ts-ignore: decorator
@inline function quantValue(kind: i32, mode: i32, x: f32, s: f32, z: f32, lo: f32, hi: f32, div: f32): f32 {
  if (kind == KIND_BIPOLAR) return x >= 0 ? 1 : -1;
  let t = x / s;
  t = t + z;
  if (kind == KIND_QUANT_BIPOLAR) return t >= 0 ? 1 : -1;
  if (kind == KIND_TRUNC) {
    t = nearest<f32>(t);
    t = t / div;
    return roundMode(mode, t);
  }
  t = t > hi ? hi : t;
  t = t < lo ? lo : t;
  return roundMode(mode, t);
}

// @ts-ignore: decorator
@inline function fakeQuant(kind: i32, mode: i32, x: f32, s: f32, z: f32, lo: f32, hi: f32, div: f32): f32 {
  const t = quantValue(kind, mode, x, s, z, lo, hi, div) - z;
  return t * s;
}

// ---- SIMD Quant row (clamp + round, the common path) ----------------------------------------

// @ts-ignore: decorator
@inline function signOfV(t: v128): v128 {
  const one = f32x4.splat(1);
  return v128.or(v128.and(f32x4.gt(t, f32x4.splat(0)), one), v128.and(f32x4.lt(t, f32x4.splat(0)), f32x4.neg(one)));
}

// @ts-ignore: decorator
@inline function roundModeV(mode: i32, t: v128): v128 {
  return mode == ROUND_HALF_EVEN ? f32x4.nearest(t) : roundOtherModeV(mode, t);
}

function roundOtherModeV(mode: i32, t: v128): v128 {
  switch (mode) {
    case ROUND_CEIL: return f32x4.ceil(t);
    case ROUND_FLOOR: return f32x4.floor(t);
    case ROUND_UP: return f32x4.mul(signOfV(t), f32x4.ceil(f32x4.abs(t)));
    case ROUND_DOWN: return f32x4.trunc(t);
    case ROUND_HALF_UP: return f32x4.mul(signOfV(t), f32x4.floor(f32x4.add(f32x4.abs(t), f32x4.splat(0.5))));
    default: return f32x4.mul(signOfV(t), f32x4.ceil(f32x4.sub(f32x4.abs(t), f32x4.splat(0.5))));
  }
}

/** quantValue of KIND_QUANT on four lanes. */
// @ts-ignore: decorator
@inline function quantValueV(mode: i32, x: v128, vs: v128, vz: v128, vlo: v128, vhi: v128): v128 {
  let t = f32x4.add(f32x4.div(x, vs), vz);
  t = f32x4.pmin(t, vhi); // t > hi ? hi : t (NaN and −0 kept)
  t = f32x4.pmax(t, vlo); // t < lo ? lo : t
  return roundModeV(mode, t);
}

/** Quant over a row with contiguous x; scale / zero point contiguous (1) or splat (0). Returns elements done. */
// @ts-ignore: decorator
@inline function quantRowSimd(mode: i32, x: usize, s: usize, z: usize, y: usize, n: i32, ss: i32, sz: i32, lo: f32, hi: f32): i32 {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const vs = ss != 0 ? v128.load(s + o) : v128.load32_splat(s);
    const vz = sz != 0 ? v128.load(z + o) : v128.load32_splat(z);
    const t = quantValueV(mode, v128.load(x + o), vs, vz, vlo, vhi);
    v128.store(y + o, f32x4.mul(f32x4.sub(t, vz), vs));
  }
  return i;
}

// @ts-ignore: decorator
@inline function row(simd: bool, kind: i32, mode: i32, x: usize, s: usize, z: usize, y: usize, n: i32, sx: i32, ss: i32, sz: i32, lo: f32, hi: f32, div: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (simd && kind == KIND_QUANT && sx == 1) i = quantRowSimd(mode, x, s, z, y, n, ss, sz, lo, hi);
  }
  for (; i < n; i++) {
    const xv = load<f32>(x + ((<usize>(i * sx)) << 2));
    const sv = load<f32>(s + ((<usize>(i * ss)) << 2));
    const zv = load<f32>(z + ((<usize>(i * sz)) << 2));
    store<f32>(y + (<usize>i << 2), fakeQuant(kind, mode, xv, sv, zv, lo, hi, div));
  }
}

// @ts-ignore: decorator
@inline function walk(simd: bool, kind: i32, mode: i32, x: usize, s: usize, z: usize, y: usize, d: usize, lo: f32, hi: f32, div: f32): void {
  const rank = desc(d, 0);
  const inner = desc(d, rank);
  let rows = 1;
  for (let k = 1; k < rank; k++) rows *= desc(d, k);
  for (let r = 0; r < rows; r++) {
    let rem = r;
    let ox = 0;
    let os = 0;
    let oz = 0;
    for (let k = rank - 1; k >= 1; k--) {
      const dim = desc(d, k);
      const idx = rem % dim;
      rem /= dim;
      ox += idx * desc(d, rank + k);
      os += idx * desc(d, 2 * rank + k);
      oz += idx * desc(d, 3 * rank + k);
    }
    row(simd, kind, mode, x + (<usize>ox << 2), s + (<usize>os << 2), z + (<usize>oz << 2), y + (<usize>r * <usize>inner << 2), inner,
      desc(d, 2 * rank), desc(d, 3 * rank), desc(d, 4 * rank), lo, hi, div);
  }
}

/**
 * Fake quantization of f32 x with broadcast f32 scale s and zero point z (see the header for
 * kinds and float order). lo/hi: the clamp range of KIND_QUANT; div: Trunc's 2^(in − out bits).
 */
export function fake_quant_f32(kind: i32, mode: i32, x: usize, s: usize, z: usize, y: usize, d: usize, lo: f32, hi: f32, div: f32): void {
  walk(true, kind, mode, x, s, z, y, d, lo, hi, div);
}

export function fake_quant_f32__ref(kind: i32, mode: i32, x: usize, s: usize, z: usize, y: usize, d: usize, lo: f32, hi: f32, div: f32): void {
  walk(false, kind, mode, x, s, z, y, d, lo, hi, div);
}

// ---- the integer side, for integer layers (src/passes/qonnx-quant.ts) -----------------------

/**
 * t of the header's order for KIND_QUANT, KIND_QUANT_BIPOLAR or KIND_BIPOLAR with one scale s and
 * zero point z, over n contiguous x, stored as i8 (outSigned) or u8 at y: the integer an integer
 * layer reads where the literal graph reads (t − z)·s. The caller picks lo, hi (and the type) so
 * every t fits, which makes the stores exact. A NaN t (x NaN in KIND_QUANT) has no integer: it is
 * stored as 0 and counted. Returns the count.
 */
// @ts-ignore: decorator
@inline function quantQ8(simd: bool, kind: i32, mode: i32, x: usize, n: i32, s: f32, z: f32, lo: f32, hi: f32, outSigned: i32, y: usize): i32 {
  let i = 0;
  let nan = 0;
  if (ASC_FEATURE_SIMD) {
    if (simd && kind == KIND_QUANT) {
      const vs = f32x4.splat(s);
      const vz = f32x4.splat(z);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      let nanLanes = i32x4.splat(0);
      for (; i + 16 <= n; i += 16) {
        const p = x + (<usize>i << 2);
        const t0 = quantValueV(mode, v128.load(p), vs, vz, vlo, vhi);
        const t1 = quantValueV(mode, v128.load(p, 16), vs, vz, vlo, vhi);
        const t2 = quantValueV(mode, v128.load(p, 32), vs, vz, vlo, vhi);
        const t3 = quantValueV(mode, v128.load(p, 48), vs, vz, vlo, vhi);
        // ne(t, t) is all ones (−1) in a NaN lane; trunc_sat makes NaN 0.
        nanLanes = i32x4.add(nanLanes, i32x4.add(i32x4.add(f32x4.ne(t0, t0), f32x4.ne(t1, t1)), i32x4.add(f32x4.ne(t2, t2), f32x4.ne(t3, t3))));
        const h0 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(t0), i32x4.trunc_sat_f32x4_s(t1));
        const h1 = i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(t2), i32x4.trunc_sat_f32x4_s(t3));
        v128.store(y + <usize>i, outSigned ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
      }
      nan -= i32x4.extract_lane(nanLanes, 0) + i32x4.extract_lane(nanLanes, 1) + i32x4.extract_lane(nanLanes, 2) + i32x4.extract_lane(nanLanes, 3);
    }
  }
  for (; i < n; i++) {
    const t = quantValue(kind, mode, load<f32>(x + (<usize>i << 2)), s, z, lo, hi, 1);
    if (t != t) nan++;
    store<u8>(y + <usize>i, t != t ? 0 : outSigned ? <u8><i8><i32>t : <u8><i32>t);
  }
  return nan;
}

export function fake_quant_q8(kind: i32, mode: i32, x: usize, n: i32, s: f32, z: f32, lo: f32, hi: f32, outSigned: i32, y: usize): i32 {
  return quantQ8(true, kind, mode, x, n, s, z, lo, hi, outSigned, y);
}

export function fake_quant_q8__ref(kind: i32, mode: i32, x: usize, n: i32, s: f32, z: f32, lo: f32, hi: f32, outSigned: i32, y: usize): i32 {
  return quantQ8(false, kind, mode, x, n, s, z, lo, hi, outSigned, y);
}

/**
 * FINN MultiThreshold over v viewed as [outer, C, inner]: y = scale · #{j : v ≥ thr[c, j]} + bias,
 * thresholds (C, T) row-major, or one shared row when `thrStride` is 0.
 */
export function multithreshold_f32(v: usize, thr: usize, y: usize, outer: i32, C: i32, inner: i32, T: i32, thrStride: i32, scale: f32, bias: f32): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const row = thr + (<usize>(c * thrStride) << 2);
      const base = (<usize>(o * C + c) * <usize>inner) << 2;
      for (let i = 0; i < inner; i++) {
        const val = load<f32>(v + base + (<usize>i << 2));
        let count = 0;
        for (let j = 0; j < T; j++) count += i32(val >= load<f32>(row + (<usize>j << 2)));
        store<f32>(y + base + (<usize>i << 2), <f32>count * scale + bias);
      }
    }
  }
}
