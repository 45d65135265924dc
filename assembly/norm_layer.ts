// LayerNormalization in f32 over the trailing `n` elements of each of `rows` rows:
//
//   μ = Σ x / n,   σ² = Σ (x − μ)² / n   (two passes: no cancellation for large means),
//   r = 1 / √(σ² + ε),   y = (x − μ)·r·scale + bias
//
// `scale` (and `bias`, or 0 for none) hold n elements; `mean` / `invstd` (or 0 to skip) receive μ
// and r per row. The SIMD builds keep 4 lane sums per pass and combine them at the end.

// @ts-ignore: decorator
@inline function sumRow(p: usize, n: i32, mu: f32, squares: bool): f32 {
  let i = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(mu);
    let a = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      if (squares) {
        const c = f32x4.sub(v, vm);
        a = ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(c, c, a) : f32x4.add(a, f32x4.mul(c, c));
      } else {
        a = f32x4.add(a, v);
      }
    }
    s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  }
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (squares) s += (v - mu) * (v - mu);
    else s += v;
  }
  return s;
}

export function layernorm_f32(
  x: usize, scale: usize, bias: usize, y: usize, mean: usize, invstd: usize, rows: i32, n: i32, eps: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2);
    const yr = y + ((<usize>r * <usize>n) << 2);
    const mu = sumRow(xr, n, 0, false) / <f32>n;
    const rs = <f32>1 / Mathf.sqrt(sumRow(xr, n, mu, true) / <f32>n + eps);
    if (mean) store<f32>(mean + (<usize>r << 2), mu);
    if (invstd) store<f32>(invstd + (<usize>r << 2), rs);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(mu);
      const vr = f32x4.splat(rs);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        let v = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xr + o), vm), vr), v128.load(scale + o));
        if (bias) v = f32x4.add(v, v128.load(bias + o));
        v128.store(yr + o, v);
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      let v = (load<f32>(xr + o) - mu) * rs * load<f32>(scale + o);
      if (bias) v += load<f32>(bias + o);
      store<f32>(yr + o, v);
    }
  }
}

/** Reference: the same formulas, scalar, sequential sums. */
export function layernorm_f32__ref(
  x: usize, scale: usize, bias: usize, y: usize, mean: usize, invstd: usize, rows: i32, n: i32, eps: f32,
): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2);
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(xr + (<usize>i << 2));
    const mu = s / <f32>n;
    let q: f32 = 0;
    for (let i = 0; i < n; i++) {
      const c = load<f32>(xr + (<usize>i << 2)) - mu;
      q += c * c;
    }
    const rs = <f32>1 / Mathf.sqrt(q / <f32>n + eps);
    if (mean) store<f32>(mean + (<usize>r << 2), mu);
    if (invstd) store<f32>(invstd + (<usize>r << 2), rs);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const b: f32 = bias ? load<f32>(bias + o) : 0;
      store<f32>(y + ((<usize>r * <usize>n) << 2) + o, (load<f32>(xr + o) - mu) * rs * load<f32>(scale + o) + b);
    }
  }
}
