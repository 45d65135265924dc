// Operand packing of the integer convolution (conv_i8.ts), computed as Y_g = W_g · col:
//
// Weights (pack_w_conv_i8, once per session, per group): the A operand of dot4x4_i16i8
// (gemm_i8_tile.ts) with the zero point already subtracted, a'[m,k] = w[m,k] − w_zp[m] ∈
// [−255, 255] (exact in i16): blocks of 4 output channels, each Kp/4 k-groups of 4 rows × 4 k
// (row r of group g at element 4r), zero-padded past M and K; then sumA[m] = Σ_k a'[m,k] (i32,
// Mp entries). Bytes: conv_w_i8_bytes(M, K).
//
// Activations (im2colSlabs, per chunk of output positions): the B operand, a slab per 16
// positions of Kp/4 k-groups of 64 bytes, byte 16j + 4c + t of group g holding tap 4g + t of
// position 16i + 4j + c (the packed-B layout of gemm_i8_pack.ts with positions for columns).
// Values are stored shifted to s8, q = x − off (off = 128 for u8 x, i.e. xor 0x80; 0 for s8),
// taps outside X hold the shifted zero point. Padding past K and past the chunk is left as
// whatever bytes are there: a' is 0 past K, and positions past the chunk are never stored.
// Each k-group is built in two steps: the four taps' rows of the chunk are written to a small
// row buffer (one contiguous run of an input row per output-row segment: v128 copies for stride
// 1 and 2), then four 16-byte row pieces are transposed into the slab layout with shuffles.

import { desc } from './common';
import { G_C, G_DIL, G_IN, G_K, G_OUT, G_PAD, G_S } from './conv_geom';

// @ts-ignore: decorator
@inline function roundUp4(x: i32): i32 {
  return (x + 3) & ~3;
}

/** Bytes of pack_w_conv_i8's output for one group of M output channels with K taps each. */
export function conv_w_i8_bytes(M: i32, K: i32): i32 {
  return roundUp4(M) * roundUp4(K) * 2 + roundUp4(M) * 4;
}

/**
 * Packs one group's weights w [M, K] (s8 when wSigned, else u8) with zero point(s) at wZp in w's
 * type (one, or M when wZpPerChannel; 0 for none) into dst (see the header). Returns 0, or 1
 * when a dimension is not positive.
 */
export function pack_w_conv_i8(w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32, M: i32, K: i32, dst: usize): i32 {
  if (M <= 0 || K <= 0) return 1;
  const Mp = roundUp4(M), Kp = roundUp4(K);
  const sums = dst + <usize>Mp * <usize>Kp * 2;
  for (let m = 0; m < Mp; m++) {
    const row = dst + <usize>(m >> 2) * <usize>Kp * 8 + <usize>((m & 3) << 3);
    const zp = m < M && wZp ? ld8(wZp + (wZpPerChannel ? <usize>m : 0), wSigned) : 0;
    let s = 0;
    for (let k = 0; k < Kp; k++) {
      const v = m < M && k < K ? ld8(w + <usize>m * <usize>K + <usize>k, wSigned) - zp : 0;
      store<i16>(row + (<usize>(k >> 2) << 5) + (<usize>(k & 3) << 1), <i16>v);
      s += v;
    }
    store<i32>(sums + (<usize>m << 2), s);
  }
  return 0;
}

// @ts-ignore: decorator
@inline export function ld8(p: usize, signed: i32): i32 {
  return signed ? <i32>load<i8>(p) : <i32>load<u8>(p);
}

// Geometry of the current call (kernels are not re-entrant).
let C = 0, ID = 0, IH = 0, IW = 0, KD = 0, KH = 0, KW = 0, SD = 0, SH = 0, SW = 0;
let DD = 0, DH = 0, DW = 0, PD = 0, PH = 0, PW = 0, OH = 0, OW = 0;

export function setGeometry(d: usize): void {
  C = desc(d, G_C);
  ID = desc(d, G_IN); IH = desc(d, G_IN + 1); IW = desc(d, G_IN + 2);
  KD = desc(d, G_K); KH = desc(d, G_K + 1); KW = desc(d, G_K + 2);
  SD = desc(d, G_S); SH = desc(d, G_S + 1); SW = desc(d, G_S + 2);
  DD = desc(d, G_DIL); DH = desc(d, G_DIL + 1); DW = desc(d, G_DIL + 2);
  PD = desc(d, G_PAD); PH = desc(d, G_PAD + 1); PW = desc(d, G_PAD + 2);
  OH = desc(d, G_OUT + 1); OW = desc(d, G_OUT + 2);
}

/** Fills n bytes at dst with pad (vector stores may write up to 15 bytes past dst + n). */
// @ts-ignore: decorator
@inline function fillPad(dst: usize, n: i32, pad: u8): void {
  if (ASC_FEATURE_SIMD) {
    const v = i8x16.splat(pad);
    for (let q = 0; q < n; q += 16) v128.store(dst + <usize>q, v);
    return;
  }
  for (let q = 0; q < n; q++) store<u8>(dst + <usize>q, pad);
}

