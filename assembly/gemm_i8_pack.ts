// int8 GEMM operand packing: C[M,N] = Σ_k (a[m,k] − a_zp[m]) · (b[k,n] − b_zp[n]) in i32.
//
// Every 8-bit operand is stored *shifted* into int8: a stored value q = v − off, with the zero
// point shifted by the same off, so (v − zp) = (q − (zp − off)) and the product is unchanged.
// u8 activations use off = 128 (q = v xor 0x80); s8 activations off = 0.
//
// Packed B (pack_b_i8, once per session; the same bytes on every build) holds the weights in
// one or both of two layouts, chosen by the caller (`layouts`, PB_I8 | PB_I16):
//   [0, 16)              header i32 ×4: K, N, flags, byte offset of the i16 panels (0: none)
//                        flags bit 0: every q in 0..127; bit 1: i8 slabs; bit 2: i16 panels
//   [16, 16 + 4·Np)      zq[n]  = b_zp[n] − off[n], i32        (Np = N rounded up to 16)
//   [.., .. + 4·Np)      corr[n] = Σ_k (q[k,n] − zq[n]), i32   (the column sum, exact mod 2^32)
//   PB_I8 (the GEMV, M < 4: memory bound, so it reads one byte per weight and widens in
//   registers): Np/16 slabs of Kp·16 bytes (Kp = K rounded up to 4): slab s holds columns
//   16s..16s+15 as Kp/4 k-groups of 64 bytes; in group g, byte 16j + 4c + t is
//   q[4g + t, 16s + 4j + c]. So four consecutive k of one column are adjacent (the operand
//   shape of i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s), a 16-byte
//   "quad" j holds 4 columns, and GEMV streams one slab sequentially.
//   PB_I16 (the GEMM, M ≥ 4: widening paid once here, not per row block): Np/8 panels of
//   Kp·16 bytes, the pb operand of dot4x8_i16 (gemm_i8_tile.ts): panel p holds columns
//   8p..8p+7 as Kp/2 k-pair groups of 32 bytes; in group g, i16 element 2c + t is
//   b[2g + t, 8p + c] − b_zp[8p + c] ∈ [−255, 255] — not shifted, the zero point subtracted, so
//   the GEMM needs no correction terms. Twice the bytes of PB_I8.
//   Padding is 0 in both.
// off[n] is chosen per column: if max − min of the column is ≤ 127, off = min and q ∈ 0..127;
// otherwise off = 128 for u8 weights and 0 for s8. When every column fits 0..127 (flags bit 0:
// 7-bit or narrower weights) the relaxed build's GEMV uses the relaxed dot, whose second
// operand must be in 0..127; otherwise every SIMD build uses i32x4.dot_i16x8_s.
//
// Packed A (per call, inside the scratch of qgemm_i8; its layout is private to one call):
// - GEMM (packA16): blocks of 4 rows, zero-padded past M and K (Kp columns), the pa operand of
//   dot4x8_i16: Kp/2 k-pair groups of 16 bytes, row r at byte 4r, holding a[m,k] − a_zp[m] ∈
//   [−255, 255] as i16. Then acc = Σ_k (a − a_zp)(b − b_zp) directly: |product| ≤ 255², so
//   dot_i16x8_s's pair sums cannot overflow and the k-sum wraps as the reference's does.
// - GEMV (packA): one row after another, Kp elements each, q_a = a − off (i8 for the relaxed
//   dot, i16 otherwise; or, for the relaxed dot on 8-bit B, q_a = a − off ∈ [0, 255] as two
//   nibble rows per k-group of 4: 4 bytes of q_a & 15, then 4 bytes of q_a >> 4);
//   rowsum[m] = Σ_k q_a[m,k] and za[m] = a_zp[m] − off (i32 arrays) follow the rows. Then
//   acc = S − zq[n]·rowsum[m] − za[m]·corr[n] with S = Σ_k q_a[m,k]·q[k,n]; every step is
//   exact in wrapping i32 arithmetic.

export const PB_HEADER: usize = 16;
export const PB_FLAG_I7: i32 = 1;
/** `layouts` bits of pack_b_i8: the GEMV's i8 slabs, the GEMM's i16 panels. */
export const PB_I8: i32 = 1;
export const PB_I16: i32 = 2;

