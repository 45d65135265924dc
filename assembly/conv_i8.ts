// Integer convolution (ConvInteger, QLinearConv), exact, per batch item and group as an
// implicit GEMM of output positions against output channels (geometry: conv_geom.ts):
//
//   Y[m, s] = epilogue(bias[m] + Σ_{t, c} (W[m, c, t] − w_zp[m]) · (X[c, s at tap t] − x_zp))
//
// with taps outside X contributing 0 (ONNX zero padding of the real-valued input). Operand
// layouts: conv_i8_pack.ts. The input of one group is copied once per call into a zero-padded
// i16 volume of x − x_zp; the tile (dot4x8_i16, gemm_i8_tile.ts) takes four consecutive output
// positions of one output row against a panel of 8 output channels, reading the volume through
// the per-tap offsets, so no im2col is built and no tap is bounds-checked. Every step is exact
// in wrapping i32, as the reference computes. The bias is int32 with scale x_scale·w_scale[m]
// and zero point 0 (QLinearConv). Output rows (in the L1 cache: KH padded rows) are the outer
// loop, weight panels (T·CP·32 bytes each) the inner, then the quads of the row; the store
// transposes the tile so each channel gets its four positions, through the epilogue indexed
// (0, channel) (the host writes the scales per global output channel).

import { desc } from './common';
import { G_C, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import {
  C, CP, Hp, ID, IH, IW, OD, OH, OW, SD, SH, T, conv_w_i8_bytes, ld8, padInput, paddedBytes, pairBytes, rowBytes, setGeometry,
  tapOffsets,
} from './conv_i8_pack';
import {
  biasLanes, lanesRequantise, narrowLanes, outElemBytes, requantRegs, rqConst, scaleLanes, setEpilogue, storeFourShared, storeFourSharedV, storeOne,
} from './gemm_i8_epilogue';
import { dot4x8_i16 } from './gemm_i8_tile';

/** The 4×8 tile (position rows), and one channel's positions of a ragged tile. */
const TILE: usize = memory.data(128, 16);
const CTILE: usize = memory.data(16, 16);

/** Bytes of conv_i8's scratch for geometry descriptor d: the padded volume and the tap table. */
export function conv_i8_scratch_bytes(d: usize): i32 {
  setGeometry(d);
  return <i32>paddedBytes() + T * 4;
}

/** Channel row (global ch) of four positions: + bias[ch], then the epilogue (SIMD builds). */
// @ts-ignore: decorator
@inline function storeChannel(v: v128, c: usize, ch: i32, bias: usize): void {
  if (bias) v = i32x4.add(v, v128.load32_splat(bias + (<usize>ch << 2)));
  storeFourSharedV(v, c, 0, ch);
}

/**
 * Stores the tile at TILE: channels [ch0, ch0 + mv) (global indices; channel j at yc + j·chStride)
 * × positions [0, nv), each channel's bias added before the epilogue. Full quads transpose the
 * tile in registers, four channels at a time.
 */
function storeTile(yc: usize, chStride: usize, ch0: i32, mv: i32, nv: i32, bias: usize): void {
  if (ASC_FEATURE_SIMD && nv == 4 && mv == 8 && lanesRequantise()) {
    // Requantise the position rows with per-lane channel scales, narrow all 16 values of a half
    // to bytes (byte 4r + j: position r, channel j) and transpose the bytes (4j + r).
    for (let h = 0; h < 8; h += 4) {
      const at = TILE + (<usize>h << 2);
      const b = i32x4.add(bias ? v128.load(bias + (<usize>(ch0 + h) << 2)) : i32x4.splat(0), biasLanes(ch0 + h));
      const sc = scaleLanes(ch0 + h);
      const k0 = rqConst(0), k1 = rqConst(1), k2 = rqConst(2), k3 = rqConst(3), k4 = rqConst(4), k5 = rqConst(5);
      const q0 = requantRegs(i32x4.add(v128.load(at), b), sc, k0, k1, k2, k3, k4, k5);
      const q1 = requantRegs(i32x4.add(v128.load(at, 32), b), sc, k0, k1, k2, k3, k4, k5);
      const q2 = requantRegs(i32x4.add(v128.load(at, 64), b), sc, k0, k1, k2, k3, k4, k5);
      const q3 = requantRegs(i32x4.add(v128.load(at, 96), b), sc, k0, k1, k2, k3, k4, k5);
      const q = narrowLanes(q0, q1, q2, q3);
      const t = v128.shuffle<u8>(q, q, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const c = yc + <usize>h * chStride;
      v128.store32_lane(c, t, 0);
      v128.store32_lane(c + chStride, t, 1);
      v128.store32_lane(c + 2 * chStride, t, 2);
      v128.store32_lane(c + 3 * chStride, t, 3);
    }
    return;
  }
  if (ASC_FEATURE_SIMD && nv == 4) {
    for (let h = 0; h < mv; h += 4) {
      const at = TILE + (<usize>h << 2);
      const r0 = v128.load(at), r1 = v128.load(at, 32), r2 = v128.load(at, 64), r3 = v128.load(at, 96);
      const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
      const c = yc + <usize>h * chStride;
      const left = mv - h;
      storeChannel(v128.shuffle<i64>(t0, t1, 0, 2), c, ch0 + h, bias);
      if (left > 1) storeChannel(v128.shuffle<i64>(t0, t1, 1, 3), c + chStride, ch0 + h + 1, bias);
      if (left > 2) storeChannel(v128.shuffle<i64>(t2, t3, 0, 2), c + 2 * chStride, ch0 + h + 2, bias);
      if (left > 3) storeChannel(v128.shuffle<i64>(t2, t3, 1, 3), c + 3 * chStride, ch0 + h + 3, bias);
    }
    return;
  }
  for (let j = 0; j < mv; j++) {
    const ch = ch0 + j;
    const b = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
    for (let r = 0; r < nv; r++) store<i32>(CTILE + (<usize>r << 2), load<i32>(TILE + (<usize>(r * 8 + j) << 2)) + b);
    storeFourShared(CTILE, yc + <usize>j * chStride, 0, ch, nv);
  }
}

/**
 * y = epilogue(conv(x − x_zp, W − w_zp) + bias) — see the file header. x: u8/s8 (xSigned) NCHW;
 * xZp: its zero point (0: none); wp: pack_w_conv_i8 of every group's W_g [M, C, KD·KH·KW] back
 * to back, conv_w_i8_bytes(M, C, KD·KH·KW) each; bias: M·G i32 or 0; epi: a gemm_i8_epilogue.ts
 * descriptor indexed (0, output channel); scratch: conv_i8_scratch_bytes(d) bytes, 16-byte
 * aligned. Returns 0, or 1 when the descriptor is malformed.
 */
export function conv_i8(d: usize, x: usize, xSigned: i32, xZp: usize, wp: usize, bias: usize, epi: usize, y: usize, scratch: usize): i32 {
  if (setEpilogue(epi)) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), M = desc(d, G_M);
  setGeometry(d);
  const S = OD * OH * OW;
  const eb = <usize>outElemBytes();
  const chStride = <usize>S * eb;
  const inBytes = <usize>C * <usize>ID * <usize>IH * <usize>IW;
  const wBytes = <usize>conv_w_i8_bytes(M, C, T);
  const panelBytes = <usize>T * <usize>CP << 5;
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  const offs = scratch + paddedBytes();
  tapOffsets(offs);
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      padInput(x + <usize>(n * G + g) * inBytes, xSigned, zx, scratch);
      const yg = y + <usize>(n * G + g) * <usize>M * chStride;
      const wg = wp + <usize>g * wBytes;
      for (let m0 = 0; m0 < M; m0 += 8) {
        const pw = wg + <usize>(m0 >> 3) * panelBytes;
        for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) {
          const origin = scratch + (<usize>(od * SD) * <usize>Hp + <usize>(oh * SH)) * rowBytes;
          const s0 = (od * OH + oh) * OW;
          const yc = yg + <usize>m0 * chStride + <usize>s0 * eb;
          for (let ow0 = 0; ow0 < OW; ow0 += 4) {
            dot4x8_i16(origin + (<usize>ow0 << 2), offs, T, CP, pairBytes, pw, TILE);
            storeTile(yc + <usize>ow0 * eb, chStride, g * M + m0, min(8, M - m0), min(4, OW - ow0), bias);
          }
        }
      }
    }
  }
  return 0;
}

