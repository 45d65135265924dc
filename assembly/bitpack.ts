// Bit packing of ±1 tensors for the binary (XNOR-popcount) kernels.
//
// The packed layout ("bit rows"): a row of L elements is ⌈L/128⌉·16 bytes (bit_row_bytes);
// element k is bit k&31 of the little-endian u32 word k>>5, and a SET bit means −1 (it is the
// sign bit). The packers write 0 in the padding bits past L; the binary kernels never rely on
// that (they mask the padding, see bgemm_b1b1.ts), so a padded row may hold anything there.
//
// Sign convention (the usual BNN rule sign(0) = +1): x < 0 → −1 (bit 1); +0, −0 → +1 (bit 0).
// The f32 activation packers take `nanNegative` for NaN, the one value the two bipolar signs
// models write disagree on: 0 → NaN packs +1, as Where(Less(x, 0), −1, +1) gives (the bit is
// x < 0); 1 → NaN packs −1, as QONNX BipolarQuant's x ≥ 0 ? +1 : −1 gives (the bit is ¬(x ≥ 0)).
// Weights and int8 ±1 tensors pack by x < 0 (they hold no NaN).
//
// Layouts the packers produce:
//   pack_signs_f32 / pack_signs_i8: a matrix, element (r, k) at x[r·ldr + k·ldk] → `rows` bit
//     rows of K elements (the binary GEMM's activations A as M×K; binary × int8/f32 weights).
//   pack_signs_nchw_f32: X[N, C, P] (P = spatial positions) → "bit NHWC": image n, position p is
//     the bit row at (n·P + p)·bit_row_bytes(C) holding channel c at bit c — the activation
//     layout of bconv_b1b1 (input and its sign output).
// The binary GEMM's and conv's weights are bit rows kept in 8-row panels (bitpanel.ts).
// Leaving a binary chain: unpack_signs_f32 (bit rows → f32 ±1 matrix) and
// unpack_signs_nhwc_f32 (bit NHWC → f32 ±1 NCHW).

/** Bytes of one bit row of L elements (padded to 128 bits). */
export function bit_row_bytes(L: i32): i32 {
  return ((L + 127) >> 7) << 4;
}

/** The bit of one f32 activation (set = −1) under the NaN rule (see the top). */
// @ts-ignore: decorator
@inline function negativeBit(v: f32, nanNegative: bool): bool {
  return nanNegative ? !(v >= 0) : v < 0;
}

/** Packs `rows` rows of K f32 values (element (r, k) at x[r·ldr + k·ldk]) into bit rows. */
export function pack_signs_f32(x: usize, rows: i32, K: i32, ldr: i32, ldk: i32, dst: usize, nanNegative: i32): void {
  const rb = <usize>bit_row_bytes(K);
  memory.fill(dst, 0, rb * <usize>rows);
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>ldr) << 2);
    const row = dst + <usize>r * rb;
    let k = 0;
    if (ASC_FEATURE_SIMD && ldk == 1) {
      // 32 signs a word: two 16-byte masks of 0/−1, their byte bitmasks (a loop per NaN rule).
      const K32 = K & ~31;
      if (nanNegative != 0) for (; k < K32; k += 32) store<u32>(row + (<usize>k >> 3), signWord(src + (<usize>k << 2), true));
      else for (; k < K32; k += 32) store<u32>(row + (<usize>k >> 3), signWord(src + (<usize>k << 2), false));
    }
    for (; k < K; k++) {
      if (negativeBit(load<f32>(src + ((<usize>k * <usize>ldk) << 2)), nanNegative != 0)) setBit(row, k);
    }
  }
}

/** Packs `rows` rows of K int8 values (element (r, k) at x[r·ldr + k·ldk]) into bit rows. */
export function pack_signs_i8(x: usize, rows: i32, K: i32, ldr: i32, ldk: i32, dst: usize): void {
  const rb = <usize>bit_row_bytes(K);
  memory.fill(dst, 0, rb * <usize>rows);
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * <usize>ldr;
    const row = dst + <usize>r * rb;
    for (let k = 0; k < K; k++) {
      if (load<i8>(src + <usize>k * <usize>ldk) < 0) setBit(row, k);
    }
  }
}

/** X[N, C, P] f32 → bit NHWC (one bit row of C channels per image and position). */
export function pack_signs_nchw_f32(x: usize, N: i32, C: i32, P: i32, dst: usize, nanNegative: i32): void {
  const rb = <usize>bit_row_bytes(C);
  const plane = <usize>P;
  memory.fill(dst, 0, rb * <usize>N * plane);
  for (let n = 0; n < N; n++) {
    const rows = dst + <usize>n * plane * rb;
    let p0 = 0;
    if (ASC_FEATURE_SIMD) {
      const P16 = P & ~15;
      signPlanes16(x, n, C, plane, P16, rows, rb, nanNegative != 0);
      p0 = P16;
    }
    for (let c = 0; c < C; c++) {
      const src = x + ((<usize>(n * C + c) * plane) << 2);
      for (let p = p0; p < P; p++) {
        if (negativeBit(load<f32>(src + (<usize>p << 2)), nanNegative != 0)) setBit(rows + <usize>p * rb, c);
      }
    }
  }
}

