// Direct integer convolution for one input channel per group (depthwise, and any conv with
// C = 1), exact: y[n, ch, o] = epilogue(bias[ch] + Σ_k (x[n, g, o·s − p + k·dil] − x_zp) ·
// (W[ch, 0, k] − w_zp[ch])), ch = g·M + m (geometry: conv_geom.ts; epilogue descriptor as
// conv_i8, indexed (0, ch)). With K = KD·KH·KW taps there is too little work per output for
// the GEMM, so each output is accumulated over its taps directly.
//
// Weights (pack_w_dw_i8, once per session): per output channel, KD·KH kernel rows of KWp =
// KW rounded up to even i16 values w' = w − w_zp ∈ [−255, 255] (the pad tap is 0).
// Bytes: conv_w_dw_i8_bytes(channels, KD·KH, KW).
//
// Kernel rows outside the input contribute nothing and are skipped. Outputs whose remaining taps
// all lie inside their input rows compute Σ x·w' − x_zp·Σ w' over those rows (u8 x read as
// 0..255, s8 as −128..127); the others skip the taps outside, Σ_inside (x − x_zp)·w'. Both are
// exact in i32 (|x·w'| < 2^16, the sum is the references' wrapping i32). Stride-1, dilation-1
// rows run 8 outputs at a time: i32x4.dot_i16x8_s on taps (e, e+1) of 4 outputs, where a shuffle
// of 9 input bytes gives the pairs (x[o+e], x[o+e+1]) and the weight pair is one splat i32.

import { desc } from './common';
import { G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { ld8 } from './conv_i8_pack';
import { outElemBytes, setEpilogue, storeFourShared, storeOne } from './gemm_i8_epilogue';

// Kernel rows (a, b) of the current output row that lie inside the input: (input row address
// minus PW bytes, weight row address). The host sends kernels with KD·KH > MAX_DW_ROWS to conv_i8.
export const MAX_DW_ROWS: i32 = 1024;
const ROWS: usize = memory.data(MAX_DW_ROWS * 8, 16);
const TILE: usize = memory.data(32, 16);

/** Bytes of pack_w_dw_i8's output. */
export function conv_w_dw_i8_bytes(channels: i32, rows: i32, KW: i32): i32 {
  return channels * rows * ((KW + 1) & ~1) * 2;
}

/**
 * Packs w [channels, rows·KW] (s8 when wSigned, else u8) with zero point(s) at wZp (one, or one
 * per channel when wZpPerChannel; 0 for none) into dst (see the header). Returns 0, or 1 when a
 * dimension is not positive.
 */
export function pack_w_dw_i8(w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32, channels: i32, rows: i32, KW: i32, dst: usize): i32 {
  if (channels <= 0 || rows <= 0 || KW <= 0) return 1;
  const KWp = (KW + 1) & ~1;
  let out = dst;
  for (let ch = 0; ch < channels; ch++) {
    const zp = wZp ? ld8(wZp + (wZpPerChannel ? <usize>ch : 0), wSigned) : 0;
    for (let r = 0; r < rows; r++) {
      for (let e = 0; e < KWp; e++) {
        store<i16>(out, <i16>(e < KW ? ld8(w + <usize>((ch * rows + r) * KW + e), wSigned) - zp : 0));
        out += 2;
      }
    }
  }
  return 0;
}

/**
 * Depthwise-style integer conv (C = 1 per group, KD·KH ≤ MAX_DW_ROWS); x u8/s8 (xSigned) with
 * zero point at xZp (0: none); wp from pack_w_dw_i8; bias i32 per channel or 0; epi as conv_i8.
 * Returns 0, or 1 on a malformed descriptor.
 */
export function conv_dw_i8(d: usize, x: usize, xSigned: i32, xZp: usize, wp: usize, bias: usize, epi: usize, y: usize): i32 {
  if (setEpilogue(epi)) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  if (KD * KH > MAX_DW_ROWS) return 1;
  const eb = <usize>outElemBytes();
  const KWp = (KW + 1) & ~1;
  const wRow = <usize>KWp << 1;
  const chBytes = <usize>(KD * KH) * wRow;
  const plane = <usize>IH * <usize>IW;
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  // Vector blocks [ow, ow + 8) read input bytes [ow − PW, ow − PW + KWp + 6]: inside the row.
  const simd = ASC_FEATURE_SIMD && SW == 1 && DW == 1;
  const vLo = PW;
  const vHi = IW + PW - KWp + 1;
  let yp = y;
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) {
    const xg = x + <usize>(n * G + g) * <usize>ID * plane;
    for (let m = 0; m < M; m++) {
      const ch = g * M + m;
      const wc = wp + <usize>ch * chBytes;
      const b = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
        let nr = 0;
        let sumW = 0;
        for (let a = 0; a < KD; a++) {
          const id = od * SD - PD + a * DD;
          if (<u32>id >= <u32>ID) continue;
          for (let bb = 0; bb < KH; bb++) {
            const ih = oh * SH - PH + bb * DH;
            if (<u32>ih >= <u32>IH) continue;
            store<u32>(ROWS + (<usize>nr << 3), <u32>(xg + <usize>id * plane + <usize>ih * <usize>IW));
            const wr = wc + <usize>(a * KH + bb) * wRow;
            store<u32>(ROWS + (<usize>nr << 3), <u32>wr, 4);
            for (let e = 0; e < KW; e++) sumW += <i32>load<i16>(wr + (<usize>e << 1));
            nr++;
          }
        }
        const full = b - zx * sumW;
        let ow = 0;
        while (ow < OW) {
          if (simd && ow >= vLo && ow + 8 <= vHi) {
            let acc0 = i32x4.splat(full), acc1 = i32x4.splat(full);
            for (let t = 0; t < nr; t++) {
              let at = <usize>load<u32>(ROWS + (<usize>t << 3)) + <usize>(ow - PW);
              let wt = <usize>load<u32>(ROWS + (<usize>t << 3), 4);
              for (let e = 0; e < KWp; e += 2) {
                const v = v128.load8_lane(at, v128.load64_zero(at), 8, 8);
                const pairs = v128.shuffle<u8>(v, v, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8);
                const wv = v128.load32_splat(wt);
                const lo = xSigned ? i16x8.extend_low_i8x16_s(pairs) : i16x8.extend_low_i8x16_u(pairs);
                const hi = xSigned ? i16x8.extend_high_i8x16_s(pairs) : i16x8.extend_high_i8x16_u(pairs);
                acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(lo, wv));
                acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(hi, wv));
                at += 2;
                wt += 4;
              }
            }
            v128.store(TILE, acc0);
            v128.store(TILE, acc1, 16);
            storeFourShared(TILE, yp + <usize>ow * eb, 0, ch, 4);
            storeFourShared(TILE + 16, yp + <usize>(ow + 4) * eb, 0, ch, 4);
            ow += 8;
            continue;
          }
          let s = b;
          const w0 = ow * SW - PW;
          for (let t = 0; t < nr; t++) {
            const src = <usize>load<u32>(ROWS + (<usize>t << 3));
            const wt = <usize>load<u32>(ROWS + (<usize>t << 3), 4);
            for (let e = 0; e < KW; e++) {
              const iw = w0 + e * DW;
              if (<u32>iw < <u32>IW) s += (ld8(src + <usize>iw, xSigned) - zx) * <i32>load<i16>(wt + (<usize>e << 1));
            }
          }
          storeOne(s, yp + <usize>ow * eb, 0, ch);
          ow++;
        }
        yp += <usize>OW * eb;
      }
    }
  }
  return 0;
}
