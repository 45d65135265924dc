// ONNX Cast between every numeric dtype (and bool). Element semantics live in cast_elem.ts.
//
// `cast(src, dst, x, y, n, mode)`: y[i] = dst(x[i]) for i < n; src/dst are TensorProto dtype
// codes; mode bit 0 = saturate (float8 and float8e8m0 targets), bits 1–2 = e8m0 round mode
// (0 up, 1 down, 2 nearest). x and y must not overlap. Returns 1 for a dtype it cannot cast.
//
// `cast__ref` converts one element at a time through cast_elem.ts. `cast` runs the SIMD paths
// of cast_simd.ts where the build has them, then converts the rest the same way (the other pairs
// are not hot: one call per element keeps the module small).

import { DT_U64 } from './common';
import { isCastType, isFloatType, loadF, loadI, storeF, storeI } from './cast_elem';
import { castSimd } from './cast_simd';

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

export function cast(src: i32, dst: i32, x: usize, y: usize, n: i32, mode: i32): i32 {
  if (!isCastType(src) || !isCastType(dst)) return 1;
  let done = 0;
  if (ASC_FEATURE_SIMD) done = castSimd(src, dst, x, y, n);
  castElems(src, dst, x, y, done, n, mode);
  return 0;
}
