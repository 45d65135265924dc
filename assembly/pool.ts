// Windowed max and average pooling over NC×D×H×W (1-D and 2-D pools run with leading spatial
// dims of size 1, kernel 1, stride 1, dilation 1, no pads).
//
// Pool descriptor (i32, written by the host), per spatial axis in order D, H, W:
//   [0..2] input size    [3..5] output size   [6..8] kernel     [9..11] stride
//   [12..14] dilation    [15..17] begin pad
//   [18..20] count limit: count_include_pad counts the taps at positions < limit (input size +
//            end pad), so the part of a ceil_mode window that runs past the end pad is not counted.
// Output o's window on an axis reads positions o·stride − pad + j·dilation, j < kernel; taps
// outside [0, size) are padding: skipped by max, by the average's sum, and by its count unless
// count_include_pad.
//
// The fast kernels split each output row into border outputs (some W tap is padding) and an
// interior run where every W tap is in bounds; with W stride 1 or 2 the interior runs across the
// output width one vector at a time. Sums add taps in the same (d, h, w) order in every path and divide
// once, so all builds equal the `__ref` kernels bit for bit.

import { desc, DT_F32, DT_I8, DT_U8 } from './common';

export const PD: i32 = 0;
export const PO: i32 = 3;
export const PK: i32 = 6;
export const PS: i32 = 9;
export const PDIL: i32 = 12;
export const PPAD: i32 = 15;
const PLIM: i32 = 18;

/** First tap j with base + j·dil ≥ 0. */
// @ts-ignore: decorator
@inline export function tapBegin(base: i32, dil: i32): i32 {
  return base >= 0 ? 0 : (dil - 1 - base) / dil;
}

/** One past the last tap j < k with base + j·dil < n (base ≥ −dil·k, so never negative). */
// @ts-ignore: decorator
@inline export function tapEnd(base: i32, dil: i32, n: i32, k: i32): i32 {
  if (base >= n) return 0;
  return min(k, (n - base + dil - 1) / dil);
}

// @ts-ignore: decorator
@inline function lowest<T>(): T {
  if (isFloat<T>()) return <T>-Infinity;
  if (isSigned<T>()) return <T>-128;
  return <T>0;
}

// Byte pools run on one u8 instantiation: int8 values are compared with their sign bit flipped
// (s xor 0x80 orders as unsigned exactly as s does as signed), and flipped back when stored.
/** 0x80 for int8, 0 for uint8 (set by maxpool). */
let flip: u8 = 0;

/** An element of the pooled tensor: bytes as their flipped u8. */
// @ts-ignore: decorator
@inline function ld<T>(p: usize): T {
  if (sizeof<T>() == 1) return <T>(load<u8>(p) ^ flip);
  return load<T>(p);
}

// @ts-ignore: decorator
@inline function st<T>(p: usize, v: T): void {
  if (sizeof<T>() == 1) store<u8>(p, <u8>v ^ flip);
  else store<T>(p, v);
}

// @ts-ignore: decorator
@inline function maxOf<T>(a: T, b: T): T {
  if (isFloat<T>()) return <T>max<f32>(<f32>a, <f32>b);
  return a > b ? a : b;
}

// @ts-ignore: decorator
@inline function vmax<T>(a: v128, b: v128): v128 {
  if (isFloat<T>()) return f32x4.max(a, b);
  return i8x16.max_u(a, b);
}

// @ts-ignore: decorator
@inline function vsplat<T>(v: T): v128 {
  if (isFloat<T>()) return f32x4.splat(<f32>v);
  return i8x16.splat(<i8>v);
}

// The output row being computed: its channel's base address, the first D/H window positions
// (bd, bh) and the in-bounds tap ranges [d0, d1) × [h0, h1). Globals: kernels never allocate.
let rowX: usize = 0;
let rowBd: i32 = 0;
let rowBh: i32 = 0;
let rowD0: i32 = 0;
let rowD1: i32 = 0;
let rowH0: i32 = 0;
let rowH1: i32 = 0;

