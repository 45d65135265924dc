// Packing of ternary ({−1, 0, +1}) weights for the ternary kernels (tgemm_t2i8.ts, tconv_t2i8.ts).
//
// The packed layout ("ternary rows"): a row of K elements is nb = ⌈K/64⌉ blocks of 16 bytes (2
// bits per weight). Element k = 64·b + 16·i + j (0 ≤ i < 4, 0 ≤ j < 16) is the 2-bit code in bits
// 2i..2i+1 of byte j of block b, so (block >> 2i) & 3 over the 16 bytes gives the codes of 16
// consecutive elements, lined up with one 16-byte load of int8 activations. The code is w + 1:
// 0 → −1, 1 → 0, 2 → +1 (3 is never written).
// Rows go in quads, interleaved block by block: block b of row n is at byte
// (⌊n/4⌋·4·nb + 4·b + n mod 4)·16, so the 4 rows a GEMV tile reads are one sequential stream
// (measured 2× faster than 4 separate row streams on GEMV 1×4096×4096, hot or cold caches).
// ternaryRow(w, n, K) is row n's first block; its blocks are 64 bytes apart. The rows are padded
// to a multiple of 4 (ternary_weights_bytes(N, K) = ⌈N/4⌉·64·nb bytes); the packers write code 1
// (zero weight) in the padding rows and past K; the kernels never read either, so they may hold
// anything.
//
//   pack_ternary_f32 / pack_ternary_i8(x, rows, K, ldr, ldk, dst) → 0, or 1 if a value is not
//     exactly −1, 0 or +1 (−0 counts as 0; NaN is refused); element (r, k) at x[r·ldr + k·ldk],
//     so a K×N weight matrix packs with ldr = 1, ldk = N. Scaling (absmean) and rounding to
//     {−1, 0, +1} are the host's business; the scale goes to the epilogue.
//   pack_ternary_conv_i8(w, rows, C, T, dst) → 0 or 1 (as above): convolution weights w int8
//     [rows, C, T] (T taps) as rows of K = T·C elements in tap-major order, element k = t·C + c
//     holding w[r, c, t] — the order of the ternary convolution's im2col rows (tconv_t2i8.ts).

/** Blocks of 64 elements in a row of K. */
// @ts-ignore: decorator
@inline function blocks(K: i32): i32 {
  return (K + 63) >> 6;
}

/** Bytes of N packed ternary rows of K elements (rows padded to a quad). */
export function ternary_weights_bytes(N: i32, K: i32): i32 {
  return ((N + 3) >> 2) * (blocks(K) << 6);
}

/** Address of row n's first block (its blocks are 64 bytes apart). */
// @ts-ignore: decorator
@inline export function ternaryRow(w: usize, n: i32, K: i32): usize {
  return w + <usize>(n >> 2) * (<usize>blocks(K) << 6) + (<usize>(n & 3) << 4);
}

/** Code (w + 1) of element k of the row at `row` (ternaryRow). */
// @ts-ignore: decorator
@inline export function ternaryCode(row: usize, k: i32): i32 {
  const byte = <i32>load<u8>(row + (<usize>(k >> 6) << 6) + <usize>(k & 15));
  return (byte >> (((k >> 4) & 3) << 1)) & 3;
}

// @ts-ignore: decorator
@inline function putCode(row: usize, k: i32, code: i32): void {
  const at = row + (<usize>(k >> 6) << 6) + <usize>(k & 15);
  const sh = ((k >> 4) & 3) << 1;
  store<u8>(at, (<i32>load<u8>(at) & ~(3 << sh)) | (code << sh));
}

/** All codes 1 (0b01 in each of the four 2-bit fields of a byte). */
const ZERO_CODES: u8 = 0x55;

/** Packs `rows` rows of K f32 ternary values (element (r, k) at x[r·ldr + k·ldk]). */
export function pack_ternary_f32(x: usize, rows: i32, K: i32, ldr: i32, ldk: i32, dst: usize): i32 {
  memory.fill(dst, ZERO_CODES, <usize>ternary_weights_bytes(rows, K));
  for (let r = 0; r < rows; r++) {
    const src = x + ((<usize>r * <usize>ldr) << 2);
    const row = ternaryRow(dst, r, K);
    for (let k = 0; k < K; k++) {
      const v = load<f32>(src + ((<usize>k * <usize>ldk) << 2));
      if (v != -1 && v != 0 && v != 1) return 1;
      putCode(row, k, <i32>v + 1);
    }
  }
  return 0;
}

/** Packs `rows` rows of K int8 ternary values (element (r, k) at x[r·ldr + k·ldk]). */
export function pack_ternary_i8(x: usize, rows: i32, K: i32, ldr: i32, ldk: i32, dst: usize): i32 {
  memory.fill(dst, ZERO_CODES, <usize>ternary_weights_bytes(rows, K));
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * <usize>ldr;
    const row = ternaryRow(dst, r, K);
    for (let k = 0; k < K; k++) {
      const v = <i32>load<i8>(src + <usize>k * <usize>ldk);
      if (v < -1 || v > 1) return 1;
      putCode(row, k, v + 1);
    }
  }
  return 0;
}

/** Packs convolution weights int8 [rows, C, T] tap-major (element t·C + c of row r is w[r, c, t]). */
export function pack_ternary_conv_i8(w: usize, rows: i32, C: i32, T: i32, dst: usize): i32 {
  const K = C * T;
  memory.fill(dst, ZERO_CODES, <usize>ternary_weights_bytes(rows, K));
  for (let r = 0; r < rows; r++) {
    const row = ternaryRow(dst, r, K);
    for (let c = 0; c < C; c++) {
      const src = w + (<usize>r * <usize>C + <usize>c) * <usize>T;
      for (let t = 0; t < T; t++) {
        const v = <i32>load<i8>(src + <usize>t);
        if (v < -1 || v > 1) return 1;
        putCode(row, t * C + c, v + 1);
      }
    }
  }
  return 0;
}
