// f32 GEMM: C[M,N] = A[M,K] · B[K,N] (+ bias) (+ activation).
//
// Packed B ("panels of 8 columns"): panel p holds columns 8p..8p+7 as K consecutive rows of 8
// floats, zero-padded past N; panel p starts at byte p·K·32 (pack_b_f32).
// Packed A ("blocks of 4 rows"): block i holds rows 4i..4i+3 as K consecutive groups of 4
// floats, zero-padded past M; block i starts at byte i·K·16 (pack_a_f32).
//
// gemm_f32_pp (both packed, 4×8 register tile) is the GEMM for M ≥ 4: constant weights are
// packed once per session on whichever side they sit (MatMul/Gemm: B; Conv: A), activations are
// packed per call. gemm_f32 reads A in place and is the path for M < 4 (GEMV), where packing A
// would cost as much as the product.
//
// Why 4×8: V8 hoists every load of the loop body before the FMAs, and x64 has 15 allocatable
// vector registers; 4 broadcasts + 2 B vectors + 8 accumulators is the largest tile that does
// not spill (6×8 and 5×8 measured 2× slower for that reason, and so did unrolling k).
//
// Epilogue (applied once per stored tile): biasMode 0 none, 1 per column (bias[n]), 2 per row
// (bias[m]); act 0 none, 1 relu, 2 clamp to [lo, hi].

export const NR: i32 = 8;