/** dst[q] = src[q·SW] xor flip for q < n; every source byte read lies in [src, src + (n−1)·SW]. */
// @ts-ignore: decorator
@inline function copyRun(dst: usize, src: usize, n: i32, flip: u8): void {
  let q = 0;
  if (ASC_FEATURE_SIMD && n >= 16 && (SW == 1 || SW == 2)) {
    const f = i8x16.splat(flip);
    const last = n - 16;
    if (SW == 1) {
      for (; q < last; q += 16) v128.store(dst + <usize>q, v128.xor(v128.load(src + <usize>q), f));
      v128.store(dst + <usize>last, v128.xor(v128.load(src + <usize>last), f));
    } else if (n >= 17) {
      // Two loads cover source bytes [2q, 2q + 32): inside the run while q + 16 < n. The last
      // 16 outputs are the odd bytes of the 32 from 2(n − 16) − 1, which ends at 2(n − 1).
      for (; q + 16 < n; q += 16) {
        const at = src + (<usize>q << 1);
        v128.store(dst + <usize>q, v128.xor(v128.shuffle<u8>(v128.load(at), v128.load(at, 16), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), f));
      }
      const at = src + (<usize>last << 1) - 1;
      v128.store(dst + <usize>last, v128.xor(v128.shuffle<u8>(v128.load(at), v128.load(at, 16), 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), f));
    }
    if (SW == 1 || n >= 17) return;
  }
  for (; q < n; q++) store<u8>(dst + <usize>q, load<u8>(src + <usize>q * <usize>SW) ^ flip);
}

/** Tap (c, a, b, e) of output positions [s0, s0 + ns) as ns bytes at dst (+15 bytes of slack). */
function tapRow(x: usize, pad: u8, flip: u8, dst: usize, s0: i32, ns: i32, c: i32, a: i32, b: i32, e: i32): void {
  const plane = <usize>IH * <usize>IW;
  const xc = x + <usize>c * <usize>ID * plane;
  // Output position s = (od·OH + oh)·OW + ow, walked one output-row segment at a time.
  let ow0 = s0 % OW;
  let oh = (s0 / OW) % OH;
  let od = s0 / (OW * OH);
  let out = dst;
  const end = dst + <usize>ns;
  while (out < end) {
    const len = min(<i32>(end - out), OW - ow0);
    const id = od * SD - PD + a * DD, ih = oh * SH - PH + b * DH;
    if (<u32>id >= <u32>ID || <u32>ih >= <u32>IH) {
      fillPad(out, len, pad);
    } else {
      // Output q of the segment reads iw = w0 + q·SW; [qL, qR) are the ones inside the row.
      const w0 = ow0 * SW - PW + e * DW;
      let qL = 0, qR = len;
      if (SW == 1) {
        qL = min(len, max(0, -w0));
        qR = max(qL, min(len, IW - w0));
      } else {
        if (w0 < 0) qL = min(len, (SW - 1 - w0) / SW);
        qR = IW - w0 <= 0 ? qL : max(qL, min(len, (IW - w0 + SW - 1) / SW));
      }
      if (qL > 0) fillPad(out, qL, pad);
      copyRun(out + <usize>qL, xc + <usize>id * plane + <usize>ih * <usize>IW + <usize>(w0 + qL * SW), qR - qL, flip);
      if (qR < len) fillPad(out + <usize>qR, len - qR, pad);
    }
    out += <usize>len;
    ow0 = 0;
    if (++oh == OH) { oh = 0; od++; }
  }
}

/**
 * Writes the slabs of output positions [s0, s0 + ns) of one group's input x (see the header)
 * at `slabs`; rows is a buffer of 4 × rowStride bytes, rowStride ≥ ns rounded up to 16, + 16.
 */
export function im2colSlabs(x: usize, xSigned: i32, zpByte: u8, rows: usize, rowStride: usize, slabs: usize, s0: i32, ns: i32): void {
  const flip: u8 = xSigned ? 0 : 0x80;
  const pad = zpByte ^ flip;
  const K = C * KD * KH * KW;
  const Kp = roundUp4(K);
  const nSlabs = (ns + 15) >> 4;
  const slabBytes = <usize>Kp << 4;
  let c = 0, a = 0, b = 0, e = 0;
  for (let g = 0; g < (Kp >> 2); g++) {
    for (let t = 0; t < 4; t++) {
      if ((g << 2) + t >= K) break;
      tapRow(x, pad, flip, rows + <usize>t * rowStride, s0, ns, c, a, b, e);
      if (++e == KW) { e = 0; if (++b == KH) { b = 0; if (++a == KD) { a = 0; c++; } } }
    }
    const out = slabs + (<usize>g << 6);
    for (let i = 0; i < nSlabs; i++) {
      const src = rows + (<usize>i << 4);
      const dst = out + <usize>i * slabBytes;
      if (ASC_FEATURE_SIMD) {
        const v0 = v128.load(src), v1 = v128.load(src + rowStride);
        const v2 = v128.load(src + 2 * rowStride), v3 = v128.load(src + 3 * rowStride);
        const lo01 = v128.shuffle<u8>(v0, v1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const hi01 = v128.shuffle<u8>(v0, v1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const lo23 = v128.shuffle<u8>(v2, v3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const hi23 = v128.shuffle<u8>(v2, v3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        v128.store(dst, v128.shuffle<u16>(lo01, lo23, 0, 8, 1, 9, 2, 10, 3, 11), 0);
        v128.store(dst, v128.shuffle<u16>(lo01, lo23, 4, 12, 5, 13, 6, 14, 7, 15), 16);
        v128.store(dst, v128.shuffle<u16>(hi01, hi23, 0, 8, 1, 9, 2, 10, 3, 11), 32);
        v128.store(dst, v128.shuffle<u16>(hi01, hi23, 4, 12, 5, 13, 6, 14, 7, 15), 48);
      } else {
        for (let p = 0; p < 16; p++) {
          for (let t = 0; t < 4; t++) store<u8>(dst + <usize>((p << 2) + t), load<u8>(src + <usize>t * rowStride + <usize>p));
        }
      }
    }
  }
}