// @ts-ignore: decorator
@inline export function roundUp4(x: i32): i32 {
  return (x + 3) & ~3;
}

// @ts-ignore: decorator
@inline function roundUp16(x: i32): i32 {
  return (x + 15) & ~15;
}

/** Bytes of the i8 slabs (PB_I8) of a K×N matrix; the i16 panels (PB_I16) take twice this. */
// @ts-ignore: decorator
@inline function slabBytes(K: i32, N: i32): i32 {
  return roundUp16(N) * roundUp4(K);
}

/** Bytes of the packed B for a K×N weight matrix with the given layouts (PB_I8 | PB_I16). */
export function pack_b_i8_bytes(K: i32, N: i32, layouts: i32): i32 {
  const body = slabBytes(K, N) * ((layouts & PB_I8 ? 1 : 0) + (layouts & PB_I16 ? 2 : 0));
  return <i32>PB_HEADER + roundUp16(N) * 8 + body;
}

// @ts-ignore: decorator
@inline export function pbZq(bp: usize): usize {
  return bp + PB_HEADER;
}

// @ts-ignore: decorator
@inline export function pbCorr(bp: usize, N: i32): usize {
  return bp + PB_HEADER + (<usize>roundUp16(N) << 2);
}

/** The i8 slabs (when flags say PB_I8). */
// @ts-ignore: decorator
@inline export function pbSlabs(bp: usize, N: i32): usize {
  return bp + PB_HEADER + (<usize>roundUp16(N) << 3);
}

/** Which layouts a packed B holds (PB_I8 | PB_I16). */
// @ts-ignore: decorator
@inline export function pbLayouts(bp: usize): i32 {
  return (load<i32>(bp + 8) >> 1) & 3;
}

/** The i16 panels (when flags say PB_I16). */
// @ts-ignore: decorator
@inline export function pbPanels(bp: usize): usize {
  return bp + <usize>load<i32>(bp + 12);
}

// @ts-ignore: decorator
@inline function loadQ8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

/**
 * Packs constant weights b (K×N row-major with leading dimension ldb, or N×K if transB) of type
 * s8 (bSigned = 1) or u8 (0) into bp (pack_b_i8_bytes(K, N, layouts) bytes) in the layouts
 * PB_I8 and/or PB_I16. bZp points to the zero point(s) in b's own type: one value, or N values
 * when bZpPerCol; 0 means zero point 0. Returns 0, or 1 when a dimension is not positive or
 * no layout is asked for.
 */
export function pack_b_i8(
  b: usize, ldb: i32, transB: i32, bSigned: i32, bZp: usize, bZpPerCol: i32, K: i32, N: i32, bp: usize, layouts: i32,
): i32 {
  if (K <= 0 || N <= 0 || (layouts & (PB_I8 | PB_I16)) == 0 || layouts > (PB_I8 | PB_I16)) return 1;
  const Kp = roundUp4(K);
  const Np = roundUp16(N);
  const zqp = pbZq(bp);
  const corrp = pbCorr(bp, N);
  const slabs = pbSlabs(bp, N);
  const i8 = (layouts & PB_I8) != 0;
  const i16 = (layouts & PB_I16) != 0;
  const panels = slabs + (i8 ? <usize>slabBytes(K, N) : 0);
  let allI7 = 1;
  for (let n = 0; n < Np; n++) {
    const slabCol = slabs + <usize>(n >> 4) * <usize>Kp * 16 + <usize>((n & 15) << 2);
    const panelCol = panels + <usize>(n >> 3) * <usize>Kp * 16 + <usize>((n & 7) << 2);
    const colStride: usize = transB ? 1 : <usize>ldb;
    const col = b + (transB ? <usize>n * <usize>ldb : <usize>n);
    let off = 0, zq = 0;
    if (n < N) {
      let lo = 255, hi = -128;
      for (let k = 0; k < K; k++) {
        const v = loadQ8(col + <usize>k * colStride, bSigned);
        lo = min(lo, v);
        hi = max(hi, v);
      }
      off = bSigned ? 0 : 128;
      if (hi - lo <= 127) off = lo;
      else allI7 = 0;
      zq = (bZp ? loadQ8(bZp + (bZpPerCol ? <usize>n : 0), bSigned) : 0) - off;
    }
    let sum = 0;
    for (let k = 0; k < Kp; k++) {
      const q = n < N && k < K ? loadQ8(col + <usize>k * colStride, bSigned) - off : 0;
      if (i8) store<i8>(slabCol + (<usize>(k >> 2) << 6) + <usize>(k & 3), <i8>q);
      if (i16) store<i16>(panelCol + (<usize>(k >> 1) << 5) + (<usize>(k & 1) << 1), <i16>(n < N && k < K ? q - zq : 0));
      sum += q;
    }
    store<i32>(zqp + (<usize>n << 2), zq);
    store<i32>(corrp + (<usize>n << 2), n < N ? sum - K * zq : 0);
  }
  store<i32>(bp, K);
  store<i32>(bp + 4, N);
  store<i32>(bp + 8, (allI7 ? PB_FLAG_I7 : 0) | (layouts << 1));
  store<i32>(bp + 12, i16 ? <i32>(panels - bp) : 0);
  return 0;
}

