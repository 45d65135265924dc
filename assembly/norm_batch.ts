// BatchNormalization on NCHW-like f32 tensors viewed as [n, c, inner].
//
// Inference: Y = (X − mean)/√(var + ε)·scale + bias is run as one per-channel affine
// Y = X·s + t with s = scale/√(var + ε) and t = bias − mean·s (bn_fold_f32; the host computes
// the same f32 steps at plan time when the parameters are constants). The affine is a multiply
// then an add (never fused), so every build gives the same bits.
//
// Training (opset ≥ 14, training_mode = 1): the batch's population mean and variance replace the
// inputs' (bn_stats_f32, accumulated in f64), and the running statistics are
// input·momentum + batch·(1 − momentum) (bn_running_f32).

export function bn_fold_f32(scale: usize, bias: usize, mean: usize, variance: usize, eps: f32, c: i32, s: usize, t: usize): void {
  for (let i = 0; i < c; i++) {
    const o = <usize>i << 2;
    const k = load<f32>(scale + o) / Mathf.sqrt(load<f32>(variance + o) + eps);
    store<f32>(s + o, k);
    store<f32>(t + o, load<f32>(bias + o) - load<f32>(mean + o) * k);
  }
}

/** y[b, ch, i] = x[b, ch, i]·s[ch] + t[ch]; y may be x. */
export function channel_affine_f32(x: usize, y: usize, s: usize, t: usize, n: i32, c: i32, inner: i32): void {
  let p: usize = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const k = load<f32>(s + (<usize>ch << 2));
      const d = load<f32>(t + (<usize>ch << 2));
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        const kv = f32x4.splat(k);
        const dv = f32x4.splat(d);
        for (; i + 4 <= inner; i += 4) {
          const o = p + (<usize>i << 2);
          v128.store(y + o, f32x4.add(f32x4.mul(v128.load(x + o), kv), dv));
        }
      }
      for (; i < inner; i++) {
        const o = p + (<usize>i << 2);
        store<f32>(y + o, load<f32>(x + o) * k + d);
      }
      p += <usize>inner << 2;
    }
  }
}

/** Per-channel population mean and variance over the n·inner elements of each channel. */
export function bn_stats_f32(x: usize, mean: usize, variance: usize, n: i32, c: i32, inner: i32): void {
  const count = <f64>n * <f64>inner;
  for (let ch = 0; ch < c; ch++) {
    let s: f64 = 0;
    for (let b = 0; b < n; b++) {
      const p = x + ((<usize>b * <usize>c + <usize>ch) * <usize>inner << 2);
      for (let i = 0; i < inner; i++) s += <f64>load<f32>(p + (<usize>i << 2));
    }
    const m = s / count;
    let q: f64 = 0;
    for (let b = 0; b < n; b++) {
      const p = x + ((<usize>b * <usize>c + <usize>ch) * <usize>inner << 2);
      for (let i = 0; i < inner; i++) {
        const dlt = <f64>load<f32>(p + (<usize>i << 2)) - m;
        q += dlt * dlt;
      }
    }
    store<f32>(mean + (<usize>ch << 2), <f32>m);
    store<f32>(variance + (<usize>ch << 2), <f32>(q / count));
  }
}

/** out = running·momentum + batch·(1 − momentum), per channel. */
export function bn_running_f32(running: usize, batch: usize, out: usize, c: i32, momentum: f32): void {
  for (let i = 0; i < c; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(running + o) * momentum + load<f32>(batch + o) * (1 - momentum));
  }
}