/** Whole-window result for output column ow with per-tap W bounds checks (border outputs: not
 * inlined, they are few per row). */
function windowAt<T>(pd: usize, isAvg: bool, ow: i32): f32 {
  const W = desc(pd, PD + 2), H = desc(pd, PD + 1);
  const kW = desc(pd, PK + 2), dW = desc(pd, PDIL + 2), dD = desc(pd, PDIL), dH = desc(pd, PDIL + 1);
  const bw = ow * desc(pd, PS + 2) - desc(pd, PPAD + 2);
  const w0 = tapBegin(bw, dW), w1 = tapEnd(bw, dW, W, kW);
  let acc: f32 = 0;
  let best = lowest<T>();
  for (let kd = rowD0; kd < rowD1; kd++) {
    for (let kh = rowH0; kh < rowH1; kh++) {
      const r = rowX + ((<usize>(rowBd + kd * dD) * <usize>H + <usize>(rowBh + kh * dH)) * <usize>W) * sizeof<T>();
      for (let kw = w0; kw < w1; kw++) {
        const v = ld<T>(r + <usize>(bw + kw * dW) * sizeof<T>());
        if (isAvg) acc += <f32>v;
        else best = maxOf<T>(best, v);
      }
    }
  }
  return isAvg ? acc : <f32>best;
}

/** Prepares the row globals for output row (c, od, oh). */
// @ts-ignore: decorator
@inline function setRow(pd: usize, x: usize, c: i32, od: i32, oh: i32, esize: usize): void {
  const D = desc(pd, PD), H = desc(pd, PD + 1), W = desc(pd, PD + 2);
  rowX = x + <usize>c * <usize>D * <usize>H * <usize>W * esize;
  rowBd = od * desc(pd, PS) - desc(pd, PPAD);
  rowBh = oh * desc(pd, PS + 1) - desc(pd, PPAD + 1);
  rowD0 = tapBegin(rowBd, desc(pd, PDIL));
  rowD1 = tapEnd(rowBd, desc(pd, PDIL), D, desc(pd, PK));
  rowH0 = tapBegin(rowBh, desc(pd, PDIL + 1));
  rowH1 = tapEnd(rowBh, desc(pd, PDIL + 1), H, desc(pd, PK + 1));
}

/** Divisor of output (od, oh, ow): valid taps, or taps inside the padded extent. */
// @ts-ignore: decorator
@inline function divisor(pd: usize, countPad: i32, ow: i32): f32 {
  const kW = desc(pd, PK + 2), dW = desc(pd, PDIL + 2);
  const bw = ow * desc(pd, PS + 2) - desc(pd, PPAD + 2);
  if (countPad) {
    return <f32>(tapEnd(rowBd, desc(pd, PDIL), desc(pd, PLIM), desc(pd, PK))
      * tapEnd(rowBh, desc(pd, PDIL + 1), desc(pd, PLIM + 1), desc(pd, PK + 1))
      * tapEnd(bw, dW, desc(pd, PLIM + 2), kW));
  }
  return <f32>((rowD1 - rowD0) * (rowH1 - rowH0) * (tapEnd(bw, dW, desc(pd, PD + 2), kW) - tapBegin(bw, dW)));
}

