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
// Each input channel is first copied into a padded volume in the scratch whose outside taps
// hold x_zp; then every output is Σ_k P·w' − x_zp·Σ_k w' (P read as u8 0..255 or s8), since a
// pad tap gives x_zp·w' − x_zp·w' = 0 — the ONNX zero padding of the real input. Exact in i32
// (|P·w'| < 2^16; the sum is the references' wrapping i32). Dilation-1 rows of stride 1 and 2
// run 8 outputs at a time with i32x4.dot_i16x8_s on the tap pairs (e, e+1) of 4 outputs:
// stride 1 shuffles 16 input bytes into the pairs (P[o+e], P[o+e+1]), stride 2 has them in place,
// and the weight pair is one splat i32.

import { desc } from './common';
import { G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { ld8 } from './conv_i8_pack';
import { outElemBytes, setEpilogue, storeFourShared, storeOne } from './gemm_i8_epilogue';

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

// @ts-ignore: decorator
@inline function padExtent(O: i32, S: i32, Kn: i32, Dl: i32): i32 {
  return (O - 1) * S + (Kn - 1) * Dl + 1;
}

/** Bytes of conv_dw_i8's scratch: the padded volume of one input channel. */
export function conv_dw_i8_scratch_bytes(d: usize): i32 {
  const Dp = padExtent(desc(d, G_OUT), desc(d, G_S), desc(d, G_K), desc(d, G_DIL));
  const Hp = padExtent(desc(d, G_OUT + 1), desc(d, G_S + 1), desc(d, G_K + 1), desc(d, G_DIL + 1));
  return Dp * Hp * rowBytes(d);
}

/** Row pitch of the padded volume: every vector read of the widest block stays inside it. */
// @ts-ignore: decorator
@inline function rowBytes(d: usize): i32 {
  const OW = desc(d, G_OUT + 2), SW = desc(d, G_S + 2), KW = desc(d, G_K + 2), DW = desc(d, G_DIL + 2);
  return (((OW + 7) & ~7) * SW + ((KW + 1) & ~1) * DW + 32 + 15) & ~15;
}

/** dst[q] = src[q] for q < n, n ≥ 0 (vector copies read and write only [0, n)). */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, n: i32): void {
  let q = 0;
  if (ASC_FEATURE_SIMD && n >= 16) {
    for (; q < n - 16; q += 16) v128.store(dst + <usize>q, v128.load(src + <usize>q));
    v128.store(dst + <usize>(n - 16), v128.load(src + <usize>(n - 16)));
    return;
  }
  for (; q < n; q++) store<u8>(dst + <usize>q, load<u8>(src + <usize>q));
}

/**
 * Depthwise-style integer conv (C = 1 per group); x u8/s8 (xSigned) with zero point at xZp (0:
 * none); wp from pack_w_dw_i8; bias i32 per channel or 0; epi as conv_i8; scratch:
 * conv_dw_i8_scratch_bytes(d) bytes, 16-byte aligned. Returns 0, or 1 on a malformed descriptor.
 */
export function conv_dw_i8(d: usize, x: usize, xSigned: i32, xZp: usize, wp: usize, bias: usize, epi: usize, y: usize, scratch: usize): i32 {
  if (setEpilogue(epi)) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const SD = desc(d, G_S), SH = desc(d, G_S + 1), SW = desc(d, G_S + 2);
  const DD = desc(d, G_DIL), DH = desc(d, G_DIL + 1), DW = desc(d, G_DIL + 2);
  const PD = desc(d, G_PAD), PH = desc(d, G_PAD + 1), PW = desc(d, G_PAD + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const eb = <usize>outElemBytes();
  const KWp = (KW + 1) & ~1;
  const wRow = <usize>KWp << 1;
  const chBytes = <usize>(KD * KH) * wRow;
  const Dp = padExtent(OD, SD, KD, DD), Hp = padExtent(OH, SH, KH, DH), Wp = padExtent(OW, SW, KW, DW);
  const pitch = <usize>rowBytes(d);
  const plane = <usize>IH * <usize>IW;
  const zpByte: u8 = xZp ? load<u8>(xZp) : 0;
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  const simd = ASC_FEATURE_SIMD && DW == 1 && (SW == 1 || SW == 2);
  const nCopy = min(IW, max(0, Wp - PW));
  let yp = y;
  for (let n = 0; n < NB; n++) for (let g = 0; g < G; g++) {
    const xg = x + <usize>(n * G + g) * <usize>ID * plane;
    for (let dz = 0; dz < Dp; dz++) for (let hz = 0; hz < Hp; hz++) {
      const dst = scratch + (<usize>dz * <usize>Hp + <usize>hz) * pitch;
      const id = dz - PD, ih = hz - PH;
      if (<u32>id >= <u32>ID || <u32>ih >= <u32>IH || nCopy == 0) {
        memory.fill(dst, zpByte, <usize>Wp);
        continue;
      }
      const left = min(PW, Wp);
      memory.fill(dst, zpByte, <usize>left);
      copyBytes(dst + <usize>left, xg + <usize>id * plane + <usize>ih * <usize>IW, nCopy);
      memory.fill(dst + <usize>(left + nCopy), zpByte, <usize>(Wp - left - nCopy));
    }
    for (let m = 0; m < M; m++) {
      const ch = g * M + m;
      const wc = wp + <usize>ch * chBytes;
      let sumW = 0;
      for (let t = 0; t < KD * KH; t++) for (let e = 0; e < KW; e++) sumW += <i32>load<i16>(wc + <usize>t * wRow + (<usize>e << 1));
      const full = (bias ? load<i32>(bias + (<usize>ch << 2)) : 0) - zx * sumW;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
        const origin = scratch + (<usize>(od * SD) * <usize>Hp + <usize>(oh * SH)) * pitch;
        let ow = 0;
        if (simd) {
          for (; ow < OW; ow += 8) {
            let acc0 = i32x4.splat(full), acc1 = i32x4.splat(full);
            let wt = wc;
            for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) {
              let at = origin + (<usize>(a * DD) * <usize>Hp + <usize>(b * DH)) * pitch + <usize>(ow * SW);
              for (let e = 0; e < KWp; e += 2) {
                let pairs = v128.load(at);
                if (SW == 1) pairs = v128.shuffle<u8>(pairs, pairs, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8);
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
            const nv = OW - ow;
            storeFourShared(TILE, yp + <usize>ow * eb, 0, ch, min(4, nv));
            if (nv > 4) storeFourShared(TILE + 16, yp + <usize>(ow + 4) * eb, 0, ch, min(4, nv - 4));
          }
        }
        for (; ow < OW; ow++) {
          let s = full;
          for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) {
            const row = origin + (<usize>(a * DD) * <usize>Hp + <usize>(b * DH)) * pitch + <usize>(ow * SW);
            const wt = wc + <usize>(a * KH + b) * wRow;
            for (let e = 0; e < KW; e++) s += ld8(row + <usize>(e * DW), xSigned) * <i32>load<i16>(wt + (<usize>e << 1));
          }
          storeOne(s, yp + <usize>ow * eb, 0, ch);
        }
        yp += <usize>OW * eb;
      }
    }
  }
  return 0;
}
