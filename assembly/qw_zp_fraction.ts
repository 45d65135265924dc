// Fractional zero points of the low-bit weight GEMM (MatMulNBits allows float zero points, e.g.
// from HQQ-style quantizers). The packed weights carry the integer part zi = round(zp) (clamped to
// the `bits` range), so the integer kernels run unchanged; the rest, zf = zp − zi, is a rank-kb
// correction applied after them:
//   W = (q − zp)·scale = (q − zi)·scale − zf·scale
//   y[m,n] −= Σ_b corr[n,b] · Σ_{k∈b} a[m,k],   corr[n,b] = f32(zf·scale) (computed by the host)
// Block sums and the correction are summed in k and b order with plain f32 operations, the same
// in every build (it costs 1/bs of the GEMM, so there is no SIMD tier to diverge).
//
// Error bound (tested, u = 2^−24, first order): the integer part keeps the exact path's
// (K+2)·u·Σ|scale·(q − zi)·a|; a block sum of ≤ bs terms, the product with corr (itself rounded
// once) and the sum over kb blocks add (bs + kb + 2)·u·Σ_k |zf·scale·a|; the final subtraction
// one more u. With |q − zi| + |zf| ≤ |q − zp| + 1:
//   |y − y_exact| ≤ (K + bs + kb + 4)·u·Σ_k |scale|·(|q − zp| + 1)·|a[m,k]|   (+ u·|bias| terms).

import { QW_BAD_BLOCK, QW_BAD_SHAPE, QW_MAX_BLOCK, QW_OK } from './qw_pack';

/**
 * c[m,n] −= Σ_b corr[n·kb + b]·Σ_{k∈b, k<K} a[m,k] for the M×N outputs at c (row stride ldc),
 * A M×K with row stride lda, kb = ⌈K/bs⌉; `scratch` holds kb f32. Returns QW_OK or QW_BAD_*.
 */
export function qw_zp_fraction(a: usize, lda: i32, corr: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32, bs: i32, scratch: usize): i32 {
  if (bs < 1 || bs > QW_MAX_BLOCK) return QW_BAD_BLOCK;
  if (N < 1 || K < 1 || M < 0) return QW_BAD_SHAPE;
  const kb = (K + bs - 1) / bs;
  for (let m = 0; m < M; m++) {
    const row = a + <usize>m * (<usize>lda << 2);
    for (let b = 0; b < kb; b++) {
      let s: f32 = 0;
      for (let k = b * bs; k < min(K, (b + 1) * bs); k++) s += load<f32>(row + (<usize>k << 2));
      store<f32>(scratch + (<usize>b << 2), s);
    }
    const y = c + <usize>m * (<usize>ldc << 2);
    for (let n = 0; n < N; n++) {
      const pc = corr + (<usize>n * <usize>kb << 2);
      let acc: f32 = 0;
      for (let b = 0; b < kb; b++) acc += load<f32>(pc + (<usize>b << 2)) * load<f32>(scratch + (<usize>b << 2));
      const py = y + (<usize>n << 2);
      store<f32>(py, load<f32>(py) - acc);
    }
  }
  return QW_OK;
}
