// ONNX Cast between every numeric dtype (and bool). Element semantics live in cast_elem.ts.
//
// `cast(src, dst, x, y, n, mode)`: y[i] = dst(x[i]) for i < n; src/dst are TensorProto dtype
// codes; mode bit 0 = saturate (float8 and float8e8m0 targets), bits 1–2 = e8m0 round mode
// (0 up, 1 down, 2 nearest). x and y must not overlap. Returns 1 for a dtype it cannot cast.
//
// `cast__ref` converts one element at a time through cast_elem.ts. `cast` runs the SIMD paths
// of cast_simd.ts where the build has them, then converts the rest the same way (the other pairs
// are not hot: one call per element keeps the module small).

import { DT_F32, DT_F16, DT_BF16, DT_U64 } from './common';
import { isCastType, isFloatType, loadF, loadI, storeF, storeI } from './cast_elem';
import { castSimd } from './cast_simd';
import { KIND_IEEE, decodeMiniInline, encodeMiniInline, f32BitsToF64, f64ToF32Bits } from './minifloat';

/** y[i] = dst(x[i]) for i in [from, n). */
function castElems(src: i32, dst: i32, x: usize, y: usize, from: i32, n: i32, mode: i32): void {
  const saturate = (mode & 1) != 0;
  const roundMode = (mode >> 1) & 3;
  const fsrc = isFloatType(src);
  const uns = src == DT_U64;
  for (let i = <usize>from; i < <usize>n; i++) {
    if (fsrc) storeF(dst, y, i, loadF(src, x, i), saturate, roundMode);
    else storeI(dst, y, i, loadI(src, x, i), uns, saturate, roundMode);
  }
}

export function cast__ref(src: i32, dst: i32, x: usize, y: usize, n: i32, mode: i32): i32 {
  if (!isCastType(src) || !isCastType(dst)) return 1;
  castElems(src, dst, x, y, 0, n, mode);
  return 0;
}

/**
 * Scalar builds: f32 ↔ f16/bf16, the casts fp16 graphs run, with the format constants folded in
 * (the SIMD builds have cast_simd.ts). Same bits as castElems; returns how many it converted.
 */
function castScalarHot(src: i32, dst: i32, x: usize, y: usize, n: i32): i32 {
  if (src == DT_F32 && (dst == DT_F16 || dst == DT_BF16)) {
    const bf = dst == DT_BF16;
    for (let i: usize = 0; i < <usize>n; i++) {
      const v = f32BitsToF64(load<u32>(x + (i << 2)));
      const h = bf ? encodeMiniInline(v, 8, 7, 127, KIND_IEEE, false) : encodeMiniInline(v, 5, 10, 15, KIND_IEEE, false);
      store<u16>(y + (i << 1), <u16>h);
    }
    return n;
  }
  if (dst == DT_F32 && (src == DT_F16 || src == DT_BF16)) {
    const bf = src == DT_BF16;
    for (let i: usize = 0; i < <usize>n; i++) {
      const h = <u32>load<u16>(x + (i << 1));
      store<u32>(y + (i << 2), f64ToF32Bits(bf ? f32BitsToF64(h << 16) : decodeMiniInline(h, 5, 10, 15, KIND_IEEE)));
    }
    return n;
  }
  return 0;
}

export function cast(src: i32, dst: i32, x: usize, y: usize, n: i32, mode: i32): i32 {
  if (!isCastType(src) || !isCastType(dst)) return 1;
  let done = 0;
  if (ASC_FEATURE_SIMD) done = castSimd(src, dst, x, y, n);
  else done = castScalarHot(src, dst, x, y, n);
  castElems(src, dst, x, y, done, n, mode);
  return 0;
}