/**
 * Positions [0, P16) of image n, 16 positions × 8 channels at a time: each channel's 16 signs
 * narrow to 16 bytes of 0/−1, channel j of the group keeps bit j, and byte i of the OR goes to
 * byte c0/8 of row i. nan: NaN counts as negative (a branch the loop predicts; x < 0 alone
 * skips the NaN test, a third of the vector work).
 */
function signPlanes16(x: usize, n: i32, C: i32, plane: usize, P16: i32, rows: usize, rb: usize, nan: bool): void {
  for (let c0 = 0; c0 < C; c0 += 8) {
    const nc = min(8, C - c0);
    const src0 = x + ((<usize>(n * C + c0) * plane) << 2);
    for (let p0 = 0; p0 < P16; p0 += 16) {
      let src = src0 + (<usize>p0 << 2);
      let acc = i8x16.splat(0);
      for (let j = 0; j < nc; j++) {
        acc = v128.or(acc, v128.and(negativeBytes16(src, nan), i8x16.splat(<i8>(<i32>1 << j))));
        src += plane << 2;
      }
      storeBytes16(rows + <usize>p0 * rb + (<usize>c0 >> 3), rb, acc);
    }
  }
}

/** The sign bits of 32 f32 at p (bit i: element i negative, or NaN when `nan`). */
// @ts-ignore: decorator
@inline function signWord(p: usize, nan: bool): u32 {
  return <u32>i8x16.bitmask(negativeBytes16(p, nan)) | (<u32>i8x16.bitmask(negativeBytes16(p + 64, nan)) << 16);
}

/** 16 f32 at src → 16 bytes, −1 where x < 0, or x is NaN when `nan` (−0 gives 0; NaN 0 without `nan`). */
// @ts-ignore: decorator
@inline function negativeBytes16(src: usize, nan: bool): v128 {
  const lo = i16x8.narrow_i32x4_s(negative4(v128.load(src), nan), negative4(v128.load(src, 16), nan));
  const hi = i16x8.narrow_i32x4_s(negative4(v128.load(src, 32), nan), negative4(v128.load(src, 48), nan));
  return i8x16.narrow_i16x8_s(lo, hi);
}

// @ts-ignore: decorator
@inline function negative4(v: v128, nan: bool): v128 {
  const neg = f32x4.lt(v, f32x4.splat(0));
  return nan ? v128.or(neg, f32x4.ne(v, v)) : neg;
}

/** Byte i of v to dst + i·stride. */
// @ts-ignore: decorator
@inline function storeBytes16(dst: usize, stride: usize, v: v128): void {
  v128.store8_lane(dst, v, 0); v128.store8_lane(dst + stride, v, 1);
  v128.store8_lane(dst + 2 * stride, v, 2); v128.store8_lane(dst + 3 * stride, v, 3);
  v128.store8_lane(dst + 4 * stride, v, 4); v128.store8_lane(dst + 5 * stride, v, 5);
  v128.store8_lane(dst + 6 * stride, v, 6); v128.store8_lane(dst + 7 * stride, v, 7);
  v128.store8_lane(dst + 8 * stride, v, 8); v128.store8_lane(dst + 9 * stride, v, 9);
  v128.store8_lane(dst + 10 * stride, v, 10); v128.store8_lane(dst + 11 * stride, v, 11);
  v128.store8_lane(dst + 12 * stride, v, 12); v128.store8_lane(dst + 13 * stride, v, 13);
  v128.store8_lane(dst + 14 * stride, v, 14); v128.store8_lane(dst + 15 * stride, v, 15);
}

/** Bit rows → f32 ±1 (row-major rows×K, leading dimension ldy): leaves a binary chain. */
export function unpack_signs_f32(src: usize, rows: i32, K: i32, dst: usize, ldy: i32): void {
  const rb = <usize>bit_row_bytes(K);
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>r * rb;
    const out = dst + ((<usize>r * <usize>ldy) << 2);
    for (let k = 0; k < K; k++) store<f32>(out + (<usize>k << 2), getBit(row, k) ? -1 : 1);
  }
}

/** Bit NHWC (C channels) → f32 ±1 NCHW [N, C, P]: leaves a chain of binary convs. */
export function unpack_signs_nhwc_f32(src: usize, N: i32, C: i32, P: i32, dst: usize): void {
  const rb = <usize>bit_row_bytes(C);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const row = src + (<usize>n * <usize>P + <usize>p) * rb;
      for (let c = 0; c < C; c++) {
        store<f32>(dst + ((<usize>(n * C + c) * <usize>P + <usize>p) << 2), getBit(row, c) ? -1 : 1);
      }
    }
  }
}

// @ts-ignore: decorator
@inline export function setBit(row: usize, k: i32): void {
  const p = row + (<usize>(k >> 5) << 2);
  store<u32>(p, load<u32>(p) | (<u32>1 << (k & 31)));
}

// @ts-ignore: decorator
@inline export function getBit(row: usize, k: i32): bool {
  return ((load<u32>(row + (<usize>(k >> 5) << 2)) >> (k & 31)) & 1) != 0;
}

/** Writes element k of a bit row: −1 sets the bit, +1 clears it. */
// @ts-ignore: decorator
@inline export function putBit(row: usize, k: i32, negative: bool): void {
  const p = row + (<usize>(k >> 5) << 2);
  const m = <u32>1 << (k & 31);
  store<u32>(p, negative ? load<u32>(p) | m : load<u32>(p) & ~m);
}
