// ONNX DynamicQuantizeLinear: float32 x → uint8 y, scalar scale and zero point.
//
// As the ONNX reference and onnxruntime (GetQuantizationParameter) compute them, in f32:
//   lo = min(0, min(x)), hi = max(0, max(x))
//   scale = hi == lo ? 1 : (hi − lo) / 255        (hi == lo only for all-zero x: onnxruntime's 1,
//                                                  where the reference writes 1/255; y is 0 either way)
//   zero_point = round_half_even(clamp(0 − lo / scale, 0, 255))
//   y = QuantizeLinear(x, scale, zero_point) per tensor (quant_elem.ts: x / scale, nearest-even).
// NaN elements do not take part in min/max (comparisons with NaN are false) and quantize to 0.

import { DT_F32, DT_U8 } from './common';
import { quantizeRun } from './quant';

/** Writes min(x) and max(x) (NaN skipped; +Inf / −Inf for n = 0) to out[0], out[1]. */
function minMaxF32(x: usize, n: i32, out: usize): void {
  let lo: f32 = Infinity, hi: f32 = -Infinity;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    // pmin(a, b) = b < a ? b : a: a NaN in b leaves the accumulator as it was.
    let vlo = f32x4.splat(Infinity), vhi = f32x4.splat(-Infinity);
    for (; j + 4 <= n; j += 4) {
      const v = v128.load(x + (<usize>j << 2));
      vlo = f32x4.pmin(vlo, v);
      vhi = f32x4.pmax(vhi, v);
    }
    for (let l = 0; l < 4; l++) {
      const a = f32x4.extract_lane(vlo, 0), b = f32x4.extract_lane(vhi, 0);
      if (a < lo) lo = a;
      if (b > hi) hi = b;
      vlo = i32x4.shuffle(vlo, vlo, 1, 2, 3, 0);
      vhi = i32x4.shuffle(vhi, vhi, 1, 2, 3, 0);
    }
  }
  for (; j < n; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f32>(out, lo);
  store<f32>(out, hi, 4);
}

// 16-byte aligned scratch for min/max.
const MINMAX: usize = memory.data(16, 16);

export function dynamic_quantize_linear_f32(x: usize, n: i32, y: usize, yScale: usize, yZeroPoint: usize): i32 {
  minMaxF32(x, n, MINMAX);
  let lo = load<f32>(MINMAX), hi = load<f32>(MINMAX, 4);
  if (!(lo < 0)) lo = 0;
  if (!(hi > 0)) hi = 0;
  const scale: f32 = hi == lo ? 1 : (hi - lo) / <f32>255;
  let zp: f32 = <f32>0 - lo / scale;
  if (zp < 0) zp = 0;
  if (zp > 255) zp = 255;
  store<f32>(yScale, scale);
  store<u8>(yZeroPoint, <u8>nearest(zp));
  quantizeRun(DT_F32, DT_F32, DT_U8, DT_F32, x, yScale, yZeroPoint, y, 0, n, 0, false, false);
  return 0;
}