/**
 * Scalar reference on the plain layouts: direct convolution of x (xSigned, zero point at xZp
 * or none) with W [G·M, C, KD, KH, KW] (wSigned; zero point at wZp, one per output channel when
 * wZpPerChannel, or none), + bias (i32 or 0), then the epilogue `epi` (as conv_i8). Returns 0,
 * or 1 on a malformed descriptor.
 */
export function conv_i8__ref(
  d: usize, x: usize, xSigned: i32, xZp: usize, w: usize, wSigned: i32, wZp: usize, wZpPerChannel: i32,
  bias: usize, epi: usize, y: usize,
): i32 {
  if (setEpilogue(epi)) return 1;
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const ID = desc(d, G_IN), IH = desc(d, G_IN + 1), IW = desc(d, G_IN + 2);
  const KD = desc(d, G_K), KH = desc(d, G_K + 1), KW = desc(d, G_K + 2);
  const OD = desc(d, G_OUT), OH = desc(d, G_OUT + 1), OW = desc(d, G_OUT + 2);
  const eb = <usize>outElemBytes();
  const zx = xZp ? ld8(xZp, xSigned) : 0;
  let out = y;
  for (let n = 0; n < NB; n++) {
    for (let ch = 0; ch < G * M; ch++) {
      const g = ch / M;
      const zw = wZp ? ld8(wZp + (wZpPerChannel ? <usize>ch : 0), wSigned) : 0;
      for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
        let s = bias ? load<i32>(bias + (<usize>ch << 2)) : 0;
        for (let c = 0; c < C; c++) for (let a = 0; a < KD; a++) for (let b = 0; b < KH; b++) for (let e = 0; e < KW; e++) {
          const id = od * desc(d, G_S) - desc(d, G_PAD) + a * desc(d, G_DIL);
          const ih = oh * desc(d, G_S + 1) - desc(d, G_PAD + 1) + b * desc(d, G_DIL + 1);
          const iw = ow * desc(d, G_S + 2) - desc(d, G_PAD + 2) + e * desc(d, G_DIL + 2);
          if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
          const xi = ((((n * G + g) * C + c) * ID + id) * IH + ih) * IW + iw;
          const wi = (((ch * C + c) * KD + a) * KH + b) * KW + e;
          s += (ld8(x + <usize>xi, xSigned) - zx) * (ld8(w + <usize>wi, wSigned) - zw);
        }
        storeOne(s, out, 0, ch);
        out += eb;
      }
    }
  }
  return 0;
}
