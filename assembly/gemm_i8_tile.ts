// The int8 tile shared by the GEMM (gemm_i8.ts) and the convolution (conv_i8.ts): both operands
// pre-widened to i16 with their zero points subtracted (values in [−255, 255]), k summed in
// pairs with i32x4.dot_i16x8_s in wrapping i32. |a·b| ≤ 255² per product, so the pair sums
// cannot overflow i32.
//
// dot4x8_i16: tile[r][c] = Σ_t Σ_p Σ_u a(t, p)[r][u] · b[t][p][c][u], r < 4, c < 8, u < 2.
// The A side is read through a tap table: group (t, p) of 4 rows × 2 k as i16 (16 bytes, row r
// at byte 4r) sits at pa + offs[t] + p·ps. The GEMM has one tap (offs = [0]) and ps = 16 (its
// packed A block); the convolution has one tap per kernel offset into its padded input and ps
// the stride between channel pairs, four output positions being the four rows. B is a panel of
// T·P groups of 8 columns × 2 k as i16 (32 bytes per group, column c at byte 4c), read in
// order. dot_i16x8_s(splat(a[r][0..1]), b) gives row r against four columns at once, so the 8
// accumulators need no folding; 8 accumulators + 2 B + 1 A fit V8's 15 XMM registers.
//
// Measured (Zen 4, V8 11): ≈ 1.6 i32x4.dot_i16x8_s per cycle of the 2 the core issues; the loop
// is bound by instruction dispatch (6 loads + 16 vector ops per 64 MACs), not by the
// multiplier. Slower alternatives measured: unrolling the k loop, 5×8 and 8×4 tiles, 2×4 / 3×3 /
// 2×6 tiles of 8-k row vectors with a horizontal fold at the end (no splats, but as many loads),
// widening int8 in registers, and (convolution) gathering the taps into a sequential block
// first (the strided reads cost less than the copies).

/** Writes the 4×8 i32 tile at `tile`: row r at tile + 32r (columns 0..3, then 4..7). */
export function dot4x8_i16(pa: usize, offs: usize, T: i32, P: i32, ps: usize, pb: usize, tile: usize): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let t = 0; t < T; t++) {
      let q = pa + <usize>load<i32>(offs + (<usize>t << 2));
      const end = q + <usize>P * ps;
      while (q < end) {
        const b0 = v128.load(pb, 0);
        const b1 = v128.load(pb, 16);
        let a = v128.load32_splat(q, 0);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(a, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(a, b1));
        a = v128.load32_splat(q, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(a, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(a, b1));
        a = v128.load32_splat(q, 8);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(a, b0)); c21 = i32x4.add(c21, i32x4.dot_i16x8_s(a, b1));
        a = v128.load32_splat(q, 12);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(a, b0)); c31 = i32x4.add(c31, i32x4.dot_i16x8_s(a, b1));
        q += ps;
        pb += 32;
      }
    }
    v128.store(tile, c00, 0); v128.store(tile, c01, 16);
    v128.store(tile, c10, 32); v128.store(tile, c11, 48);
    v128.store(tile, c20, 64); v128.store(tile, c21, 80);
    v128.store(tile, c30, 96); v128.store(tile, c31, 112);
    return;
  }
  for (let i = 0; i < 32; i++) store<i32>(tile + (<usize>i << 2), 0);
  for (let t = 0; t < T; t++) {
    const q = pa + <usize>load<i32>(offs + (<usize>t << 2));
    for (let p = 0; p < P; p++) {
      const ag = q + <usize>p * ps;
      const bg = pb + (<usize>(t * P + p) << 5);
      for (let r = 0; r < 4; r++) {
        const a0 = <i32>load<i16>(ag + (<usize>r << 2)), a1 = <i32>load<i16>(ag + (<usize>r << 2), 2);
        for (let c = 0; c < 8; c++) {
          const at = tile + (<usize>(r * 8 + c) << 2);
          store<i32>(at, load<i32>(at) + a0 * <i32>load<i16>(bg + (<usize>c << 2)) + a1 * <i32>load<i16>(bg + (<usize>c << 2), 2));
        }
      }
    }
  }
}
