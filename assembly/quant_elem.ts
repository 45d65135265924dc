// One element of ONNX QuantizeLinear / DequantizeLinear, bit-exact to the ONNX reference
// implementation (onnx/reference/ops/op_quantize_linear.py, op_dequantize_linear.py), which
// computes with numpy in the tensors' own float types:
//
// QuantizeLinear, with P the division precision (the `precision` attribute, else the scale type):
//   q = P(P(x) / P(scale))           the division is done in f32 and rounded to P; for
//                                    P = f16/bf16 that is the correctly rounded P division
//                                    (f32 has ≥ 2p+2 bits), as numpy's float16 division is.
//   integer y: t = round_half_even(q) + zero_point (in f32: exact while it matters, any |q| ≥ 2^24
//              saturates anyway), then clamp to the type's range; NaN → the range's minimum (what
//              onnxruntime's minps/maxps clamp gives), ±Inf → the range's ends.
//   float8 y:  Cast of q (minifloat.ts), `saturate` as in Cast; the zero point is ignored (the host
//              requires it to be zero).
//   float4e2m1 y: Cast of P(q + zero_point).
// onnxruntime also divides (MlasQuantizeLinear: x / scale, not x · (1/scale)).
//
// DequantizeLinear: d = f32(x) − zero_point, exact in f32 for every ≤ 16-bit integer type; int32
// x follows numpy's promotion (f32(x) − int32 in f64); float8/float4 x ignore the zero point.
// y = d · scale in f32 (f64 for int32 x), then rounded to the output type.

import { DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_I4, DT_U4, DT_I2, DT_U2, DT_F4E2M1,
  DT_F8E4M3FN, DT_F8E5M2FNUZ } from './common';
import { loadF, loadI, storeF, storeInt } from './cast_elem';
import { KIND_IEEE, encodeMini, decodeMini } from './minifloat';

/** Integer types QuantizeLinear writes (and DequantizeLinear reads, with int32). */
// @ts-ignore: decorator
@inline export function isQuantInt(dt: i32): bool {
  return dt == DT_I8 || dt == DT_U8 || dt == DT_I16 || dt == DT_U16 || dt == DT_I4 || dt == DT_U4 || dt == DT_I2 ||
    dt == DT_U2;
}

// @ts-ignore: decorator
@inline export function isQuantFloat(dt: i32): bool {
  return (dt >= DT_F8E4M3FN && dt <= DT_F8E5M2FNUZ) || dt == DT_F4E2M1;
}

/** f32, f16 and bf16: the scale types, division precisions and DequantizeLinear outputs. */
// @ts-ignore: decorator
@inline export function isScaleType(dt: i32): bool {
  return dt == DT_F32 || dt == DT_F16 || dt == DT_BF16;
}

// @ts-ignore: decorator
@inline export function quantMin(dt: i32): f32 {
  switch (dt) {
    case DT_I8: return -128;
    case DT_I16: return -32768;
    case DT_I4: return -8;
    case DT_I2: return -2;
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function quantMax(dt: i32): f32 {
  switch (dt) {
    case DT_I8: return 127;
    case DT_U8: return 255;
    case DT_I16: return 32767;
    case DT_U16: return 65535;
    case DT_I4: return 7;
    case DT_U4: return 15;
    case DT_I2: return 1;
  }
  return 3;
}

/** v rounded to precision P (f32, f16 or bf16), nearest even. */
// @ts-ignore: decorator
@inline export function roundTo(prec: i32, v: f32): f32 {
  return prec == DT_F32 ? v : roundNarrow(prec, v);
}

function roundNarrow(prec: i32, v: f32): f32 {
  if (prec == DT_F16) return <f32>decodeMini(encodeMini(<f64>v, 5, 10, 15, KIND_IEEE, false), 5, 10, 15, KIND_IEEE);
  if (prec == DT_BF16) return <f32>decodeMini(encodeMini(<f64>v, 8, 7, 127, KIND_IEEE, false), 8, 7, 127, KIND_IEEE);
  return v;
}

/** Element i of a float (f32/f16/bf16) or int32 tensor as f32 (int32 rounds to nearest even). */
// @ts-ignore: decorator
@inline export function loadQuantInput(dt: i32, x: usize, i: usize): f32 {
  if (dt == DT_F32) return load<f32>(x + (i << 2));
  if (dt == DT_I32) return <f32>load<i32>(x + (i << 2));
  return <f32>loadF(dt, x, i);
}

/** round_half_even(q) + zp clamped to [lo, hi]; NaN → lo. */
// @ts-ignore: decorator
@inline export function quantizeToInt(q: f32, zp: f32, lo: f32, hi: f32): i32 {
  let t = nearest(q) + zp;
  if (!(t >= lo)) t = lo;
  if (t > hi) t = hi;
  return <i32>t;
}

/** y[i] = quantize(x[i]) with scale `sc` and zero point element `zi` (zp = 0: none). */
// @ts-ignore: decorator
@inline export function quantizeElem(xdt: i32, ydt: i32, prec: i32, x: usize, zp: usize, y: usize, i: usize,
  sc: f32, zi: usize, saturate: bool): void {
  const q = roundTo(prec, roundTo(prec, loadQuantInput(xdt, x, i)) / sc);
  if (isQuantInt(ydt)) {
    const z: f32 = zp != 0 ? <f32>loadI(ydt, zp, zi) : 0;
    storeInt(ydt, y, i, <i64>quantizeToInt(q, z, quantMin(ydt), quantMax(ydt)));
  } else if (ydt == DT_F4E2M1) {
    const z: f32 = zp != 0 ? <f32>loadF(ydt, zp, zi) : 0;
    storeF(ydt, y, i, <f64>roundTo(prec, q + z), true, 0);
  } else {
    storeF(ydt, y, i, <f64>q, saturate, 0);
  }
}

/** Element i of a DequantizeLinear input minus its zero point (element `zi`; zp = 0: none). */
// @ts-ignore: decorator
@inline export function centeredElem(xdt: i32, x: usize, zp: usize, i: usize, zi: usize): f64 {
  if (xdt == DT_I32) return <f64><f32>load<i32>(x + (i << 2)) - (zp != 0 ? <f64>load<i32>(zp + (zi << 2)) : 0);
  if (isQuantInt(xdt)) return <f64>(<i32>loadI(xdt, x, i) - (zp != 0 ? <i32>loadI(xdt, zp, zi) : 0));
  return loadF(xdt, x, i);
}

/** y[i] = centered · sc, computed in f32 (f64 for int32 input), stored as the output type. */
// @ts-ignore: decorator
@inline export function dequantizeElem(xdt: i32, ydt: i32, x: usize, zp: usize, y: usize, i: usize, sc: f32,
  zi: usize): void {
  const d = centeredElem(xdt, x, zp, i, zi);
  const v: f32 = xdt == DT_I32 ? <f32>(d * <f64>sc) : <f32>d * sc;
  if (ydt == DT_F32) store<f32>(y + (i << 2), v);
  else storeF(ydt, y, i, <f64>v, false, 0);
}
