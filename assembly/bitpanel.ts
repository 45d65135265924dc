// The weight layout of the binary GEMM and conv ("8-row panels").
//
// N bit rows of K elements (bitpack.ts: set bit = −1, element k = bit k&31 of word k>>5, rows in
// 128-bit blocks, KB = ⌈K/128⌉ per row) kept in groups of 8 rows, block-interleaved: block kb of
// row n is at ((n>>3)·KB + kb)·128 + (n&7)·16 (panelBlock), a group taking 8·KB·16 bytes. The 8
// rows one microkernel call reads (bgemm_tile.ts) are then one contiguous, ascending run of
// memory, which the hardware prefetcher streams; the same reads over 8 plain rows, K/8 bytes
// apart, it does not (GEMV 1×4096×4096 after a pass over 64 MB: ≈0.14 ms panels, ≈0.4 ms rows).
// The packers write 0 in the rows past N of the last group and in the padding bits past K; the
// kernels never store the columns of those rows and mask or discount the padding, so both may
// hold anything.
//
//   pack_weights_b1_f32: a matrix, element (n, k) at x[n·ldr + k·ldk] → panels of N rows × K
//     (BinaryMatMul: W [K, N] packs with ldr = 1, ldk = N; W [N, K] with ldr = K, ldk = 1).
//   pack_bconv_weights_f32: W[G·M, C, T] (T = kernel taps KD·KH·KW) → per group g, panels of M
//     rows × K = T·C at g·bpanel_bytes(M, K), element t·C + c of row m = W[g·M + m, c, t]
//     (tap-major, matching bconv_b1b1's bit im2col).

import { bit_row_bytes } from './bitpack';

/** Bytes of the panels of N rows of K elements (N rounded up to 8). */
export function bpanel_bytes(N: i32, K: i32): i32 {
  return ((N + 7) >> 3) * 8 * bit_row_bytes(K);
}

/** Address of block kb of row n in panels of KB blocks per row. */
// @ts-ignore: decorator
@inline export function panelBlock(b: usize, KB: i32, n: i32, kb: i32): usize {
  return b + ((<usize>(n >> 3) * <usize>KB + <usize>kb) << 7) + (<usize>(n & 7) << 4);
}

/** Address of the u32 word holding element k of row n. */
// @ts-ignore: decorator
@inline function panelWord(b: usize, KB: i32, n: i32, k: i32): usize {
  return panelBlock(b, KB, n, k >> 7) + (<usize>((k >> 5) & 3) << 2);
}

// @ts-ignore: decorator
@inline function setPanelBit(b: usize, KB: i32, n: i32, k: i32): void {
  const p = panelWord(b, KB, n, k);
  store<u32>(p, load<u32>(p) | (<u32>1 << (k & 31)));
}

/** Packs N rows of K f32 values (element (n, k) at x[n·ldr + k·ldk]) into panels. */
export function pack_weights_b1_f32(x: usize, N: i32, K: i32, ldr: i32, ldk: i32, dst: usize): void {
  const KB = (K + 127) >> 7;
  memory.fill(dst, 0, <usize>bpanel_bytes(N, K));
  for (let n = 0; n < N; n++) {
    const src = x + ((<usize>n * <usize>ldr) << 2);
    let k = 0;
    if (ASC_FEATURE_SIMD && ldk == 1) {
      const zero = f32x4.splat(0);
      for (; k + 32 <= K; k += 32) {
        const p = src + (<usize>k << 2);
        let w: u32 = 0;
        for (let q = 0; q < 8; q++) {
          w |= <u32>i32x4.bitmask(f32x4.lt(v128.load(p + (<usize>q << 4)), zero)) << (q << 2);
        }
        store<u32>(panelWord(dst, KB, n, k), w);
      }
    }
    for (; k < K; k++) {
      if (load<f32>(src + ((<usize>k * <usize>ldk) << 2)) < 0) setPanelBit(dst, KB, n, k);
    }
  }
}

/** Conv weights W[G·M, C, T] f32 → per group, panels of M rows of T·C elements (tap-major). */
export function pack_bconv_weights_f32(w: usize, G: i32, M: i32, C: i32, T: i32, dst: usize): void {
  const K = T * C;
  const KB = (K + 127) >> 7;
  const groupBytes = <usize>bpanel_bytes(M, K);
  memory.fill(dst, 0, groupBytes * <usize>G);
  for (let g = 0; g < G; g++) {
    const panels = dst + <usize>g * groupBytes;
    for (let m = 0; m < M; m++) {
      for (let c = 0; c < C; c++) {
        const src = w + ((<usize>((g * M + m) * C + c) * <usize>T) << 2);
        for (let t = 0; t < T; t++) {
          if (load<f32>(src + (<usize>t << 2)) < 0) setPanelBit(panels, KB, m, t * C + c);
        }
      }
    }
  }
}

/** Reads bits [bit, bit+n) (1 ≤ n ≤ 32) of row m of panels as the low bits of a u32. */
export function panelBits(b: usize, KB: i32, m: i32, bit: i32, n: i32): u32 {
  const sh = bit & 31;
  let v = load<u32>(panelWord(b, KB, m, bit)) >>> sh;
  if (sh + n > 32) v |= load<u32>(panelWord(b, KB, m, bit + 32 - sh)) << (32 - sh);
  return n == 32 ? v : v & ((<u32>1 << n) - 1);
}
