// Integer convolution (ConvInteger, QLinearConv), per batch item and group as one exact int8
// GEMM with the output channels as rows: Y_g = W_g · col (geometry: conv_geom.ts).
//
//   col[k = (c,a,b,e), s] = X[c, od·SD−PD+a·DD, oh·SH−PH+b·DH, ow·SW−PW+e·DW]   (im2colSlabs)
//   Y[m, s] = epilogue(Σ_k (W[m,k] − w_zp[m]) · (col[k,s] − x_zp) + bias[m])
//
// Operand layouts: conv_i8_pack.ts; the 4×4 tile: gemm_i8_tile.ts. A tap outside X reads as
// x_zp, so (x_zp − x_zp) = 0 makes it contribute exactly nothing — the ONNX zero padding of the
// real-valued input. With a' = W − w_zp (packed) and q = col − off (stored):
//   Σ_k a'[m,k]·(col[k,s] − x_zp) = Σ_k a'[m,k]·q[k,s] − (x_zp − off)·sumA[m]
// so each output channel gets one constant rowc[m] = bias[m] − (x_zp − off)·sumA[m], added to
// the tile before the epilogue; every step is exact in wrapping i32, as the references compute.
// The bias is int32 with scale x_scale·w_scale[m] and zero point 0 (QLinearConv). Rows of a tile
// are output channels and its columns four consecutive positions, so the store is per channel
// with one scale (the epilogue's column index, as the host writes it, is the global channel).
// Loop order per chunk of positions: slab (16 positions, Kp·16 bytes) → 4-channel weight block
// (Kp·8 bytes) → quad, so both operands of the inner tiles stay in L1.

import { desc } from './common';
import { G_C, G_CHUNK, G_DIL, G_G, G_IN, G_K, G_M, G_N, G_OUT, G_PAD, G_S } from './conv_geom';
import { conv_w_i8_bytes, im2colSlabs, ld8, setGeometry } from './conv_i8_pack';
import { outElemBytes, setEpilogue, storeFourShared, storeOne } from './gemm_i8_epilogue';
import { dot4x4_i16i8 } from './gemm_i8_tile';

const TILE: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline function roundUp(x: i32, to: i32): i32 {
  return (x + to - 1) / to * to;
}

/** Bytes of conv_i8's scratch for K taps per output, M channels per group and `chunk` positions. */
export function conv_i8_scratch_bytes(K: i32, M: i32, chunk: i32): i32 {
  const rowStride = roundUp(chunk, 16) + 16;
  return 4 * rowStride + roundUp(chunk, 16) * roundUp(K, 4) + roundUp(M, 4) * 4;
}

/** tile row r += v (four lanes). */
// @ts-ignore: decorator
@inline function addToRow(r: i32, v: i32): void {
  const at = TILE + (<usize>r << 4);
  if (ASC_FEATURE_SIMD) {
    v128.store(at, i32x4.add(v128.load(at), i32x4.splat(v)));
    return;
  }
  for (let j = 0; j < 4; j++) store<i32>(at + (<usize>j << 2), load<i32>(at + (<usize>j << 2)) + v);
}

/**
 * y = epilogue(conv(x − x_zp, W − w_zp) + bias) — see the file header. x: u8/s8 (xSigned) NCHW;
 * xZp: its zero point (0: none); wp: pack_w_conv_i8 of every group's W_g [M, K] (K =
 * C·KD·KH·KW) back to back, conv_w_i8_bytes(M, K) each; bias: M·G i32 or 0; epi: a
 * gemm_i8_epilogue.ts descriptor indexed (0, output channel); scratch:
 * conv_i8_scratch_bytes(K, M, chunk) bytes, 16-byte aligned. Returns 0, or 1 when the chunk or
 * the descriptor is malformed.
 */
export function conv_i8(d: usize, x: usize, xSigned: i32, xZp: usize, wp: usize, bias: usize, epi: usize, y: usize, scratch: usize): i32 {
  const NB = desc(d, G_N), G = desc(d, G_G), C = desc(d, G_C), M = desc(d, G_M);
  const K = C * desc(d, G_K) * desc(d, G_K + 1) * desc(d, G_K + 2);
  const S = desc(d, G_OUT) * desc(d, G_OUT + 1) * desc(d, G_OUT + 2);
  const chunk = desc(d, G_CHUNK);
  if (chunk <= 0 || setEpilogue(epi)) return 1;
  setGeometry(d);
  const eb = <usize>outElemBytes();
  const inBytes = <usize>C * <usize>desc(d, G_IN) * <usize>desc(d, G_IN + 1) * <usize>desc(d, G_IN + 2);
  const Kp = roundUp(K, 4);
  const groups = Kp >> 2;
  const wBytes = <usize>conv_w_i8_bytes(M, K);
  const blockBytes = <usize>Kp << 3;
  const slabBytes = <usize>Kp << 4;
  const zpByte: u8 = xZp ? load<u8>(xZp) : 0;
  const zqx = (xZp ? ld8(xZp, xSigned) : 0) - (xSigned ? 0 : 128);
  const rowStride = <usize>roundUp(chunk, 16) + 16;
  const rows = scratch;
  const slabs = rows + 4 * rowStride;
  const rowc = slabs + <usize>roundUp(chunk, 16) * <usize>Kp;
  for (let n = 0; n < NB; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * G + g) * inBytes;
      const yg = y + <usize>(n * G + g) * <usize>M * <usize>S * eb;
      const wg = wp + <usize>g * wBytes;
      const sumA = wg + <usize>(roundUp(M, 4) >> 2) * blockBytes;
      for (let m = 0; m < M; m++) {
        const bm = bias ? load<i32>(bias + (<usize>(g * M + m) << 2)) : 0;
        store<i32>(rowc + (<usize>m << 2), bm - zqx * load<i32>(sumA + (<usize>m << 2)));
      }
      for (let s0 = 0; s0 < S; s0 += chunk) {
        const ns = min(chunk, S - s0);
        im2colSlabs(xg, xSigned, zpByte, rows, rowStride, slabs, s0, ns);
        for (let i = 0; (i << 4) < ns; i++) {
          const slab = slabs + <usize>i * slabBytes;
          for (let m0 = 0; m0 < M; m0 += 4) {
            const pa = wg + <usize>(m0 >> 2) * blockBytes;
            const mv = min(4, M - m0);
            for (let j = 0; j < 4; j++) {
              const p = (i << 4) + (j << 2);
              const nv = min(4, ns - p);
              if (nv <= 0) break;
              dot4x4_i16i8(pa, slab + (<usize>j << 4), groups, TILE);
              for (let r = 0; r < mv; r++) {
                const m = m0 + r;
                addToRow(r, load<i32>(rowc + (<usize>m << 2)));
                storeFourShared(TILE + (<usize>r << 4), yg + (<usize>m * <usize>S + <usize>(s0 + p)) * eb, 0, g * M + m, nv);
              }
            }
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
