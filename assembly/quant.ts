// ONNX QuantizeLinear and DequantizeLinear over every granularity. Element semantics (and the
// exact float operation order) live in quant_elem.ts; SIMD runs in quant_simd.ts.
//
// Granularity descriptor `d` (7 × i32): [outer, D, inner, B, so, sd, si]. x is viewed as
// [outer, D, inner] with the quantized axis in the middle; element (o, j, i) uses scale and zero
// point index  o·so + ⌊j / B⌋·sd + i·si  (si is 0 or 1). Per-tensor: all strides 0. Per-axis:
// B = 1, sd = 1 (or, when the axis is the last one, D = 1 and si = 1). Blocked: B = block size,
// ⌈D/B⌉ blocks, the last one possibly partial.
//
// Arguments: xdt, sdt (scale), ydt, prec (the division precision) are TensorProto dtype codes;
// x, s, zp, y are addresses, zp = 0 when there is no zero point (its dtype is ydt for Quantize,
// xdt for Dequantize). Sub-byte tensors are packed low bits first; elements are written in
// ascending order. Both return 1 for a dtype combination they do not handle, 2 for a float8
// (or, dequantizing, float4) zero point that is not ±0 (the ONNX reference rejects or ignores
// those), else 0.

import { DT_F32, DT_I32, DT_F4E2M1, desc } from './common';
import { loadF } from './cast_elem';
import { isQuantFloat, isQuantInt, isScaleType, quantizeElem, dequantizeElem, roundTo } from './quant_elem';
import { quantizeRunSimd, dequantizeRunSimd } from './quant_simd';

// @ts-ignore: decorator
@inline function scaleAt(sdt: i32, prec: i32, s: usize, k: usize): f32 {
  return roundTo(prec, sdt == DT_F32 ? load<f32>(s + (k << 2)) : <f32>loadF(sdt, s, k));
}

function quantizeTypesOk(xdt: i32, sdt: i32, ydt: i32, prec: i32): bool {
  return (isScaleType(xdt) || xdt == DT_I32) && isScaleType(sdt) && isScaleType(prec) &&
    (isQuantInt(ydt) || isQuantFloat(ydt));
}

function dequantizeTypesOk(xdt: i32, sdt: i32, ydt: i32): bool {
  return (isQuantInt(xdt) || xdt == DT_I32 || isQuantFloat(xdt)) && isScaleType(sdt) && isScaleType(ydt);
}

/** Number of scales (and zero points) the descriptor addresses. */
function scaleCount(d: usize): usize {
  const outer = desc(d, 0), D = desc(d, 1), inner = desc(d, 2), B = desc(d, 3);
  if (outer == 0 || D == 0 || inner == 0) return 0;
  const blocks = (D + B - 1) / B;
  return <usize>(outer - 1) * <usize>desc(d, 4) + <usize>(blocks - 1) * <usize>desc(d, 5) +
    <usize>(inner - 1) * <usize>desc(d, 6) + 1;
}

function allZero(dt: i32, zp: usize, n: usize): bool {
  for (let k: usize = 0; k < n; k++) if (loadF(dt, zp, k) != 0) return false;
  return true;
}

/** Elements e0 … e0+n−1 with scales from index k (perElem: k+j for element j, else k for all). */
export function quantizeRun(xdt: i32, sdt: i32, ydt: i32, prec: i32, x: usize, s: usize, zp: usize, y: usize,
  e0: usize, n: i32, k: usize, perElem: bool, saturate: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) j = quantizeRunSimd(xdt, sdt, ydt, prec, x, s, zp, y, e0, n, k, perElem);
  for (; j < n; j++) {
    const kj = perElem ? k + <usize>j : k;
    quantizeElem(xdt, ydt, prec, x, zp, y, e0 + <usize>j, scaleAt(sdt, prec, s, kj), kj, saturate);
  }
}

function dequantizeRun(xdt: i32, sdt: i32, ydt: i32, x: usize, s: usize, zp: usize, y: usize,
  e0: usize, n: i32, k: usize, perElem: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) j = dequantizeRunSimd(xdt, sdt, ydt, x, s, zp, y, e0, n, k, perElem);
  for (; j < n; j++) {
    const kj = perElem ? k + <usize>j : k;
    dequantizeElem(xdt, ydt, x, zp, y, e0 + <usize>j, scaleAt(sdt, DT_F32, s, kj), kj);
  }
}

