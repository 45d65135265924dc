// Softmax and LogSoftmax in f32 over the middle axis of an [outer, n, inner] view.
//
//   softmax(x)ₖ    = exp(xₖ − m) / Σⱼ exp(xⱼ − m)          m = maxⱼ xⱼ (no overflow, s ≥ 1)
//   logsoftmax(x)ₖ = xₖ − m − log Σⱼ exp(xⱼ − m)
// exp is the scalar Mathf.exp in every build (correctly rounded to within 1 ulp); the maximum,
// the subtraction and the final scaling are vectorised: across the row when inner == 1,
// otherwise across `inner` columns, CHUNK at a time with per-column max and sum kept in static
// scratch. A row whose maximum is ±∞ or NaN yields NaN (as exp(∞ − ∞) does in the reference).

const CHUNK: i32 = 256;
const COL_MAX: usize = memory.data(CHUNK * 4, 16);
const COL_SUM: usize = memory.data(CHUNK * 4, 16);

// @ts-ignore: decorator
@inline function rowMax(p: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    if (n >= 4) {
      let v = v128.load(p);
      for (i = 4; i + 4 <= n; i += 4) v = f32x4.max(v, v128.load(p + (<usize>i << 2)));
      v = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      v = f32x4.max(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
      m = f32x4.extract_lane(v, 0);
    }
  }
  for (; i < n; i++) m = max<f32>(m, load<f32>(p + (<usize>i << 2)));
  return m;
}

/** y[i] = y[i]·a + b (SIMD over the row). */
// @ts-ignore: decorator
@inline function affineRow(src: usize, y: usize, n: i32, a: f32, b: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a);
    const vb = f32x4.splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, f32x4.add(f32x4.mul(v128.load(src + o), va), vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(src + o) * a + b);
  }
}

function contiguousRows(x: usize, y: usize, outer: i32, n: i32, logMode: bool): void {
  for (let r = 0; r < outer; r++) {
    const xr = x + ((<usize>r * <usize>n) << 2);
    const yr = y + ((<usize>r * <usize>n) << 2);
    const m = rowMax(xr, n);
    let s: f32 = 0;
    if (logMode) {
      for (let i = 0; i < n; i++) s += Mathf.exp(load<f32>(xr + (<usize>i << 2)) - m);
      affineRow(xr, yr, n, 1, -m - Mathf.log(s));
    } else {
      for (let i = 0; i < n; i++) {
        const o = <usize>i << 2;
        const e = Mathf.exp(load<f32>(xr + o) - m);
        store<f32>(yr + o, e);
        s += e;
      }
      affineRow(yr, yr, n, <f32>1 / s, 0);
    }
  }
}

function columns(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: bool): void {
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const xb = x + <usize>o * <usize>n * rowBytes;
    const yb = y + <usize>o * <usize>n * rowBytes;
    for (let j0 = 0; j0 < inner; j0 += CHUNK) {
      const w = min(CHUNK, inner - j0);
      const c0 = <usize>j0 << 2;
      for (let j = 0; j < w; j++) {
        store<f32>(COL_MAX + (<usize>j << 2), -Infinity);
        store<f32>(COL_SUM + (<usize>j << 2), 0);
      }
      for (let k = 0; k < n; k++) {
        const p = xb + <usize>k * rowBytes + c0;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 4 <= w; j += 4) {
            const q = <usize>j << 2;
            v128.store(COL_MAX + q, f32x4.max(v128.load(COL_MAX + q), v128.load(p + q)));
          }
        }
        for (; j < w; j++) {
          const q = <usize>j << 2;
          store<f32>(COL_MAX + q, max<f32>(load<f32>(COL_MAX + q), load<f32>(p + q)));
        }
      }
      for (let k = 0; k < n; k++) {
        const p = xb + <usize>k * rowBytes + c0;
        const py = yb + <usize>k * rowBytes + c0;
        for (let j = 0; j < w; j++) {
          const q = <usize>j << 2;
          const e = Mathf.exp(load<f32>(p + q) - load<f32>(COL_MAX + q));
          if (!logMode) store<f32>(py + q, e);
          store<f32>(COL_SUM + q, load<f32>(COL_SUM + q) + e);
        }
      }
      // Per column: softmax scales by 1/s, logsoftmax subtracts m + log s.
      for (let j = 0; j < w; j++) {
        const q = <usize>j << 2;
        const s = load<f32>(COL_SUM + q);
        store<f32>(COL_SUM + q, logMode ? load<f32>(COL_MAX + q) + Mathf.log(s) : <f32>1 / s);
      }
      for (let k = 0; k < n; k++) {
        const p = (logMode ? xb : yb) + <usize>k * rowBytes + c0;
        const py = yb + <usize>k * rowBytes + c0;
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 4 <= w; j += 4) {
            const q = <usize>j << 2;
            const v = v128.load(p + q);
            const c = v128.load(COL_SUM + q);
            v128.store(py + q, logMode ? f32x4.sub(v, c) : f32x4.mul(v, c));
          }
        }
        for (; j < w; j++) {
          const q = <usize>j << 2;
          const v = load<f32>(p + q);
          const c = load<f32>(COL_SUM + q);
          store<f32>(py + q, logMode ? v - c : v * c);
        }
      }
    }
  }
}

/** Softmax (logMode 0) or LogSoftmax (1) of x viewed as [outer, n, inner], reduced over n. */
export function softmax_f32(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: i32): void {
  if (inner == 1) contiguousRows(x, y, outer, n, logMode != 0);
  else columns(x, y, outer, n, inner, logMode != 0);
}

/** Reference: each (outer, column) pair in index order, scalar. */
export function softmax_f32__ref(x: usize, y: usize, outer: i32, n: i32, inner: i32, logMode: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = (<usize>o * <usize>n * <usize>inner + <usize>j) << 2;
      const step = <usize>inner << 2;
      let m: f32 = -Infinity;
      for (let k = 0; k < n; k++) m = max<f32>(m, load<f32>(x + base + <usize>k * step));
      let s: f32 = 0;
      for (let k = 0; k < n; k++) s += Mathf.exp(load<f32>(x + base + <usize>k * step) - m);
      for (let k = 0; k < n; k++) {
        const v = load<f32>(x + base + <usize>k * step);
        store<f32>(y + base + <usize>k * step, logMode != 0 ? v - m - Mathf.log(s) : Mathf.exp(v - m) / s);
      }
    }
  }
}