/** One vector of consecutive outputs' taps: stride 1 loads them, stride 2 takes every other lane. */
// @ts-ignore: decorator
@inline function loadTaps<T>(p: usize, stride2: bool): v128 {
  if (!stride2) return v128.load(p);
  const a = v128.load(p);
  const b = v128.load(p, 16);
  if (isFloat<T>()) return v128.shuffle<f32>(a, b, 0, 2, 4, 6);
  return v128.shuffle<i8>(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/**
 * Interior columns [lo, hi) (all W taps in bounds) for W stride 1 or 2, one vector of outputs at
 * a time. Stride 2 reads one element past each vector's last tap, so it stops where that element
 * would leave the row. Returns how far it got.
 */
// @ts-ignore: decorator
@inline function interiorSimd<T>(pd: usize, isAvg: bool, stride2: bool, y: usize, lo: i32, hi: i32, div: f32): i32 {
  const lanes = 16 / <i32>sizeof<T>();
  const H = desc(pd, PD + 1), W = desc(pd, PD + 2);
  const kW = desc(pd, PK + 2), dW = desc(pd, PDIL + 2), dD = desc(pd, PDIL), dH = desc(pd, PDIL + 1);
  const pW = desc(pd, PPAD + 2);
  const step = <usize>dW * sizeof<T>();
  const sW = stride2 ? 2 : 1;
  const reach = (kW - 1) * dW - pW;
  let ow = lo;
  for (; ow + lanes <= hi; ow += lanes) {
    if (stride2 && (ow + lanes) * 2 + reach > W) break;
    const fv = i8x16.splat(flip);
    let acc = isAvg ? f32x4.splat(0) : vsplat<T>(lowest<T>());
    for (let kd = rowD0; kd < rowD1; kd++) {
      for (let kh = rowH0; kh < rowH1; kh++) {
        let p = rowX + ((<usize>(rowBd + kd * dD) * <usize>H + <usize>(rowBh + kh * dH)) * <usize>W + <usize>(ow * sW - pW)) * sizeof<T>();
        for (let kw = 0; kw < kW; kw++) {
          const v = sizeof<T>() == 1 ? v128.xor(loadTaps<T>(p, stride2), fv) : loadTaps<T>(p, stride2);
          acc = isAvg ? f32x4.add(acc, v) : vmax<T>(acc, v);
          p += step;
        }
      }
    }
    if (isAvg) acc = f32x4.div(acc, f32x4.splat(div));
    if (sizeof<T>() == 1) acc = v128.xor(acc, fv);
    v128.store(y + <usize>ow * sizeof<T>(), acc);
  }
  // Byte rows narrower than a vector (a small feature map's 14 or 7 outputs): 8 outputs, then 4,
  // from the low lanes of a vector.
  if (sizeof<T>() == 1 && !isAvg) {
    for (let part = 8; part >= 4; part >>= 1) {
      if (ow + part > hi || (stride2 && (ow + part) * 2 + reach > W)) continue;
      const fv = i8x16.splat(flip);
      let acc = vsplat<T>(lowest<T>());
      for (let kd = rowD0; kd < rowD1; kd++) {
        for (let kh = rowH0; kh < rowH1; kh++) {
          let p = rowX + (<usize>(rowBd + kd * dD) * <usize>H + <usize>(rowBh + kh * dH)) * <usize>W + <usize>(ow * sW - pW);
          for (let kw = 0; kw < kW; kw++) {
            acc = i8x16.max_u(acc, v128.xor(loadPart(p, part, stride2), fv));
            p += step;
          }
        }
      }
      acc = v128.xor(acc, fv);
      if (part == 8) v128.store64_lane(y + <usize>ow, acc, 0);
      else v128.store32_lane(y + <usize>ow, acc, 0);
      ow += part;
    }
  }
  return ow;
}

/** The taps of `part` (8 or 4) consecutive byte outputs in the low lanes (stride 2: every other byte). */
// @ts-ignore: decorator
@inline function loadPart(p: usize, part: i32, stride2: bool): v128 {
  const v = part == 8 ? (stride2 ? v128.load(p) : v128.load64_zero(p)) : (stride2 ? v128.load64_zero(p) : v128.load32_zero(p));
  return stride2 ? v128.shuffle<i8>(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0) : v;
}

/** Interior columns [from, hi) one output at a time, with no bounds checks (same tap order). */
// @ts-ignore: decorator
@inline function interiorScalar<T>(pd: usize, isAvg: bool, y: usize, from: i32, hi: i32, div: f32): void {
  const H = desc(pd, PD + 1), W = desc(pd, PD + 2);
  const kW = desc(pd, PK + 2), sW = desc(pd, PS + 2), dW = desc(pd, PDIL + 2), dD = desc(pd, PDIL), dH = desc(pd, PDIL + 1);
  const pW = desc(pd, PPAD + 2);
  const step = <usize>dW * sizeof<T>();
  for (let ow = from; ow < hi; ow++) {
    let acc: f32 = 0;
    let best = lowest<T>();
    for (let kd = rowD0; kd < rowD1; kd++) {
      for (let kh = rowH0; kh < rowH1; kh++) {
        let p = rowX + ((<usize>(rowBd + kd * dD) * <usize>H + <usize>(rowBh + kh * dH)) * <usize>W + <usize>(ow * sW - pW)) * sizeof<T>();
        for (let kw = 0; kw < kW; kw++) {
          const v = ld<T>(p);
          if (isAvg) acc += <f32>v;
          else best = maxOf<T>(best, v);
          p += step;
        }
      }
    }
    if (isAvg) store<f32>(y + (<usize>ow << 2), acc / div);
    else st<T>(y + <usize>ow * sizeof<T>(), best);
  }
}

// @ts-ignore: decorator
@inline function poolRows<T>(isAvg: bool, x: usize, y: usize, nc: i32, pd: usize, countPad: i32): void {
  const oD = desc(pd, PO), oH = desc(pd, PO + 1), oW = desc(pd, PO + 2);
  const W = desc(pd, PD + 2), kW = desc(pd, PK + 2), sW = desc(pd, PS + 2), dW = desc(pd, PDIL + 2), pW = desc(pd, PPAD + 2);
  // Interior columns: ow·sW ≥ pW and ow·sW − pW + (kW−1)·dW ≤ W − 1.
  const lo = min(oW, (pW + sW - 1) / sW);
  const last = W - 1 - (kW - 1) * dW + pW;
  const hi = max(lo, last < 0 ? 0 : min(oW, last / sW + 1));
  let yp = y;
  for (let c = 0; c < nc; c++) {
    for (let od = 0; od < oD; od++) {
      for (let oh = 0; oh < oH; oh++) {
        setRow(pd, x, c, od, oh, sizeof<T>());
        // Interior divisors are equal along the row; border ones are computed per column.
        const div = isAvg ? divisor(pd, countPad, lo) : 0;
        let ow = 0;
        for (; ow < lo; ow++) storeResult<T>(isAvg, yp, ow, windowAt<T>(pd, isAvg, ow), isAvg ? divisor(pd, countPad, ow) : 0);
        if (ASC_FEATURE_SIMD) {
          if (sW == 1) ow = interiorSimd<T>(pd, isAvg, false, yp, lo, hi, div);
          else if (sW == 2) ow = interiorSimd<T>(pd, isAvg, true, yp, lo, hi, div);
        }
        interiorScalar<T>(pd, isAvg, yp, ow, hi, div);
        ow = max(ow, hi);
        for (; ow < oW; ow++) storeResult<T>(isAvg, yp, ow, windowAt<T>(pd, isAvg, ow), isAvg ? divisor(pd, countPad, ow) : 0);
        yp += <usize>oW * sizeof<T>();
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeResult<T>(isAvg: bool, yp: usize, ow: i32, v: f32, div: f32): void {
  if (isAvg) store<f32>(yp + (<usize>ow << 2), v / div);
  else st<T>(yp + <usize>ow * sizeof<T>(), <T>v);
}

/** f32 max and average pools share one instantiation (isAvg a run-time flag: −1.5 kB a build). */
function poolF32(isAvg: bool, x: usize, y: usize, nc: i32, pd: usize, countPad: i32): void {
  poolRows<f32>(isAvg, x, y, nc, pd, countPad);
}

/** Max pooling of f32 (dt 1), uint8 (2) or int8 (3). Returns 1 for another dtype. */
export function maxpool(dt: i32, x: usize, y: usize, nc: i32, pd: usize): i32 {
  if (dt == DT_F32) poolF32(false, x, y, nc, pd, 0);
  else if (dt == DT_I8 || dt == DT_U8) {
    flip = dt == DT_I8 ? 0x80 : 0;
    poolRows<u8>(false, x, y, nc, pd, 0);
  } else return 1;
  return 0;
}

/** Average pooling of f32; countPad = count_include_pad. */
export function avgpool_f32(x: usize, y: usize, nc: i32, pd: usize, countPad: i32): void {
  poolF32(true, x, y, nc, pd, countPad);
}

// ---- scalar references: every output, every tap, every bounds check ---------------------------

// @ts-ignore: decorator
@inline function refPool<T>(isAvg: bool, x: usize, y: usize, nc: i32, pd: usize, countPad: i32): void {
  const D = desc(pd, PD), H = desc(pd, PD + 1), W = desc(pd, PD + 2);
  let yp = y;
  for (let c = 0; c < nc; c++) {
    const xc = x + <usize>c * <usize>D * <usize>H * <usize>W * sizeof<T>();
    for (let od = 0; od < desc(pd, PO); od++) for (let oh = 0; oh < desc(pd, PO + 1); oh++) for (let ow = 0; ow < desc(pd, PO + 2); ow++) {
      let acc: f32 = 0;
      let best = lowest<T>();
      let n = 0;
      for (let kd = 0; kd < desc(pd, PK); kd++) for (let kh = 0; kh < desc(pd, PK + 1); kh++) for (let kw = 0; kw < desc(pd, PK + 2); kw++) {
        const id = od * desc(pd, PS) - desc(pd, PPAD) + kd * desc(pd, PDIL);
        const ih = oh * desc(pd, PS + 1) - desc(pd, PPAD + 1) + kh * desc(pd, PDIL + 1);
        const iw = ow * desc(pd, PS + 2) - desc(pd, PPAD + 2) + kw * desc(pd, PDIL + 2);
        const inside = id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W;
        if (countPad) {
          if (id < desc(pd, PLIM) && ih < desc(pd, PLIM + 1) && iw < desc(pd, PLIM + 2)) n++;
        } else if (inside) n++;
        if (!inside) continue;
        const v = load<T>(xc + ((<usize>id * <usize>H + <usize>ih) * <usize>W + <usize>iw) * sizeof<T>());
        if (isAvg) acc += <f32>v;
        else best = maxOf<T>(best, v);
      }
      if (isAvg) store<f32>(yp, acc / <f32>n);
      else store<T>(yp, best);
      yp += sizeof<T>();
    }
  }
}

export function maxpool__ref(dt: i32, x: usize, y: usize, nc: i32, pd: usize): i32 {
  if (dt == DT_F32) refPool<f32>(false, x, y, nc, pd, 0);
  else if (dt == DT_I8) refPool<i8>(false, x, y, nc, pd, 0);
  else if (dt == DT_U8) refPool<u8>(false, x, y, nc, pd, 0);
  else return 1;
  return 0;
}

export function avgpool_f32__ref(x: usize, y: usize, nc: i32, pd: usize, countPad: i32): void {
  refPool<f32>(true, x, y, nc, pd, countPad);
}

// ---- MaxPool with Indices (second output) ---------------------------------------------------

/**
 * Max pooling that also writes, per output, the int64 flat index of the first maximal tap in the
 * whole input tensor: c·D·H·W + the spatial offset, row-major (storageOrder 0: (d·H + h)·W + w)
 * or column-major (1: d + h·D + w·D·H). An output whose window is all padding gets −1.
 */
// Not hot: one loop for the three types, elements compared as f32 (exact for int8/uint8).
function maxIdx(dt: i32, x: usize, y: usize, idx: usize, nc: i32, pd: usize, colMajor: bool): void {
  const D = desc(pd, PD), H = desc(pd, PD + 1), W = desc(pd, PD + 2);
  const plane = <i64>D * <i64>H * <i64>W;
  const esz: usize = dt == DT_F32 ? 4 : 1;
  const lowest: f32 = dt == DT_F32 ? -Infinity : dt == DT_I8 ? -128 : 0;
  let o: usize = 0;
  for (let c = 0; c < nc; c++) {
    const xc = x + <usize>c * <usize>plane * esz;
    for (let od = 0; od < desc(pd, PO); od++) for (let oh = 0; oh < desc(pd, PO + 1); oh++) for (let ow = 0; ow < desc(pd, PO + 2); ow++) {
      let best = lowest;
      let at: i64 = -1;
      // Only the in-bounds taps, in the same order: the cost is bounded by the input, not the
      // kernel (a SAME-padded window may be far larger than the input).
      const bd = od * desc(pd, PS) - desc(pd, PPAD), bh = oh * desc(pd, PS + 1) - desc(pd, PPAD + 1), bw = ow * desc(pd, PS + 2) - desc(pd, PPAD + 2);
      const dd = desc(pd, PDIL), dh = desc(pd, PDIL + 1), dw = desc(pd, PDIL + 2);
      const kw0 = tapBegin(bw, dw), kw1 = tapEnd(bw, dw, W, desc(pd, PK + 2));
      for (let kd = tapBegin(bd, dd); kd < tapEnd(bd, dd, D, desc(pd, PK)); kd++) for (let kh = tapBegin(bh, dh); kh < tapEnd(bh, dh, H, desc(pd, PK + 1)); kh++) for (let kw = kw0; kw < kw1; kw++) {
        const id = bd + kd * dd, ih = bh + kh * dh, iw = bw + kw * dw;
        const p = xc + ((<usize>id * <usize>H + <usize>ih) * <usize>W + <usize>iw) * esz;
        const v: f32 = dt == DT_F32 ? load<f32>(p) : dt == DT_I8 ? <f32>load<i8>(p) : <f32>load<u8>(p);
        if (at < 0 || v > best) {
          best = v;
          at = colMajor
            ? <i64>id + <i64>ih * <i64>D + <i64>iw * <i64>D * <i64>H
            : (<i64>id * <i64>H + <i64>ih) * <i64>W + <i64>iw;
        }
      }
      if (dt == DT_F32) store<f32>(y + (o << 2), best);
      else store<u8>(y + o, <u8><i32>best);
      store<i64>(idx + (o << 3), at < 0 ? -1 : <i64>c * plane + at);
      o++;
    }
  }
}

export function maxpool_indices(dt: i32, x: usize, y: usize, idx: usize, nc: i32, pd: usize, storageOrder: i32): i32 {
  if (dt != DT_F32 && dt != DT_I8 && dt != DT_U8) return 1;
  maxIdx(dt, x, y, idx, nc, pd, storageOrder != 0);
  return 0;
}

// ---- global pools: one value per channel of n elements ---------------------------------------

/** Mean of each of nc channels of n f32. The SIMD builds sum four interleaved partial sums. */
export function global_avgpool_f32(x: usize, y: usize, nc: i32, n: i32): void {
  let p = x;
  for (let c = 0; c < nc; c++) {
    let i = 0;
    let s: f32 = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
      s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    }
    for (; i < n; i++) s += load<f32>(p + (<usize>i << 2));
    store<f32>(y + (<usize>c << 2), s / <f32>n);
    p += <usize>n << 2;
  }
}

/** Max of each of nc channels of n f32 (−inf for n = 0). */
export function global_maxpool_f32(x: usize, y: usize, nc: i32, n: i32): void {
  let p = x;
  for (let c = 0; c < nc; c++) {
    let i = 0;
    let m: f32 = -Infinity;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(-Infinity);
      for (; i + 4 <= n; i += 4) acc = f32x4.max(acc, v128.load(p + (<usize>i << 2)));
      m = max(max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
    }
    for (; i < n; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
    store<f32>(y + (<usize>c << 2), m);
    p += <usize>n << 2;
  }
}
