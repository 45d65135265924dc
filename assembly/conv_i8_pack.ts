// Operand layouts of the integer convolution (conv_i8.ts), an implicit GEMM: output positions
// meet output channels over k = (tap t, input channel c), t = (a, b, e) over KD·KH·KW, with
// both operands widened to i16 and their zero points subtracted (values in [−255, 255]).
//
// Weights (pack_w_conv_i8, once per session, per group): the B operand of dot4x8_i16
// (gemm_i8_tile.ts): panels of 8 output channels, each T·CP groups (t major, channel pair p =
// c/2 minor) of 32 bytes, i16 element 2j + u of group (t, p) holding w[8·panel + j, 2p + u, t] −
// w_zp; 0 past M and past C. Bytes: conv_w_i8_bytes(M, C, T).
//
// Activations (padInput, per call and group): the A operand, x − x_zp in a zero-padded volume,
// so a tap outside X reads exactly 0 — the ONNX zero padding of the real input — and the tile
// needs neither bounds checks nor correction terms. Padded coordinates (z, h, w) = input
// coordinates + the begin pads, z < Dp, h < Hp and w < Wp = (O − 1)·S + (K − 1)·D + 1 per axis
// (every coordinate an output reads). A row (z, h) holds CP channel pairs × SW phases × Wq
// slots × 2 channels of i16: padded column w is in phase w mod SW, slot w div SW. Output
// position ow at tap e reads column ow·SW + e·DW = slot ow + (e·DW) div SW of phase (e·DW) mod
// SW, so four consecutive output positions read four consecutive 4-byte slots — the
// 4-row group of dot4x8_i16, at a tap offset that does not depend on the position — for any
// stride and dilation. Wq = ⌈OW/4⌉·4 + ((KW − 1)·DW) div SW covers the last, ragged quad.

import { desc } from './common';
import { G_C, G_DIL, G_IN, G_K, G_OUT, G_PAD, G_S } from './conv_geom';

// @ts-ignore: decorator
@inline function roundUp(x: i32, to: i32): i32 {
  return (x + to - 1) / to * to;
}

/** Bytes of pack_w_conv_i8's output for one group: M output channels, C input channels, T taps. */
export function conv_w_i8_bytes(M: i32, C: i32, T: i32): i32 {
  return roundUp(M, 8) * T * roundUp(C, 2) * 2;
}

/**
 * Packs one group's weights w [M, C, T] (s8 when wSigned, else u8) with zero point(s) at wZp in
 * w's type (one, or M when wZpPerChannel; 0 for none) into dst (see the header). Returns 0, or 1
 * when a dimension is not positive.
 */
export function pack_w_conv_i8(w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32, M: i32, C: i32, T: i32, dst: usize): i32 {
  if (M <= 0 || C <= 0 || T <= 0) return 1;
  const CP = (C + 1) >> 1;
  const panelBytes = <usize>T * <usize>CP << 5;
  for (let m = 0; m < roundUp(M, 8); m++) {
    const col = dst + <usize>(m >> 3) * panelBytes + (<usize>(m & 7) << 2);
    const zp = m < M && wZp ? ld8(wZp + (wZpPerChannel ? <usize>m : 0), wSigned) : 0;
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < CP << 1; c++) {
        const v = m < M && c < C ? ld8(w + (<usize>m * <usize>C + <usize>c) * <usize>T + <usize>t, wSigned) - zp : 0;
        store<i16>(col + (<usize>(t * CP + (c >> 1)) << 5) + (<usize>(c & 1) << 1), <i16>v);
      }
    }
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

// The padded volume of the current call (kernels are not re-entrant).
export let C = 0, CP = 0, T = 0;
export let ID = 0, IH = 0, IW = 0, KD = 0, KH = 0, KW = 0, SD = 0, SH = 0, SW = 0;
export let DD = 0, DH = 0, DW = 0, PD = 0, PH = 0, PW = 0, OD = 0, OH = 0, OW = 0;
export let Dp = 0, Hp = 0, Wp = 0, Wq = 0;
/** Bytes of one padded row (z, h) and between channel pairs within it. */
export let rowBytes: usize = 0, pairBytes: usize = 0;