// The fast drivers walk x in memory order, one run per block: with si = 0 a whole block (all its
// rows j and inner elements i) shares one scale; with si = 1 each row j is a run of `inner`
// consecutive scales.

export function quantize_linear(xdt: i32, sdt: i32, ydt: i32, prec: i32, x: usize, s: usize, zp: usize, y: usize,
  d: usize, saturate: i32): i32 {
  if (!quantizeTypesOk(xdt, sdt, ydt, prec)) return 1;
  if (isQuantFloat(ydt) && ydt != DT_F4E2M1 && zp != 0) {
    if (!allZero(ydt, zp, scaleCount(d))) return 2;
    zp = 0;
  }
  const outer = desc(d, 0), D = desc(d, 1), inner = desc(d, 2), B = desc(d, 3);
  const so = <usize>desc(d, 4), sd = <usize>desc(d, 5), si = desc(d, 6);
  const blocks = (D + B - 1) / B;
  let e: usize = 0;
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < blocks; b++) {
      const rows = min(B, D - b * B);
      const k = <usize>o * so + <usize>b * sd;
      if (si == 0) {
        quantizeRun(xdt, sdt, ydt, prec, x, s, zp, y, e, rows * inner, k, false, saturate != 0);
        e += <usize>(rows * inner);
      } else {
        for (let j = 0; j < rows; j++, e += <usize>inner) {
          quantizeRun(xdt, sdt, ydt, prec, x, s, zp, y, e, inner, k, true, saturate != 0);
        }
      }
    }
  }
  return 0;
}

export function dequantize_linear(xdt: i32, sdt: i32, ydt: i32, x: usize, s: usize, zp: usize, y: usize,
  d: usize): i32 {
  if (!dequantizeTypesOk(xdt, sdt, ydt)) return 1;
  if (isQuantFloat(xdt) && zp != 0) {
    if (!allZero(xdt, zp, scaleCount(d))) return 2;
    zp = 0;
  }
  const outer = desc(d, 0), D = desc(d, 1), inner = desc(d, 2), B = desc(d, 3);
  const so = <usize>desc(d, 4), sd = <usize>desc(d, 5), si = desc(d, 6);
  const blocks = (D + B - 1) / B;
  let e: usize = 0;
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < blocks; b++) {
      const rows = min(B, D - b * B);
      const k = <usize>o * so + <usize>b * sd;
      if (si == 0) {
        dequantizeRun(xdt, sdt, ydt, x, s, zp, y, e, rows * inner, k, false);
        e += <usize>(rows * inner);
      } else {
        for (let j = 0; j < rows; j++, e += <usize>inner) dequantizeRun(xdt, sdt, ydt, x, s, zp, y, e, inner, k, true);
      }
    }
  }
  return 0;
}

// ---- scalar references: one element at a time, scale index from (o, j, i) directly ------------

// @ts-ignore: decorator
@inline function scaleIndex(d: usize, o: i32, j: i32, i: i32): usize {
  return <usize>o * <usize>desc(d, 4) + <usize>(j / desc(d, 3)) * <usize>desc(d, 5) + <usize>i * <usize>desc(d, 6);
}

export function quantize_linear__ref(xdt: i32, sdt: i32, ydt: i32, prec: i32, x: usize, s: usize, zp: usize,
  y: usize, d: usize, saturate: i32): i32 {
  if (!quantizeTypesOk(xdt, sdt, ydt, prec)) return 1;
  const outer = desc(d, 0), D = desc(d, 1), inner = desc(d, 2);
  let e: usize = 0;
  for (let o = 0; o < outer; o++) for (let j = 0; j < D; j++) for (let i = 0; i < inner; i++, e++) {
    const k = scaleIndex(d, o, j, i);
    quantizeElem(xdt, ydt, prec, x, zp, y, e, scaleAt(sdt, prec, s, k), k, saturate != 0);
  }
  return 0;
}

export function dequantize_linear__ref(xdt: i32, sdt: i32, ydt: i32, x: usize, s: usize, zp: usize, y: usize,
  d: usize): i32 {
  if (!dequantizeTypesOk(xdt, sdt, ydt)) return 1;
  const outer = desc(d, 0), D = desc(d, 1), inner = desc(d, 2);
  let e: usize = 0;
  for (let o = 0; o < outer; o++) for (let j = 0; j < D; j++) for (let i = 0; i < inner; i++, e++) {
    const k = scaleIndex(d, o, j, i);
    dequantizeElem(xdt, ydt, x, zp, y, e, scaleAt(sdt, DT_F32, s, k), k);
  }
  return 0;
}