/** Bytes of qgemm_i8's scratch for an M×K activation (A packed as i16 at worst, plus sums). */
export function qgemm_i8_scratch_bytes(M: i32, K: i32): i32 {
  const Mp = roundUp4(M);
  return Mp * roundUp4(K) * 2 + Mp * 8;
}

// @ts-ignore: decorator
@inline function i16bits(x: i32): u64 {
  return <u64>(<u16>x);
}

/** Four signed bytes → four i16 (little-endian lanes of a u64). */
// @ts-ignore: decorator
@inline function widen4(w: u32): u64 {
  if (ASC_FEATURE_SIMD) return i64x2.extract_lane(i16x8.extend_low_i8x16_s(i32x4.splat(w)), 0);
  return i16bits(<i32>(w << 24) >> 24) | (i16bits(<i32>(w << 16) >> 24) << 16) | (i16bits(<i32>(w << 8) >> 24) << 32) | (i16bits(<i32>w >> 24) << 48);
}

/** packA's element width code for the nibble rows of the relaxed GEMV on 8-bit B. */
export const PA_NIB: i32 = 3;

/**
 * Packs rows of A for the GEMV (see the header) into `ap`: Kp elements per row of width ew (1:
 * i8, 2: i16, PA_NIB: nibbles). Writes rowsum[M] then za[M] (i32) right after the rows; returns
 * their address.
 */
export function packA(a: usize, lda: i32, aSigned: i32, aZp: usize, aZpPerRow: i32, M: i32, K: i32, ew: i32, ap: usize): usize {
  const Kp = roundUp4(K);
  const nib = ASC_FEATURE_RELAXED_SIMD && ew == PA_NIB; // only the relaxed build reads nibble rows
  // q_a = a − off: s8 (off 128 for u8, 0 for s8), or u8 for the nibbles (off 0 for u8, −128 for
  // s8); either is a xor of the top bit or nothing.
  const off = nib ? (aSigned ? -128 : 0) : (aSigned ? 0 : 128);
  const rowBytes = <usize>Kp * <usize>(nib ? 2 : ew);
  const sums = ap + <usize>M * rowBytes;
  const flip: u32 = (aSigned != 0) == nib ? 0x80808080 : 0;
  const full = K >> 2;
  for (let m = 0; m < M; m++) {
    const dst = ap + <usize>m * rowBytes;
    const src = a + <usize>m * <usize>lda;
    let s = 0;
    let g = 0;
    for (; g < full; g++) {
      const w = load<u32>(src + (<usize>g << 2)) ^ flip;
      if (nib) {
        store<u32>(dst + (<usize>g << 3), w & 0x0f0f0f0f);
        store<u32>(dst + (<usize>g << 3), (w >> 4) & 0x0f0f0f0f, 4);
        s += <i32>(w & 255) + <i32>((w >> 8) & 255) + <i32>((w >> 16) & 255) + <i32>(w >> 24);
      } else {
        // (The relaxed build packs i8 or nibbles only.)
        if (ew == 1 || ASC_FEATURE_RELAXED_SIMD) store<u32>(dst + (<usize>g << 2), w);
        else store<u64>(dst + (<usize>g << 3), widen4(w));
        s += (<i32>(w << 24) >> 24) + (<i32>(w << 16) >> 24) + (<i32>(w << 8) >> 24) + (<i32>w >> 24);
      }
    }
    for (let k = g << 2; k < Kp; k++) {
      const q = k < K ? loadQ8(src + <usize>k, aSigned) - off : 0;
      if (nib) {
        const at = dst + (<usize>(k >> 2) << 3) + <usize>(k & 3);
        store<u8>(at, q & 15);
        store<u8>(at, q >> 4, 4);
      } else if (ew == 1 || ASC_FEATURE_RELAXED_SIMD) store<i8>(dst + <usize>k, <i8>q);
      else store<i16>(dst + (<usize>k << 1), <i16>q);
      s += q;
    }
    const zp = aZp ? loadQ8(aZp + (aZpPerRow ? <usize>m : 0), aSigned) : 0;
    store<i32>(sums + (<usize>m << 2), s);
    store<i32>(sums + (<usize>(M + m) << 2), zp - off);
  }
  return sums;
}