// @ts-ignore: decorator
@inline function padExtent(O: i32, S: i32, K: i32, Dl: i32): i32 {
  return (O - 1) * S + (K - 1) * Dl + 1;
}

/** Reads the geometry descriptor d into the globals above. */
export function setGeometry(d: usize): void {
  C = desc(d, G_C); CP = (C + 1) >> 1;
  ID = desc(d, G_IN); IH = desc(d, G_IN + 1); IW = desc(d, G_IN + 2);
  KD = desc(d, G_K); KH = desc(d, G_K + 1); KW = desc(d, G_K + 2);
  T = KD * KH * KW;
  SD = desc(d, G_S); SH = desc(d, G_S + 1); SW = desc(d, G_S + 2);
  DD = desc(d, G_DIL); DH = desc(d, G_DIL + 1); DW = desc(d, G_DIL + 2);
  PD = desc(d, G_PAD); PH = desc(d, G_PAD + 1); PW = desc(d, G_PAD + 2);
  OD = desc(d, G_OUT); OH = desc(d, G_OUT + 1); OW = desc(d, G_OUT + 2);
  Dp = padExtent(OD, SD, KD, DD);
  Hp = padExtent(OH, SH, KH, DH);
  Wp = padExtent(OW, SW, KW, DW);
  Wq = roundUp(OW, 4) + (KW - 1) * DW / SW;
  pairBytes = <usize>SW * <usize>Wq << 2;
  rowBytes = <usize>CP * pairBytes;
}

/**
 * Re-cuts the padded volume for the Winograd convolution (conv_i8_wino.ts), after setGeometry of
 * a 2-D 3×3 stride-1 conv: TH rows of 2×2 output tiles read padded rows 0 … 2·TH + 1, and tile
 * t of a row reads padded columns 2t … 2t + 3, which two phases (SW = 2) of Wq = tilesPerRow + 1
 * slots hold as slot t + s div 2 of phase s mod 2 for column 2t + s — consecutive over t.
 * tilesPerRow covers the row's last, ragged block of tiles (its columns past X read zeros).
 */
export function setWinogradVolume(TH: i32, tilesPerRow: i32): void {
  Hp = 2 * TH + 2;
  Wp = 2 * tilesPerRow + 2;
  SW = 2;
  Wq = tilesPerRow + 1;
  pairBytes = <usize>Wq << 3;
  rowBytes = <usize>CP * pairBytes;
}

/** Bytes of the padded volume of one group (the geometry must be set). */
export function paddedBytes(): usize {
  return <usize>Dp * <usize>Hp * rowBytes;
}

/**
 * Writes the padded volume of one group's input x (C channels, u8 or s8 per xSigned, zero
 * point zx) at dst (paddedBytes() bytes, see the header).
 */
