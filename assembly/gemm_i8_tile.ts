// The int8 tiles shared by the GEMM (gemm_i8.ts) and the convolution (conv_i8.ts); both sum
// k in pairs with i32x4.dot_i16x8_s, in wrapping i32. |a·b| ≤ 2^8·2^8 per product (int8 data,
// or int8 minus a zero point), so the pair sums cannot overflow i32.
//
// dot4x8_i16 (the GEMM, weights pre-widened once per session): tile[r][c] = Σ_g Σ_t
// a[g][r][t]·b[g][c][t], r < 4, c < 8, t < 2. pa: G k-pair groups of 4 rows × 2 k as i16 (16
// bytes per group, row r at byte 4r); pb: a panel of G k-pair groups of 8 columns × 2 k as i16
// (32 bytes per group, column c at byte 4c). dot_i16x8_s(splat(a[r][0..1]), b) gives row r
// against four columns at once, so the 8 accumulators need no folding; 8 accumulators + 2 B +
// 1 A fit V8's 15 XMM registers.
//
// dot4x4_i16i8 (the convolution, whose B — the im2col — is built per call as int8): one block
// of 4 A rows and one quad of 4 B columns. pa points at G k-groups of 4 rows × 4 k as i16
// (32 bytes per group, row r at byte 8r); pb at a quad inside a slab of G k-groups of 64 bytes
// (column c at byte 4c, four consecutive k, i8), widened in registers once per 4 rows. A row
// keeps two accumulators per 4 columns ([c0 k01, c0 k23, c1 k01, c1 k23] and the same for c2,
// c3), folded at the end. (An i16 im2col for dot4x8_i16 measured slower: it doubles the bytes
// the im2col writes and reads.)
//
// Measured earlier on the GEMM: unrolling g, an 8×4 tile and 4×8 tiles widening in registers
// were slower (V8 keeps ~15 XMM registers live; loads get hoisted and spill).

/** Writes the 4×8 i32 tile at `tile`: row r at tile + 32r (columns 0..3, then 4..7). */
export function dot4x8_i16(pa: usize, pb: usize, G: i32, tile: usize): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let g = 0; g < G; g++) {
      const b0 = v128.load(pb, 0);
      const b1 = v128.load(pb, 16);
      let a = v128.load32_splat(pa, 0);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a, b1));
      a = v128.load32_splat(pa, 4);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a, b1));
      a = v128.load32_splat(pa, 8);
      c20 = i32x4.add(c20, i32x4.dot_i16x8_s(a, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(a, b1));
      a = v128.load32_splat(pa, 12);
      c30 = i32x4.add(c30, i32x4.dot_i16x8_s(a, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(a, b1));
      pa += 16;
      pb += 32;
    }
    v128.store(tile, c00, 0); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    return;
  }
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 8; c++) {
      let s = 0;
      for (let g = 0; g < G; g++) {
        const ag = pa + (<usize>g << 4) + (<usize>r << 2);
        const bg = pb + (<usize>g << 5) + (<usize>c << 2);
        s += <i32>load<i16>(ag) * <i32>load<i16>(bg) + <i32>load<i16>(ag, 2) * <i32>load<i16>(bg, 2);
      }
      store<i32>(tile + (<usize>(r * 8 + c) << 2), s);
    }
  }
}

// @ts-ignore: decorator
@inline export function dotAdd(acc: v128, b: v128, a: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(b, a));
}

/** [c0a, c0b, c1a, c1b] and [c2a, c2b, c3a, c3b] → [c0, c1, c2, c3]. */
// @ts-ignore: decorator
@inline export function foldPairs(lo: v128, hi: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(lo, hi, 0, 2, 4, 6), v128.shuffle<i32>(lo, hi, 1, 3, 5, 7));
}

/** Writes the 4×4 i32 tile, row r at tile + 16r (see the header). */
export function dot4x4_i16i8(pa: usize, pb: usize, G: i32, tile: usize): void {
  if (ASC_FEATURE_SIMD) {
    let c0l = i32x4.splat(0), c0h = i32x4.splat(0), c1l = i32x4.splat(0), c1h = i32x4.splat(0);
    let c2l = i32x4.splat(0), c2h = i32x4.splat(0), c3l = i32x4.splat(0), c3h = i32x4.splat(0);
    for (let g = 0; g < G; g++) {
      const q = v128.load(pb);
      const bl = i16x8.extend_low_i8x16_s(q);
      const bh = i16x8.extend_high_i8x16_s(q);
      let a = v128.load64_splat(pa, 0); c0l = dotAdd(c0l, bl, a); c0h = dotAdd(c0h, bh, a);
      a = v128.load64_splat(pa, 8); c1l = dotAdd(c1l, bl, a); c1h = dotAdd(c1h, bh, a);
      a = v128.load64_splat(pa, 16); c2l = dotAdd(c2l, bl, a); c2h = dotAdd(c2h, bh, a);
      a = v128.load64_splat(pa, 24); c3l = dotAdd(c3l, bl, a); c3h = dotAdd(c3h, bh, a);
      pa += 32;
      pb += 64;
    }
    v128.store(tile, foldPairs(c0l, c0h), 0);
    v128.store(tile, foldPairs(c1l, c1h), 16);
    v128.store(tile, foldPairs(c2l, c2h), 32);
    v128.store(tile, foldPairs(c3l, c3h), 48);
    return;
  }
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let g = 0; g < G; g++) {
        const ag = pa + (<usize>g << 5) + (<usize>r << 3);
        const bg = pb + (<usize>g << 6) + (<usize>c << 2);
        s += <i32>load<i16>(ag) * <i32>load<i8>(bg) + <i32>load<i16>(ag, 2) * <i32>load<i8>(bg, 1)
          + <i32>load<i16>(ag, 4) * <i32>load<i8>(bg, 2) + <i32>load<i16>(ag, 6) * <i32>load<i8>(bg, 3);
      }
      store<i32>(tile + (<usize>(r * 4 + c) << 2), s);
    }
  }
}