/** Eight 8-bit values at p (u8 or s8) as i16 lanes minus the splat zero point z. */
// @ts-ignore: decorator
@inline function centred8(p: usize, aSigned: i32, z: v128): v128 {
  return i16x8.sub(aSigned ? v128.load8x8_s(p) : v128.load8x8_u(p), z);
}

/**
 * Packs A for the GEMM (see the header) into `ap`: blocks of 4 rows of a − a_zp as i16 k-pairs.
 * Full blocks of 8 k are four row loads transposed as 4×4 i32 (k-pair) lanes.
 */
export function packA16(a: usize, lda: i32, aSigned: i32, aZp: usize, aZpPerRow: i32, M: i32, K: i32, ap: usize): void {
  const Kp = roundUp4(K);
  const blockBytes = <usize>Kp << 3;
  for (let m0 = 0; m0 < M; m0 += 4) {
    const dst = ap + <usize>(m0 >> 2) * blockBytes;
    let k0 = 0;
    if (ASC_FEATURE_SIMD && m0 + 4 <= M) {
      const s0 = a + <usize>m0 * <usize>lda, s1 = s0 + <usize>lda, s2 = s1 + <usize>lda, s3 = s2 + <usize>lda;
      const z0 = i16x8.splat(<i16>zpOf(aZp, aZpPerRow, aSigned, m0)), z1 = i16x8.splat(<i16>zpOf(aZp, aZpPerRow, aSigned, m0 + 1));
      const z2 = i16x8.splat(<i16>zpOf(aZp, aZpPerRow, aSigned, m0 + 2)), z3 = i16x8.splat(<i16>zpOf(aZp, aZpPerRow, aSigned, m0 + 3));
      for (; k0 + 8 <= K; k0 += 8) {
        const k = <usize>k0;
        const x0 = centred8(s0 + k, aSigned, z0), x1 = centred8(s1 + k, aSigned, z1);
        const x2 = centred8(s2 + k, aSigned, z2), x3 = centred8(s3 + k, aSigned, z3);
        const t0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7);
        const at = dst + (k << 3);
        v128.store(at, v128.shuffle<i64>(t0, t1, 0, 2), 0);
        v128.store(at, v128.shuffle<i64>(t0, t1, 1, 3), 16);
        v128.store(at, v128.shuffle<i64>(t2, t3, 0, 2), 32);
        v128.store(at, v128.shuffle<i64>(t2, t3, 1, 3), 48);
      }
    }
    for (let r = 0; r < 4; r++) {
      const m = m0 + r;
      const src = a + <usize>m * <usize>lda;
      const z = m < M ? zpOf(aZp, aZpPerRow, aSigned, m) : 0;
      for (let k = k0; k < Kp; k++) {
        const v = m < M && k < K ? loadQ8(src + <usize>k, aSigned) - z : 0;
        store<i16>(dst + (<usize>(k >> 1) << 4) + (<usize>r << 2) + (<usize>(k & 1) << 1), <i16>v);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function zpOf(aZp: usize, aZpPerRow: i32, aSigned: i32, m: i32): i32 {
  return aZp ? loadQ8(aZp + (aZpPerRow ? <usize>m : 0), aSigned) : 0;
}