/** Packs B (K×N row-major with leading dimension ldb, or N×K if transB) into 8-column panels. */
export function pack_b_f32(b: usize, bp: usize, K: i32, N: i32, ldb: i32, transB: i32): void {
  const panels = (N + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    const dst = bp + <usize>p * <usize>K * 32;
    const n0 = p << 3;
    const nv = min(8, N - n0);
    if (ASC_FEATURE_SIMD && !transB && nv == 8) { // a whole panel of row-major B: two vectors a row
      for (let k = 0; k < K; k++) {
        const src = b + ((<usize>k * <usize>ldb + <usize>n0) << 2);
        v128.store(dst + (<usize>k << 5), v128.load(src));
        v128.store(dst + (<usize>k << 5), v128.load(src, 16), 16);
      }
      continue;
    }
    for (let k = 0; k < K; k++) {
      const row = dst + (<usize>k << 5);
      for (let j = 0; j < 8; j++) {
        let v: f32 = 0;
        if (j < nv) {
          v = transB
            ? load<f32>(b + ((<usize>(n0 + j) * <usize>ldb + <usize>k) << 2))
            : load<f32>(b + ((<usize>k * <usize>ldb + <usize>(n0 + j)) << 2));
        }
        store<f32>(row + (<usize>j << 2), v);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function epi(v: f32, act: i32, lo: f32, hi: f32): f32 {
  if (act == 1) return max<f32>(v, 0);
  if (act == 2) return min<f32>(max<f32>(v, lo), hi);
  return v;
}

// @ts-ignore: decorator
@inline function epiv(v: v128, act: i32, lo: v128, hi: v128): v128 {
  if (act == 1) return f32x4.max(v, f32x4.splat(0));
  if (act == 2) return f32x4.min(f32x4.max(v, lo), hi);
  return v;
}

// @ts-ignore: decorator
@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

const TILE: usize = memory.data(32, 16);

/** Stores 8 accumulators (two vectors) of row m, columns n0.., with the epilogue applied. */
// @ts-ignore: decorator
@inline function storeRow(
  v0: v128, v1: v128, c: usize, nv: i32, bias: usize, biasMode: i32, m: i32, n0: i32,
  act: i32, lo: v128, hi: v128,
): void {
  if (nv < 8) {
    // Ragged tail: spill the tile and finish lane by lane (lane indices must be constants).
    v128.store(TILE, v0);
    v128.store(TILE, v1, 16);
    const slo = f32x4.extract_lane(lo, 0);
    const shi = f32x4.extract_lane(hi, 0);
    for (let j = 0; j < nv; j++) {
      let v = load<f32>(TILE + (<usize>j << 2));
      if (biasMode == 1) v += load<f32>(bias + (<usize>(n0 + j) << 2));
      else if (biasMode == 2) v += load<f32>(bias + (<usize>m << 2));
      store<f32>(c + (<usize>j << 2), epi(v, act, slo, shi));
    }
    return;
  }
  if (biasMode == 1) {
    const bp = bias + (<usize>n0 << 2);
    v0 = f32x4.add(v0, v128.load(bp));
    v1 = f32x4.add(v1, v128.load(bp, 16));
  } else if (biasMode == 2) {
    const bv = v128.load32_splat(bias + (<usize>m << 2));
    v0 = f32x4.add(v0, bv);
    v1 = f32x4.add(v1, bv);
  }
  v128.store(c, epiv(v0, act, lo, hi));
  v128.store(c, epiv(v1, act, lo, hi), 16);
}

/** 4 rows × 8 columns over one B panel. Rows past M alias row 0 (computed, not stored). */
function mk4x8_simd(
  a: usize, lda: i32, bp: usize, c: usize, ldc: i32, mv: i32, nv: i32, K: i32,
  bias: usize, biasMode: i32, m0: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  const rs = <usize>lda << 2;
  const a0 = a;
  const a1 = mv > 1 ? a + rs : a;
  const a2 = mv > 2 ? a + 2 * rs : a;
  const a3 = mv > 3 ? a + 3 * rs : a;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pb = bp;
  for (let k = 0; k < K; k++) {
    const off = <usize>k << 2;
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    pb += 32;
    const x0 = v128.load32_splat(a0 + off);
    c00 = fma(x0, b0, c00); c01 = fma(x0, b1, c01);
    const x1 = v128.load32_splat(a1 + off);
    c10 = fma(x1, b0, c10); c11 = fma(x1, b1, c11);
    const x2 = v128.load32_splat(a2 + off);
    c20 = fma(x2, b0, c20); c21 = fma(x2, b1, c21);
    const x3 = v128.load32_splat(a3 + off);
    c30 = fma(x3, b0, c30); c31 = fma(x3, b1, c31);
  }
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const cs = <usize>ldc << 2;
  storeRow(c00, c01, c, nv, bias, biasMode, m0, n0, act, vlo, vhi);
  if (mv > 1) storeRow(c10, c11, c + cs, nv, bias, biasMode, m0 + 1, n0, act, vlo, vhi);
  if (mv > 2) storeRow(c20, c21, c + 2 * cs, nv, bias, biasMode, m0 + 2, n0, act, vlo, vhi);
  if (mv > 3) storeRow(c30, c31, c + 3 * cs, nv, bias, biasMode, m0 + 3, n0, act, vlo, vhi);
}

/** Packs A (M×K row-major, leading dimension lda) into 4-row panels: panel i holds rows
 * 4i..4i+3 as K consecutive groups of 4 floats, zero-padded past M; panel i starts at i·K·16. */
export function pack_a_f32(a: usize, lda: i32, ap: usize, M: i32, K: i32): void {
  const blocks = (M + 3) >> 2;
  for (let i = 0; i < blocks; i++) {
    const dst = ap + <usize>i * <usize>K * 16;
    let k0 = 0;
    if (ASC_FEATURE_SIMD && (i << 2) + 4 <= M) { // 4 rows, 4 columns at a time: a 4×4 transpose
      const s0 = a + <usize>(i << 2) * (<usize>lda << 2), rs = <usize>lda << 2;
      for (; k0 + 4 <= K; k0 += 4) {
        const o = <usize>k0 << 2;
        const r0 = v128.load(s0 + o), r1 = v128.load(s0 + rs + o), r2 = v128.load(s0 + 2 * rs + o), r3 = v128.load(s0 + 3 * rs + o);
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        const d = dst + (<usize>k0 << 4);
        v128.store(d, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5)); v128.store(d, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 32); v128.store(d, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 48);
      }
    }
    for (let r = 0; r < 4; r++) {
      const m = (i << 2) + r;
      const src = a + <usize>m * (<usize>lda << 2);
      for (let k = k0; k < K; k++) {
        store<f32>(dst + (<usize>k << 4) + (<usize>r << 2), m < M ? load<f32>(src + (<usize>k << 2)) : 0);
      }
    }
  }
}

/**
 * The 4×8 product of a packed A block and a B panel over K, written to TILE8 (row r at 32r). A
 * function of its own with few live values, so V8 keeps the loop's addresses in registers.
 */
function dot4x8p_f32(pa: usize, pb: usize, K: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const end = pa + (<usize>K << 4);
  while (pa < end) {
    const b0 = v128.load(pb, 0), b1 = v128.load(pb, 16);
    const a = v128.load(pa);
    let x = v128.shuffle<i32>(a, a, 0, 0, 0, 0); c00 = fma(x, b0, c00); c01 = fma(x, b1, c01);
    x = v128.shuffle<i32>(a, a, 1, 1, 1, 1); c10 = fma(x, b0, c10); c11 = fma(x, b1, c11);
    x = v128.shuffle<i32>(a, a, 2, 2, 2, 2); c20 = fma(x, b0, c20); c21 = fma(x, b1, c21);
    x = v128.shuffle<i32>(a, a, 3, 3, 3, 3); c30 = fma(x, b0, c30); c31 = fma(x, b1, c31);
    pa += 16;
    pb += 32;
  }
  v128.store(TILE8, c00, 0); v128.store(TILE8, c01, 16);
  v128.store(TILE8, c10, 32); v128.store(TILE8, c11, 48);
  v128.store(TILE8, c20, 64); v128.store(TILE8, c21, 80);
  v128.store(TILE8, c30, 96); v128.store(TILE8, c31, 112);
}

const TILE8: usize = memory.data(128, 16);

/** 4 rows × 8 columns over packed A and packed B. */
function mk4x8p_simd(
  pa: usize, pb: usize, c: usize, ldc: i32, mv: i32, nv: i32, K: i32,
  bias: usize, biasMode: i32, m0: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  dot4x8p_f32(pa, pb, K);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const cs = <usize>ldc << 2;
  storeRow(v128.load(TILE8, 0), v128.load(TILE8, 16), c, nv, bias, biasMode, m0, n0, act, vlo, vhi);
  if (mv > 1) storeRow(v128.load(TILE8, 32), v128.load(TILE8, 48), c + cs, nv, bias, biasMode, m0 + 1, n0, act, vlo, vhi);
  if (mv > 2) storeRow(v128.load(TILE8, 64), v128.load(TILE8, 80), c + 2 * cs, nv, bias, biasMode, m0 + 2, n0, act, vlo, vhi);
  if (mv > 3) storeRow(v128.load(TILE8, 96), v128.load(TILE8, 112), c + 3 * cs, nv, bias, biasMode, m0 + 3, n0, act, vlo, vhi);
}

/**
 * C = A·B (+bias, act) with A packed by pack_a_f32 and B by pack_b_f32: the GEMM for M ≥ 4.
 * Both operands stream sequentially; one B panel stays in cache while every A block passes.
 */
export function gemm_f32_pp(
  ap: usize, bp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32,
  bias: usize, biasMode: i32, act: i32, lo: f32, hi: f32,
): void {
  const panels = (N + 7) >> 3;
  const pstride = <usize>K << 5;
  const astride = <usize>K << 4;
  const crs = <usize>ldc << 2;
  for (let p = 0; p < panels; p++) {
    const n0 = p << 3;
    const nv = min(8, N - n0);
    const pb = bp + <usize>p * pstride;
    for (let m0 = 0; m0 < M; m0 += 4) {
      const pa = ap + <usize>(m0 >> 2) * astride;
      const cp = c + <usize>m0 * crs + (<usize>n0 << 2);
      if (ASC_FEATURE_SIMD) {
        mk4x8p_simd(pa, pb, cp, ldc, min(4, M - m0), nv, K, bias, biasMode, m0, n0, act, lo, hi);
      } else {
        for (let r = 0; r < min(4, M - m0); r++) {
          mk1x8p_scalar(pa + (<usize>r << 2), pb, cp + <usize>r * crs, nv, K, bias, biasMode, m0 + r, n0, act, lo, hi);
        }
      }
    }
  }
}

/** Portable tier of gemm_f32_pp: one row of a packed A block (stride 16 bytes per k). */
function mk1x8p_scalar(
  pa: usize, bp: usize, c: usize, nv: i32, K: i32,
  bias: usize, biasMode: i32, m: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
  let pb = bp;
  for (let k = 0; k < K; k++) {
    const x = load<f32>(pa + (<usize>k << 4));
    s0 += x * load<f32>(pb, 0); s1 += x * load<f32>(pb, 4);
    s2 += x * load<f32>(pb, 8); s3 += x * load<f32>(pb, 12);
    s4 += x * load<f32>(pb, 16); s5 += x * load<f32>(pb, 20);
    s6 += x * load<f32>(pb, 24); s7 += x * load<f32>(pb, 28);
    pb += 32;
  }
  storeScalarRow(c, nv, s0, s1, s2, s3, s4, s5, s6, s7, bias, biasMode, m, n0, act, lo, hi);
}

// @ts-ignore: decorator
@inline function storeScalarRow(
  c: usize, nv: i32, s0: f32, s1: f32, s2: f32, s3: f32, s4: f32, s5: f32, s6: f32, s7: f32,
  bias: usize, biasMode: i32, m: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  for (let j = 0; j < nv; j++) {
    let v: f32 = j == 0 ? s0 : j == 1 ? s1 : j == 2 ? s2 : j == 3 ? s3 : j == 4 ? s4 : j == 5 ? s5 : j == 6 ? s6 : s7;
    if (biasMode == 1) v += load<f32>(bias + (<usize>(n0 + j) << 2));
    else if (biasMode == 2) v += load<f32>(bias + (<usize>m << 2));
    store<f32>(c + (<usize>j << 2), epi(v, act, lo, hi));
  }
}

/** One row × 4 panels (32 columns): the GEMV shape, 8 independent accumulators. */
function mk1x32_simd(
  a: usize, bp: usize, pstride: usize, c: usize, nv: i32, K: i32,
  bias: usize, biasMode: i32, m: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0);
  let p0 = bp;
  const p1 = pstride, p2 = pstride << 1, p3 = pstride * 3;
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(a + (<usize>k << 2));
    c0 = fma(x, v128.load(p0), c0); c1 = fma(x, v128.load(p0, 16), c1);
    c2 = fma(x, v128.load(p0 + p1), c2); c3 = fma(x, v128.load(p0 + p1, 16), c3);
    c4 = fma(x, v128.load(p0 + p2), c4); c5 = fma(x, v128.load(p0 + p2, 16), c5);
    c6 = fma(x, v128.load(p0 + p3), c6); c7 = fma(x, v128.load(p0 + p3, 16), c7);
    p0 += 32;
  }
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  storeRow(c0, c1, c, min(8, nv), bias, biasMode, m, n0, act, vlo, vhi);
  if (nv > 8) storeRow(c2, c3, c + 32, min(8, nv - 8), bias, biasMode, m, n0 + 8, act, vlo, vhi);
  if (nv > 16) storeRow(c4, c5, c + 64, min(8, nv - 16), bias, biasMode, m, n0 + 16, act, vlo, vhi);
  if (nv > 24) storeRow(c6, c7, c + 96, min(8, nv - 24), bias, biasMode, m, n0 + 24, act, vlo, vhi);
}

/** Portable tier: same packed layout, one row × one panel at a time. */
function mk1x8_scalar(
  a: usize, bp: usize, c: usize, nv: i32, K: i32,
  bias: usize, biasMode: i32, m: i32, n0: i32, act: i32, lo: f32, hi: f32,
): void {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
  let pb = bp;
  for (let k = 0; k < K; k++) {
    const x = load<f32>(a + (<usize>k << 2));
    s0 += x * load<f32>(pb, 0); s1 += x * load<f32>(pb, 4);
    s2 += x * load<f32>(pb, 8); s3 += x * load<f32>(pb, 12);
    s4 += x * load<f32>(pb, 16); s5 += x * load<f32>(pb, 20);
    s6 += x * load<f32>(pb, 24); s7 += x * load<f32>(pb, 28);
    pb += 32;
  }
  storeScalarRow(c, nv, s0, s1, s2, s3, s4, s5, s6, s7, bias, biasMode, m, n0, act, lo, hi);
}

/**
 * C = A·B (+bias, act) with B packed by pack_b_f32. Loops panel-major so one B panel stays in
 * cache while every row of A passes over it.
 */
export function gemm_f32(
  a: usize, lda: i32, bp: usize, c: usize, ldc: i32, M: i32, N: i32, K: i32,
  bias: usize, biasMode: i32, act: i32, lo: f32, hi: f32,
): void {
  const panels = (N + 7) >> 3;
  const pstride = <usize>K << 5;
  const ars = <usize>lda << 2;
  const crs = <usize>ldc << 2;
  if (ASC_FEATURE_SIMD) {
    if (M < 4) {
      for (let m = 0; m < M; m++) {
        let p = 0;
        for (; p + 4 <= panels; p += 4) {
          mk1x32_simd(a + <usize>m * ars, bp + <usize>p * pstride, pstride, c + <usize>m * crs + (<usize>p << 5),
            min(32, N - (p << 3)), K, bias, biasMode, m, p << 3, act, lo, hi);
        }
        for (; p < panels; p++) {
          mk4x8_simd(a + <usize>m * ars, lda, bp + <usize>p * pstride, c + <usize>m * crs + (<usize>p << 5), ldc,
            1, min(8, N - (p << 3)), K, bias, biasMode, m, p << 3, act, lo, hi);
        }
      }
      return;
    }
    for (let p = 0; p < panels; p++) {
      const n0 = p << 3;
      const nv = min(8, N - n0);
      const pb = bp + <usize>p * pstride;
      for (let m0 = 0; m0 < M; m0 += 4) {
        mk4x8_simd(a + <usize>m0 * ars, lda, pb, c + <usize>m0 * crs + (<usize>n0 << 2), ldc,
          min(4, M - m0), nv, K, bias, biasMode, m0, n0, act, lo, hi);
      }
    }
  } else {
    for (let p = 0; p < panels; p++) {
      const n0 = p << 3;
      const nv = min(8, N - n0);
      const pb = bp + <usize>p * pstride;
      for (let m = 0; m < M; m++) {
        mk1x8_scalar(a + <usize>m * ars, pb, c + <usize>m * crs + (<usize>n0 << 2), nv, K, bias, biasMode, m, n0, act, lo, hi);
      }
    }
  }
}

/** Scalar reference on the plain layout: C = A·B (+ per-column bias), no packing. */
export function gemm_f32__ref(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, bias: usize): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) {
        s += load<f32>(a + ((<usize>m * <usize>K + <usize>k) << 2)) * load<f32>(b + ((<usize>k * <usize>N + <usize>n) << 2));
      }
      if (bias) s += load<f32>(bias + (<usize>n << 2));
      store<f32>(c + ((<usize>m * <usize>N + <usize>n) << 2), s);
    }
  }
}