export function padInput(x: usize, xSigned: i32, zx: i32, dst: usize): void {
  memory.fill(dst, 0, paddedBytes());
  const plane = <usize>IH * <usize>IW;
  // Input columns [w0, w1) land inside the padded row, at padded column w + PW.
  const w0 = max(0, -PW), w1 = min(IW, Wp - PW);
  if (w1 <= w0) return;
  for (let id = max(0, -PD); id < min(ID, Dp - PD); id++) {
    for (let ih = max(0, -PH); ih < min(IH, Hp - PH); ih++) {
      const row = dst + (<usize>(id + PD) * <usize>Hp + <usize>(ih + PH)) * rowBytes;
      for (let p = 0; p < CP; p++) {
        const c0 = p << 1;
        const src0 = x + (<usize>c0 * <usize>ID + <usize>id) * plane + <usize>ih * <usize>IW;
        // A missing second channel (odd C) reads the first and is stored as 0.
        const two = c0 + 1 < C;
        const src1 = two ? src0 + <usize>ID * plane : src0;
        const out = row + <usize>p * pairBytes;
        let w = w0;
        if (ASC_FEATURE_SIMD && SW == 1) {
          const z = i16x8.splat(<i16>zx);
          const keep = two ? i16x8.splat(-1) : i16x8.splat(0);
          for (; w + 8 <= w1; w += 8) {
            const a = i16x8.sub(xSigned ? v128.load8x8_s(src0 + <usize>w) : v128.load8x8_u(src0 + <usize>w), z);
            const b = v128.and(i16x8.sub(xSigned ? v128.load8x8_s(src1 + <usize>w) : v128.load8x8_u(src1 + <usize>w), z), keep);
            const at = out + (<usize>(w + PW) << 2);
            v128.store(at, v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11), 0);
            v128.store(at, v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
          }
        } else if (ASC_FEATURE_SIMD && SW == 2) {
          // Sixteen columns from an even padded column: eight slots of phase 0, eight of phase 1.
          if (((w + PW) & 1) != 0 && w < w1) {
            storePair(out, w, ld8(src0 + <usize>w, xSigned) - zx, two ? ld8(src1 + <usize>w, xSigned) - zx : 0);
            w++;
          }
          const z = i16x8.splat(<i16>zx);
          const keep = two ? i16x8.splat(-1) : i16x8.splat(0);
          for (; w + 16 <= w1; w += 16) {
            const va = v128.load(src0 + <usize>w), vb = v128.load(src1 + <usize>w);
            const al = i16x8.sub(xSigned ? i16x8.extend_low_i8x16_s(va) : i16x8.extend_low_i8x16_u(va), z);
            const ah = i16x8.sub(xSigned ? i16x8.extend_high_i8x16_s(va) : i16x8.extend_high_i8x16_u(va), z);
            const bl = v128.and(i16x8.sub(xSigned ? i16x8.extend_low_i8x16_s(vb) : i16x8.extend_low_i8x16_u(vb), z), keep);
            const bh = v128.and(i16x8.sub(xSigned ? i16x8.extend_high_i8x16_s(vb) : i16x8.extend_high_i8x16_u(vb), z), keep);
            const at = out + (<usize>((w + PW) >> 1) << 2);
            const odd = at + (<usize>Wq << 2);
            v128.store(at, v128.shuffle<i16>(al, bl, 0, 8, 2, 10, 4, 12, 6, 14), 0);
            v128.store(at, v128.shuffle<i16>(ah, bh, 0, 8, 2, 10, 4, 12, 6, 14), 16);
            v128.store(odd, v128.shuffle<i16>(al, bl, 1, 9, 3, 11, 5, 13, 7, 15), 0);
            v128.store(odd, v128.shuffle<i16>(ah, bh, 1, 9, 3, 11, 5, 13, 7, 15), 16);
          }
        }
        for (; w < w1; w++) {
          storePair(out, w, ld8(src0 + <usize>w, xSigned) - zx, two ? ld8(src1 + <usize>w, xSigned) - zx : 0);
        }
      }
    }
  }
}

/** Stores channels (2p, 2p + 1) of input column w into the pair row `out`. */
// @ts-ignore: decorator
@inline function storePair(out: usize, w: i32, v0: i32, v1: i32): void {
  const col = w + PW;
  const at = out + ((<usize>(col % SW) * <usize>Wq + <usize>(col / SW)) << 2);
  store<i16>(at, <i16>v0);
  store<i16>(at, <i16>v1, 2);
}

/** Writes the T tap offsets (bytes from a position's origin in the padded volume) at offs. */
export function tapOffsets(offs: usize): void {
  let t = 0;
  for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
    const ew = e * DW;
    const o = (<usize>(a * DD) * <usize>Hp + <usize>(b * DH)) * rowBytes + ((<usize>(ew % SW) * <usize>Wq + <usize>(ew / SW)) << 2);
    store<i32>(offs + (<usize>t << 2), <i32>o);
    t++;
  }
}
